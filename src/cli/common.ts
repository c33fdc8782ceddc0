/**
 * What every CLI command that opens a model shares: the model flags, opening
 * and uploading a checkpoint (at the frozen bits asked), what its frozen
 * matrices are held as, the GPU-bytes summary, printing a result, the
 * template choice and reading an adapter folder. Commands import this; none
 * imports another command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TEMPLATE_IDS, type TemplateId } from '../engine/data';
import { isPacked, type Frozen, type FrozenBits, type FrozenFormat } from '../engine/frozen';
import { initGpu } from '../engine/gpu/device';
import { gpuMemory, measureResident, uploadTensors, type GpuSpan } from '../engine/gpu/memory';
import { loadModelPath } from '../engine/io/node_load';
import { importPeft } from '../engine/lora_io';
import { bytesPerMatrixWeight } from '../engine/memory_model';
import { LlamaModel, type UploadOptions } from '../engine/model';
import { TextTokenizer } from '../engine/tokenizer';
import { num, UsageError } from './args';

export const MODEL_FLAGS = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  json: { type: 'boolean' },
  // f32 checkpoints: keep the matrices as bf16 on the GPU (half the memory; rounds every weight)
  'store-bf16': { type: 'boolean' },
  // the frozen matrices on the GPU: 16 (bf16 halves), 8 (Q8_0 blocks), 4 (Q4_0 blocks; QLoRA-style); a GGUF's
  // own Q8_0/Q4_0/Q4_1/Q4_K blocks stay as they are at 8 and 4. Default: as the file stores them
  'frozen-bits': { type: 'string' },
} as const;

/** The upload options of --store-bf16 and --frozen-bits (--frozen-bits 16 is --store-bf16 for an F32 checkpoint). */
export function uploadOptions(f: { 'store-bf16'?: boolean; 'frozen-bits'?: string }): UploadOptions {
  if (f['frozen-bits'] === undefined) return { storeBf16: f['store-bf16'] };
  const frozenBits = num(f['frozen-bits'], 'frozen-bits', 16, (n) => n === 16 || n === 8 || n === 4) as FrozenBits;
  if (f['store-bf16'] && frozenBits !== 16) throw new UsageError(`--store-bf16 holds the matrices at 16 bits, --frozen-bits ${frozenBits} at ${frozenBits}: give one`);
  return { storeBf16: f['store-bf16'], frozenBits };
}

type HeldFormat = FrozenFormat | 'f32';
const FORMAT_BITS: Record<HeldFormat, 4 | 8 | 16 | 32> = { f32: 32, bf16: 16, f16: 16, Q8_0: 8, Q4_0: 4, Q4_1: 4, Q4_K: 4 };

/** The `frozen` of a command's JSON: what the frozen matrices are held as on the GPU. */
export interface FrozenSummary {
  /** the fewest bits a frozen matrix is held at: 4 (Q4_0, Q4_1, Q4_K blocks), 8 (Q8_0), 16 (bf16/f16 halves), 32 (f32) */
  bits: 4 | 8 | 16 | 32;
  /** frozen matrices per format, as the model holds them (q|k|v and gate|up stacked: four a layer, the embedding, lm_head when untied) */
  formats: Partial<Record<HeldFormat, number>>;
  /** mean bytes per matrix weight (memory_model.ts bytesPerMatrixWeight) */
  bytes_per_weight: number;
  /** what --frozen-bits asked (null: as the file stores them) */
  asked: FrozenBits | null;
}

export function frozenSummary(model: LlamaModel, asked: FrozenBits | undefined): FrozenSummary {
  const p = model.params;
  const matrices = new Set<Frozen>([p.embed, p.lmHead, ...p.layers.flatMap((l) => [l.qkv, l.o, l.gateUp, l.down])]);
  const formats: Partial<Record<HeldFormat, number>> = {};
  let bits: FrozenSummary['bits'] = 32;
  for (const w of matrices) {
    const f: HeldFormat = isPacked(w) ? w.format : 'f32';
    formats[f] = (formats[f] ?? 0) + 1;
    bits = Math.min(bits, FORMAT_BITS[f]) as FrozenSummary['bits'];
  }
  return { bits, formats, bytes_per_weight: bytesPerMatrixWeight(model.config, model.weightBytes()), asked: asked ?? null };
}

/** 'Q4_1 ×120 + Q8_0 ×1 (4 bits, 0.66 bytes a weight)' */
export const frozenText = (s: FrozenSummary) =>
  `${Object.entries(s.formats)
    .map(([f, n]) => `${f} ×${n}`)
    .join(' + ')} (${s.bits} bits, ${s.bytes_per_weight.toFixed(3)} bytes a weight)`;

export async function openModel(modelPath: string, tokenizerPath?: string, opts: UploadOptions = {}) {
  const info = await initGpu();
  const t0 = performance.now();
  const loaded = await loadModelPath(modelPath, tokenizerPath);
  // tfjs uploads a tensor at its first use: upload now so the weights' bytes are measured here
  const { value: model, bytes: weightBytes } = measureResident(() => {
    const m = LlamaModel.fromLoaded(loaded, opts);
    uploadTensors(m);
    return m;
  });
  const tokenizer = new TextTokenizer(loaded.tokenizer);
  tokenizer.eosIds = [...new Set([...tokenizer.eosIds, ...model.config.eosTokenIds])];
  const frozen = frozenSummary(model, opts.frozenBits);
  console.error(
    `loaded ${loaded.source.name} (${(model.numParams() / 1e6).toFixed(2)}M params) in ${(performance.now() - t0).toFixed(0)} ms on ${info.vendor} ${info.architecture}; frozen matrices ${frozenText(frozen)}`,
  );
  return { loaded, model, tokenizer, weightBytes, frozen };
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
