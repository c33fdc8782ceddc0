/**
 * Host-side weights: f32 arrays in Hugging Face naming and layout
 * (`model.layers.0.self_attn.q_proj.weight` is [out, in], row-major; q/k rows
 * in rotate-half RoPE order). Every loader produces this; the model uploads it.
 */
import type { ModelConfig } from '../config';
import type { TokenizerFiles } from '../tokenizer';
import type { GgmlTypeName } from './ggml_quants';

export interface HostTensor {
  shape: number[];
  /** the values as f32 (for 16-bit tensors made on first read) */
  data: Float32Array;
  /** the file's own 16-bit bits, when it stored the tensor as BF16 or F16: the GPU keeps these (frozen.ts) */
  half?: { format: 'bf16' | 'f16'; bits: Uint16Array };
  /** a GGUF tensor's own ggml blocks (rows in HF order), from which data and half are made (gguf_model.ts) */
  gguf?: { type: GgmlTypeName; blocks: Uint8Array };
}

export type WeightMap = Map<string, HostTensor>;

/** Everything a model needs, independent of where the bytes came from. */
export interface LoadedModel {
  config: ModelConfig;
  weights: WeightMap;
  tokenizer: TokenizerFiles;
  /** where it came from, for messages and adapter metadata */
  source: { format: 'hf' | 'llama2c' | 'gguf'; name: string };
}

/** A read-only view of a folder: the same loader runs on Node files, browser File objects or IndexedDB. */
export interface FileSource {
  /** a name for messages (a path or a Hub repo id) */
  name: string;
  /** bytes of a file in the folder, or null when it does not exist */
  read(file: string): Promise<Uint8Array | null>;
}

/** Thrown for a file that is missing, corrupt or inconsistent; always names the file. */
export class LoadError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'LoadError';
  }
}
