/**
 * The training run in the worker: start, pause, resume, stop; one optimizer
 * step at a time so control messages are handled between steps. Every run is
 * kept in IndexedDB (db.ts): its record from the start, its checkpoint every
 * `checkpointEvery` steps and on pause/stop, so a reload (or a lost GPU) can
 * restore it and Compare can load its adapter. Starting a run makes a new one
 * (the previous stays saved); one run trains at a time.
 */
import { uploadTensors } from '../engine/gpu/memory';
import type { TemplateId, TokenizedSample } from '../engine/data';
import { isQuotaError, nextRunId, readRun, readRunData, saveRun } from './db';
import { LoraAdapter } from '../engine/lora';
import { Trainer, type TrainCheckpoint, type TrainConfig } from '../engine/train/trainer';
import type { DatasetReport, EvalPoint, Event, HeldOutPrompt, ResolvedTrainSettings, RunRecord, StepPoint, TrainSettings, TrainState } from './protocol';
import { generateText, gpuMemoryReport, measureAdapter, requireDataset, requireSession, session } from './session';
import { restoredSubset } from './subset';
import { heldOutPrompt, promptText } from './prompts';

type Post = (e: Event) => void;

interface Run {
  /** its key in IndexedDB and the page's name for it until renamed ("Run 1") */
  id: number;
  record: RunRecord;
  trainer: Trainer;
  settings: TrainSettings;
  state: TrainState;
  steps: StepPoint[];
  evals: EvalPoint[];
  lastStep: number;
  totalSteps: number;
}

let run: Run | null = null;
let post: Post = () => {};
let lost: string | null = null;

export function setPoster(p: Post): void {
  post = p;
}

export function isTraining(): boolean {
  return run?.state === 'running' || run?.state === 'pausing';
}

/** The run this worker trains (or last trained), for Compare: its adapter is on the GPU already. */
export function activeRun(): { id: number; adapter: Trainer['adapter'] } | null {
  return run ? { id: run.id, adapter: run.trainer.adapter } : null;
}

/** The adapter on the model: the run's, or an imported one. */
export function currentAdapter() {
  return requireSession().model.adapter;
}

/** Called when the GPU device is lost: the loop stops at its next step. */
export function deviceLost(message: string): void {
  lost = message;
  if (run && isTraining()) run.state = 'error';
  postState(`The GPU device was lost (${message}). Your run is saved up to its last checkpoint: press Resume to go on.`);
}

function postState(message?: string): void {
  post({
    type: 'train-state',
    id: 0,
    state: run?.state ?? 'idle',
    ...(message ? { message } : {}),
    step: run?.lastStep ?? 0,
    totalSteps: run?.totalSteps ?? 0,
    adapterParams: run?.trainer.adapter.numParams() ?? 0,
    runId: run?.id ?? null,
  });
  if (session) post({ type: 'gpu-memory', id: 0, memory: gpuMemoryReport() });
}

/** The engine's config: the page's own settings dropped, its Save memory choice already resolved into gradientCheckpointing. */
function trainConfig(s: ResolvedTrainSettings, maxLength: number): TrainConfig {
  const { sampleEvery: _a, checkpointEvery: _b, saveMemory: _c, ...config } = s;
  return { ...config, targets: config.targets as TrainConfig['targets'], maxLength };
}

export async function startTraining(settings: ResolvedTrainSettings): Promise<void> {
  if (isTraining()) throw new Error('A run is already going: pause or stop it first.');
  if (lost) throw new Error('The GPU device was lost: reload the page to get a new one.');
  const s = requireSession();
  const d = requireDataset();
  const rows = d.subset?.samples ?? d.train; // a curated subset trains on its rows only (worker/curate.ts)
  if (rows.length === 0) throw new Error(d.subset ? 'The curated subset is empty: choose other rows or use all rows.' : 'The training split is empty.');
  disposeRun();
  disposeImported();
  const trainer = measureAdapter(() => uploaded(new Trainer(s.model, rows, d.validation, trainConfig(settings, d.maxLength))));
  const id = await nextRunId();
  const now = Date.now();
  const record: RunRecord = {
    id,
    name: `Run ${id}`,
    modelId: s.cacheId,
    modelName: s.name,
    datasetName: d.name,
    dataset: { format: d.report.format, train: rows.length, validation: d.validation.length, mixed: d.subset?.info.mixed ?? d.report.mixed, template: d.template, ...(d.subset ? { subset: d.subset.info.description, ...(d.subset.info.kind ? { subsetKind: d.subset.info.kind } : {}) } : {}) },
    settings,
    state: 'running',
    step: 0,
    totalSteps: trainer.totalSteps,
    steps: [],
    evals: [],
    saved: false,
    createdAt: now,
    savedAt: now,
  };
  run = { id, record: await saveRun(record), trainer, settings, state: 'running', steps: [], evals: [], lastStep: 0, totalSteps: trainer.totalSteps };
  post({ type: 'runs-changed', id: 0 });
  post({ type: 'train-history', id: 0, steps: [], evals: [] });
  void loop(run);
}

