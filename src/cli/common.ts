/**
 * What every CLI command that opens a model shares: the model flags, opening
 * and uploading a checkpoint, the GPU-bytes summary, printing a result, the
 * template choice and reading an adapter folder. Commands import this; none
 * imports another command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TEMPLATE_IDS, type TemplateId } from '../engine/data';
import { initGpu } from '../engine/gpu/device';
import { gpuMemory, measureResident, uploadTensors, type GpuSpan } from '../engine/gpu/memory';
import { loadModelPath } from '../engine/io/node_load';
import { importPeft } from '../engine/lora_io';
import { LlamaModel } from '../engine/model';
import { TextTokenizer } from '../engine/tokenizer';
import { UsageError } from './args';

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

/** Base models train with `plain`; a model with a chat template uses it unless told otherwise. */
export function pickTemplate(flag: string | undefined, tok: TextTokenizer): TemplateId {
  const t = flag ?? (tok.chatTemplate ? 'model' : 'plain');
  if (!TEMPLATE_IDS.includes(t as TemplateId)) throw new UsageError(`--template: "${t}" is not one of ${TEMPLATE_IDS.join(', ')}`);
  if (t === 'model' && !tok.chatTemplate) throw new UsageError('--template model: this tokenizer has no chat_template');
  return t as TemplateId;
}

/** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) onto `model`. */
export function readAdapterDir(dir: string, model: LlamaModel) {
  const cfg = path.join(dir, 'adapter_config.json');
  const st = path.join(dir, 'adapter_model.safetensors');
  for (const f of [cfg, st]) if (!fs.existsSync(f)) throw new Error(`${f}: missing (an adapter folder holds adapter_config.json and adapter_model.safetensors)`);
  return importPeft({ config: fs.readFileSync(cfg, 'utf8'), safetensors: new Uint8Array(fs.readFileSync(st)) }, model);
}
