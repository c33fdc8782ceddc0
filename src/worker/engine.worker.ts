/// <reference lib="webworker" />
/**
 * The engine worker: owns WebGPU, the model and training. Speaks protocol.ts.
 * Each request ends with exactly one reply carrying its id: a result event,
 * `done`, or `error`.
 */
import { NoWebGPUError, getDevice, initGpu } from '../engine/gpu/device';
import { uploadTensors } from '../engine/gpu/memory';
import { parseMultipleChoice } from '../engine/eval/mc_formats';
import { scoreMultipleChoice } from '../engine/eval/multiple_choice';
import { exportPeft, importPeft } from '../engine/lora_io';
import type { EvalPoint, Event, Request } from './protocol';
import { forgetAllRunAdapters, forgetRunAdapter, withAdapter } from './adapters';
import { generateSides } from './generate_pair';
import { forgetShiftHistory, rememberPair, shiftOfLastPair } from './token_shift';
import { deleteRun } from './db';
import { buildRecipe } from './recipe';
import { loadJudge, runJudge, stopJudge } from './judge';
import { exportSubset, isCurating, runCuration, setSubset, stopCuration } from './curate';
import { runScoring, setScoreSubset, stopScoring } from './quality';
import { claimModel } from './model_use';
import { forgetInContext, generateUse, heldOutLossInContext, setInContext } from './incontext';
import { gpuMemoryReport, heldOutLoss, loadDataset, loadModel, measureAdapter, peekGguf, requireDataset, requireSession, sampleTokens, session, stopGeneration } from './session';
import type { LoraAdapter } from '../engine/lora';
import { activeRun, currentAdapter, deviceLost, disposeRun, isTraining, pauseTraining, restoreTraining, resumeTraining, setPoster, startTraining, stopTraining } from './training';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (e: Event, transfer: Transferable[] = []) => scope.postMessage(e, transfer);
setPoster(post);

let watching = false;
async function gpu() {
  const info = await initGpu();
  if (!watching) {
    watching = true;
    getDevice().lost.then((l) => {
      const message = l.message || l.reason || 'unknown reason';
      post({ type: 'device-lost', id: 0, message });
      deviceLost(message);
    });
  }
  return info;
}

function notWhileTraining(what: string): void {
  if (isTraining()) throw new Error(`Pause or stop training before you ${what}.`);
  // curation switches the adapter off on the shared model while it embeds: nothing else may use the model meanwhile
  if (isCurating()) throw new Error(`Wait for the curation to finish (or stop it) before you ${what}.`);
}