export async function restoreTraining(runId: number): Promise<{ settings: TrainSettings; report: DatasetReport; template: TemplateId }> {
  if (isTraining()) throw new Error('A run is already going.');
  const s = requireSession();
  const [record, data] = await Promise.all([readRun(runId), readRunData(runId)]);
  if (!record || !data) throw new Error(`Run ${runId} has no saved checkpoint in this browser.`);
  if (record.modelId !== s.cacheId) throw new Error(`${record.name} was trained on ${record.modelName}: load that model first.`);
  disposeRun();
  disposeImported();
  const train = data.train as TokenizedSample[];
  const validation = data.validation as TokenizedSample[];
  const settings = data.settings as TrainSettings; // a run saved before Save memory existed has no saveMemory: the page reads it as auto
  const trainer = measureAdapter(() => uploaded(Trainer.restore(s.model, train, validation, data.checkpoint as TrainCheckpoint)));
  const steps = data.steps as StepPoint[];
  run = { id: runId, record, trainer, settings, state: 'paused', steps, evals: data.evals as EvalPoint[], lastStep: steps.at(-1)?.step ?? 0, totalSteps: steps.at(-1)?.totalSteps ?? trainer.totalSteps };
  s.dataset = { name: data.datasetName, template: data.template as TemplateId, maxLength: settings.maxLength, train, validation, heldOutPrompts: data.heldOutPrompts.map(heldOutPrompt), report: savedReport(data.report) };
  restoredSubset(s.dataset, record); // the saved rows are the subset it trained on: say so
  post({ type: 'train-history', id: 0, steps: run.steps, evals: run.evals });
  postState(trainer.done ? undefined : `Restored ${record.name} at step ${run.lastStep}.`);
  if (trainer.done) (run.state = 'done'), postState();
  return { settings, report: s.dataset.report, template: data.template as TemplateId };
}

/** A saved run's dataset report; runs saved before HeldOutPrompt kept its held-out prompts as strings. */
function savedReport(report: unknown): DatasetReport {
  const r = report as DatasetReport & { heldOutPrompts: (string | HeldOutPrompt)[] };
  return { ...r, heldOutPrompts: (r.heldOutPrompts ?? []).map(heldOutPrompt) };
}

/** The trainer with its adapter and optimizer state on the GPU now (tfjs would upload them at the first step). */
function uploaded(t: Trainer): Trainer {
  uploadTensors(t.adapter, t.optimizer);
  return t;
}

/** Frees an imported adapter a new run is about to replace on the model (the Trainer sets its own without freeing the old). */
function disposeImported(): void {
  const s = requireSession();
  if (s.model.adapter instanceof LoraAdapter) s.model.adapter.dispose();
  s.model.adapter = null;
}

/** Frees the previous run's adapter and optimizer state (the model keeps an imported adapter until a run replaces it). */
export function disposeRun(): void {
  if (!run) return;
  const s = session;
  if (s && s.model.adapter === run.trainer.adapter) {
    s.model.adapter = null;
    s.gpu.adapter = 0;
  }
  run.trainer.dispose();
  run.trainer.adapter.dispose();
  run = null;
}

export function pauseTraining(): void {
  if (!run || run.state !== 'running') throw new Error('Nothing is training.');
  run.state = 'pausing';
  postState();
}

