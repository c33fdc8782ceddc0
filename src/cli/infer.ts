/** CLI commands that run a model forward: generate and score. */
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../engine/gpu/device';
import { gpuMemory, gpuSpan, measureResident, uploadTensors, type GpuSpan } from '../engine/gpu/memory';
import { loadModelPath } from '../engine/io/node_load';
import { LlamaModel } from '../engine/model';
import { TextTokenizer } from '../engine/tokenizer';
import { generate } from '../engine/generate';
import { scoreIds } from '../engine/score';
import { num, parseFlags, required, UsageError } from './args';
import { createTemplate, promptIds as promptIdsOf } from '../engine/data';
import { pickTemplate, readAdapterDir } from './train';

export const MODEL_FLAGS = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  json: { type: 'boolean' },
  // f32 checkpoints: keep the matrices as bf16 on the GPU (half the memory; rounds every weight)
  'store-bf16': { type: 'boolean' },
} as const;

export async function openModel(modelPath: string, tokenizerPath?: string, opts: { storeBf16?: boolean } = {}) {
  const info = await initGpu();
  const t0 = performance.now();
  const loaded = await loadModelPath(modelPath, tokenizerPath);
  // tfjs uploads a tensor at its first use: upload now so the weights' bytes are measured here
  const { value: model, bytes: weightBytes } = measureResident(() => {
    const m = LlamaModel.fromLoaded(loaded, { storeBf16: opts.storeBf16 });
    uploadTensors(m);
    return m;
  });
  const tokenizer = new TextTokenizer(loaded.tokenizer);
  tokenizer.eosIds = [...new Set([...tokenizer.eosIds, ...model.config.eosTokenIds])];
  console.error(
    `loaded ${loaded.source.name} (${(model.numParams() / 1e6).toFixed(2)}M params) in ${(performance.now() - t0).toFixed(0)} ms on ${info.vendor} ${info.architecture}`,
  );
  return { loaded, model, tokenizer, weightBytes };
}

/** The `gpu_bytes` of a command's JSON: device-accounted bytes (src/engine/gpu/memory.ts). */
export interface GpuBytes {
  /** resident after the model's upload minus before it: the frozen weights */
  weights: number;
  /** resident for the LoRA adapter and its optimizer state (0 without an adapter) */
  adapter: number;
  /** highest live bytes above what was resident when the work began (weights + adapter): activations, temporaries, tfjs's pool */
  peak: number;
  /** highest live bytes of the whole device in this process */
  device_peak: number;
}

/** Ends `work` (a span opened when the command's work began), prints a summary on stderr and returns the figures. */
export function gpuBytes(weights: number, adapter: number, work: GpuSpan): GpuBytes {
  const g: GpuBytes = { weights, adapter, peak: work.peakAbove(), device_peak: gpuMemory().devicePeak };
  work.end();
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
  console.error(`GPU memory: weights ${mib(g.weights)} · adapter ${mib(g.adapter)} · peak ${mib(g.peak)} above them · device peak ${mib(g.device_peak)}`);
  return g;
}

export function printResult(json: boolean | undefined, obj: Record<string, unknown>, human: string): void {
  if (json) console.log(JSON.stringify(obj));
  else console.log(human);
}

export async function generateCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    ...MODEL_FLAGS,
    prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    adapter: { type: 'string' },
    instruction: { type: 'string' },
    template: { type: 'string' },
  });
  const { model, tokenizer, weightBytes } = await openModel(required(f.model, 'model'), f.tokenizer, { storeBf16: f['store-bf16'] });
  let template: string | null = f.template ?? null;
  let adapterBytes = 0;
  if (f.adapter) {
    const imp = readAdapterDir(f.adapter, model);
    adapterBytes = measureResident(() => uploadTensors(imp.adapter)).bytes;
    model.adapter = imp.adapter;
    template ??= imp.template;
    console.error(`adapter ${f.adapter}: r=${imp.adapter.config.rank}, template ${imp.template ?? 'unknown'}`);
  }
  if (f.prompt !== undefined && f.instruction !== undefined) throw new UsageError('give --prompt or --instruction, not both');
  let prompt: string;
  let promptIds: number[];
  if (f.instruction !== undefined) {
    // the prompt exactly as the adapter saw it in training
    const tpl = createTemplate(pickTemplate(template ?? undefined, tokenizer), tokenizer);
    prompt = tpl.generationPrompt({ instruction: f.instruction });
    promptIds = promptIdsOf(tokenizer, prompt);
  } else {
    prompt = required(f.prompt, 'prompt');
    promptIds = tokenizer.encodePrompt(prompt);
  }
  const work = gpuSpan();
  const res = await generate(model, promptIds, {
    maxNewTokens: num(f['max-new-tokens'], 'max-new-tokens', 128, (n) => Number.isInteger(n) && n >= 0),
    temperature: num(f.temperature, 'temperature', 0, (n) => n >= 0),
    topK: num(f['top-k'], 'top-k', 0, (n) => Number.isInteger(n) && n >= 0),
    topP: num(f['top-p'], 'top-p', 1, (n) => n > 0 && n <= 1),
    repetitionPenalty: num(f['repetition-penalty'], 'repetition-penalty', 1, (n) => n > 0),
    seed: num(f.seed, 'seed', 0, Number.isInteger),
    stopIds: tokenizer.eosIds,
  });
  const text = tokenizer.decode(res.ids);
  const tps = res.ids.length > 1 ? ((res.ids.length - 1) / res.decodeMs) * 1000 : 0;
  console.error(`${res.ids.length} tokens (${res.stopReason}); prefill ${res.prefillMs.toFixed(0)} ms, decode ${tps.toFixed(1)} tok/s`);
  const gpu_bytes = gpuBytes(weightBytes, adapterBytes, work);
  printResult(f.json, { prompt_ids: promptIds, ids: res.ids, text, stop_reason: res.stopReason, gpu_bytes }, prompt + text);
  tf.disposeVariables();
}

export async function scoreCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { ...MODEL_FLAGS, text: { type: 'string' } });
  const { model, tokenizer, weightBytes } = await openModel(required(f.model, 'model'), f.tokenizer, { storeBf16: f['store-bf16'] });
  const ids = tokenizer.encodePrompt(required(f.text, 'text'));
  const work = gpuSpan();
  const losses = await scoreIds(model, ids);
  const mean = losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : NaN;
  const gpu_bytes = gpuBytes(weightBytes, 0, work);
  printResult(f.json, { ids, losses, mean, gpu_bytes }, `${ids.length} tokens, mean NLL ${mean.toFixed(4)} (perplexity ${Math.exp(mean).toFixed(2)})`);
}