async function handle(req: Request): Promise<void> {
  const id = req.id;
  switch (req.type) {
    case 'probe':
      post({ type: 'gpu', id, info: await gpu() });
      return;
    case 'load-model': {
      notWhileTraining('load another model');
      await gpu();
      const had = session !== null;
      const beforeSwap = () => {
        disposeRun();
        forgetAllRunAdapters();
        forgetShiftHistory();
        forgetInContext();
      };
      try {
        post({ type: 'model', id, model: await loadModel(req.files, req.cacheId, { beforeSwap, frozenBits: req.frozenBits, progress: (label, done, total) => post({ type: 'progress', id, label, done, total }) }) });
      } catch (e) {
        // the host read failed before anything was freed (the old model stays), or the upload failed after: then say that none is loaded
        if (had && !session) post({ type: 'model-unloaded', id: 0, message: (e as Error).message });
        throw e;
      }
      return;
    }
    case 'gguf-peek':
      post({ type: 'gguf-peek', id, peek: await peekGguf(req.file, req.name) });
      return;
    case 'load-dataset': {
      notWhileTraining('load another dataset');
      forgetInContext();
      const report = await loadDataset(req.name, req.bytes, req.options, (label, done, total) => post({ type: 'progress', id, label, done, total }));
      post({ type: 'dataset', id, report });
      return;
    }
    case 'sample-tokens':
      post({ type: 'tokens', id, ...sampleTokens(req.index, req.split) });
      return;
    case 'train-start':
      if (isCurating()) throw new Error('Wait for the curation to finish (or stop it) before you train.');
      rememberPair(null); // the adapter that wrote the last comparison's answer is about to change
      await startTraining(req.settings);
      break;
    case 'train-pause':
      pauseTraining();
      break;
    case 'train-resume':
      resumeTraining();
      break;
    case 'train-stop':
      stopTraining();
      break;
    case 'train-restore':
      forgetRunAdapter(req.runId); // Compare may hold a copy of this run's adapter, which training is about to change
      post({ type: 'restored', id, ...(await restoreTraining(req.runId)) });
      return;
    case 'run-delete': {
      const active = activeRun();
      if (active?.id === req.runId) {
        notWhileTraining('delete this run');
        disposeRun();
      }
      forgetRunAdapter(req.runId);
      await deleteRun(req.runId);
      post({ type: 'runs-changed', id: 0 });
      break;
    }
    case 'generate': {
      notWhileTraining('generate');
      const progress = (label: string) => post({ type: 'progress', id, label, done: 0, total: 1 });
      const r = await generateUse(req.use, req.prompt, req.raw, req.settings, (text) => post({ type: 'token', id, text }), progress);
      post({ type: 'generated', id, ...r });
      return;
    }
    case 'generate-pair': {
      notWhileTraining('generate');
      const progress = (label: string) => post({ type: 'progress', id, label, done: 0, total: 1 });
      post({ type: 'generated-pair', id, sides: await generateSides(req, (side, text) => post({ type: 'token', id, text, side }), (side, result) => post({ type: 'generated-side', id, side, result }), progress) });
      return;
    }
    case 'generate-stop':
      stopGeneration();
      break;
    case 'mc-eval': {
      notWhileTraining('score a benchmark');
      const s = requireSession();
      const parsed = await parseMultipleChoice(req.bytes);
      if (parsed.items.length === 0) throw new Error(`${req.name}: no usable multiple-choice rows (${parsed.errors[0] ? `line ${parsed.errors[0].line}: ${parsed.errors[0].reason}` : 'empty'}).`);
      const total = parsed.items.length * req.uses.length;
      const scores = [];
      for (const [i, use] of req.uses.entries()) {
        const r = await withAdapter(use, () =>
          scoreMultipleChoice(s.model, s.tokenizer, parsed.items, {
            ...(req.template && s.dataset ? { template: s.dataset.template } : {}),
            onProgress: (done) => post({ type: 'progress', id, label: 'Scoring multiple-choice items', done: i * parsed.items.length + done, total }),
          }),
        );
        scores.push({ set: req.name, n: r.n, acc: r.acc, accNorm: r.acc_norm });
      }
      post({ type: 'mc', id, scores, skipped: parsed.errors.length });
      return;
    }
    case 'heldout-eval': {
      notWhileTraining('evaluate');
      const points: (EvalPoint & { rows: number; examples?: number })[] = [];
      for (const [i, use] of req.uses.entries()) {
        post({ type: 'progress', id, label: 'Scoring held-out rows', done: i, total: req.uses.length });
        points.push(use === 'incontext' ? await heldOutLossInContext(req.limit) : await withAdapter(use, (on) => heldOutLoss(on, req.limit)));
      }
      post({ type: 'heldout', id, points: points.map(({ step, loss, perplexity }) => ({ step, loss, perplexity })), rows: points[0]?.rows ?? 0, examples: points.map((p) => p.examples ?? null) });
      return;
    }
    case 'export-adapter': {
      const adapter = currentAdapter();
      if (!adapter) throw new Error('There is no adapter yet: train one or import one.');
      const s = requireSession();
      const files = await exportPeft(adapter as LoraAdapter, { baseModel: s.name, template: s.dataset?.template ?? 'plain' });
      const config = files['adapter_config.json'];
      const safetensors = files['adapter_model.safetensors'];
      post({ type: 'adapter-files', id, config, safetensors }, [safetensors.buffer as ArrayBuffer]);
      return;
    }
    case 'import-adapter': {
      notWhileTraining('import an adapter');
      const s = requireSession();
      const { adapter } = importPeft({ config: req.config, safetensors: req.safetensors }, s.model);
      disposeRun();
      const old = s.model.adapter as LoraAdapter | null;
      if (old && old !== adapter) old.dispose();
      measureAdapter(() => uploadTensors(adapter));
      s.model.adapter = adapter;
      s.model.adapterEnabled = true;
      post({ type: 'adapter-imported', id, rank: adapter.config.rank, params: adapter.numParams() });
      return;
    }
    case 'export-recipe': {
      const s = requireSession();
      const d = requireDataset();
      post({ type: 'recipe', id, files: buildRecipe(s.name, s.tokenizer, d.subset ? { ...d, train: d.subset.samples } : d, req.settings) });
      return;
    }
    case 'judge-load': {
      notWhileTraining('load a judge');
      await gpu();
      post({ type: 'progress', id, label: "Uploading the judge's weights to the GPU", done: 0, total: 1 });
      post({ type: 'judge-model', id, judge: await loadJudge(req.files, req.frozenBits) });
      return;
    }
    case 'judge-run': {
      notWhileTraining('judge');
      const report = await runJudge(req.prompts, req.a, req.b, req.settings, (label, done, total) => post({ type: 'progress', id, label, done, total }));
      post({ type: 'judged', id, report });
      return;
    }
    case 'token-shift': {
      notWhileTraining('analyse an answer');
      const progress = (label: string) => post({ type: 'progress', id, label, done: 0, total: 1 });
      post({ type: 'token-shift-result', id, ...(await shiftOfLastPair(req, progress)) });
      return;
    }
    case 'judge-stop':
      stopJudge();
      break;
    case 'curate-run': {
      notWhileTraining('curate the dataset');
      post({ type: 'curated', id, view: await runCuration(req.options, (label, done, total) => post({ type: 'progress', id, label, done, total })) });
      return;
    }
    case 'curate-stop':
      stopCuration();
      break;
    case 'curate-subset':
      notWhileTraining('change the training rows');
      post({ type: 'subset', id, subset: setSubset(req.choice) });
      return;
    case 'curate-export':
      post({ type: 'subset-jsonl', id, ...exportSubset(req.choice) });
      return;
    case 'quality-run': {
      notWhileTraining('score the rows');
      post({ type: 'quality', id, view: await runScoring((label, done, total) => post({ type: 'progress', id, label, done, total })) });
      return;
    }
    case 'quality-stop':
      stopScoring();
      break;
    case 'quality-subset':
      notWhileTraining('change the training rows');
      post({ type: 'subset', id, subset: setScoreSubset(req.minScore) });
      return;
    case 'incontext-set': {
      notWhileTraining('set the in-context baseline');
      post({ type: 'incontext', id, summary: await setInContext(req, (label, done, total) => post({ type: 'progress', id, label, done, total })) });
      return;
    }
  }
  post({ type: 'done', id });
}

scope.onmessage = async (msg: MessageEvent<Request>) => {
  const req = msg.data;
  try {
    const release = claimModel(req);
    try {
      await handle(req);
    } finally {
      release();
    }
  } catch (e) {
    post({ type: 'error', id: req.id, message: (e as Error).message, kind: e instanceof NoWebGPUError ? 'no-webgpu' : 'error' });
  }
  if (session) post({ type: 'gpu-memory', id: 0, memory: gpuMemoryReport() });
};