export function resumeTraining(): void {
  if (!run) throw new Error('There is no run to resume.');
  if (lost) throw new Error('The GPU device was lost: reload the page to get a new one.');
  if (run.state === 'pausing') {
    run.state = 'running';
    postState();
    return;
  }
  if (run.state !== 'paused' && run.state !== 'stopped' && run.state !== 'error') throw new Error(`Cannot resume a run that is ${run.state}.`);
  if (run.trainer.done) throw new Error('This run has finished all its steps.');
  run.state = 'running';
  void loop(run);
}

export function stopTraining(): void {
  if (!run) throw new Error('There is no run.');
  if (run.state === 'running' || run.state === 'pausing') run.state = 'stopped';
  else if (run.state === 'paused') {
    run.state = 'stopped';
    postState();
  }
}

async function save(r: Run): Promise<void> {
  const d = requireDataset();
  const checkpoint = await r.trainer.checkpoint();
  const record: RunRecord = { ...r.record, state: r.state, step: r.lastStep, totalSteps: r.totalSteps, steps: r.steps, evals: r.evals, saved: true, savedAt: Date.now() };
  r.record = await saveRun(record, {
    settings: r.settings,
    train: r.trainer.train, // the rows this run trains on (a curated subset's when it has one)
    validation: d.validation,
    heldOutPrompts: d.heldOutPrompts,
    checkpoint,
    steps: r.steps,
    evals: r.evals,
    datasetName: d.name,
    template: d.template,
    report: d.report,
  });
  post({ type: 'runs-changed', id: 0 });
}

async function sampleFixedPrompts(step: number): Promise<void> {
  const prompts = requireDataset().heldOutPrompts.slice(0, 2);
  const samples: { prompt: string; text: string }[] = [];
  for (const prompt of prompts) {
    const g = await generateText(prompt, false, true, { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 48, seed: 0 }, () => {});
    samples.push({ prompt: promptText(prompt), text: g.text });
  }
  if (samples.length) post({ type: 'train-samples', id: 0, step, samples });
}

async function evaluateNow(r: Run): Promise<void> {
  if (requireDataset().validation.length === 0) return;
  const e = await r.trainer.evaluate();
  const point = { step: r.lastStep, loss: e.loss, perplexity: e.perplexity };
  r.evals.push(point);
  post({ type: 'train-eval', id: 0, point });
}

async function loop(r: Run): Promise<void> {
  // Compare swaps adapters on the model and puts this one back, but training must ride on its own
  const model = requireSession().model;
  model.adapter = r.trainer.adapter;
  model.adapterEnabled = true;
  postState();
  try {
    if (r.steps.length === 0 && r.settings.evalEvery > 0) await evaluateNow(r); // the base model's validation loss, at step 0
    while (r.state === 'running' && !r.trainer.done && session) {
      const rep = await r.trainer.step();
      const point: StepPoint = { ...rep };
      r.steps.push(point);
      r.lastStep = rep.step;
      r.totalSteps = rep.totalSteps;
      post({ type: 'train-step', id: 0, point });
      post({ type: 'gpu-memory', id: 0, memory: gpuMemoryReport() });
      const every = (n: number) => n > 0 && rep.step % n === 0;
      if (every(r.settings.evalEvery) || r.trainer.done) await evaluateNow(r);
      if (every(r.settings.sampleEvery)) await sampleFixedPrompts(rep.step);
      if (every(r.settings.checkpointEvery)) await save(r);
    }
    if (lost) return;
    if (r.trainer.done) r.state = 'done';
    else if (r.state === 'pausing') r.state = 'paused';
    await save(r);
    postState(r.state === 'done' ? `Finished ${r.lastStep} steps.` : undefined);
  } catch (e) {
    r.state = 'error';
    const message = (e as Error).message;
    if (!lost && /device (was |is )?lost/i.test(message)) {
      // the device's `lost` promise can resolve after the failed call that noticed it: tell the page now
      lost = message;
      post({ type: 'device-lost', id: 0, message });
    }
    const msg = lost ? `The GPU device was lost (${lost}).` : message;
    // a refused checkpoint write aborts its transaction whole: the run's last checkpoint is still there
    if (!lost && isQuotaError(e)) postState(`Training stopped: the browser refused to store the checkpoint (storage quota exceeded). ${r.record.name} is saved up to step ${r.record.step}; delete old runs or cached models, then press Resume to go on from there.`);
    else postState(`Training stopped: ${msg} The run is saved up to its last checkpoint; press Resume to go on from there.`);
  }
}
