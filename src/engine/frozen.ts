/**
 * Frozen weight matrices on the GPU, kept at the precision the checkpoint
 * ships: f32, or 16-bit halves (bf16 or f16) packed two per 32-bit word.
 *
 * The Hub ships SmolLM2 and Qwen2.5 in BF16; uploading them as f32 doubled
 * their GPU memory. A PackedWeight holds the file's own bits (word j = half
 * 2j in the low 16 bits, half 2j+1 in the high 16, the little-endian order of
 * the raw u16 array), and our kernels unpack in registers (halves.wgsl.ts):
 * bf16 → f32 is a 16-bit shift, f16 → f32 is WGSL's core unpack2x16float, so
 * no `shader-f16` is needed (SwiftShader has none). Both are exact: results
 * equal the f32 path on the same values. LoRA weights, optimizer state and
 * activations stay f32.
 *
 * A matrix larger than the device's maxStorageBufferBindingSize (Qwen2.5's
 * 151,936 × 896 embedding is 272 MB in bf16; browsers give 128 MiB unless a
 * page asks for more) is split into row blocks that each fit one binding.
 */
import * as tf from '@tensorflow/tfjs';
import { getGpuInfo } from './gpu/device';
import type { HostTensor } from './io/weights';
import { unpackHalves } from '../../kernels/unpack_halves';
import { dequantizeBlocks } from '../../kernels/dequantize_blocks';
import { quantizeRows } from './io/quantize';

export type { HalfFormat } from '../../kernels/halves.wgsl';
import type { HalfFormat } from '../../kernels/halves.wgsl';

export { blocksPerRow, formatBytes, isPacked, isQuant, QUANT_BLOCK, type Frozen, type FrozenFormat, type PackedBlock, type PackedWeight, type QuantFormat } from '../../kernels/packed_weight';
import { blocksPerRow, isPacked, isQuant, QUANT_BLOCK, type Frozen, type FrozenFormat, type PackedBlock, type PackedWeight, type QuantFormat } from '../../kernels/packed_weight';

/** The frozen-weight choice (page, TrainConfig, CLI --frozen-bits): 16-bit halves, 8-bit Q8_0, 4-bit Q4_0 blocks. */
export type FrozenBits = 16 | 8 | 4;

/** The format a safetensors matrix is quantized to on load at `bits` (16: bf16 halves). */
export const BITS_FORMAT: Record<FrozenBits, FrozenFormat> = { 16: 'bf16', 8: 'Q8_0', 4: 'Q4_0' };

/** Bytes per weight of a format, for estimates (a quantized block's bytes over its weights: Q8_0 34/32, Q4_0 18/32, Q4_1 20/32, Q4_K 144/256). */
export const formatBytesPerWeight = (f: FrozenFormat): number => (isQuant(f) ? QUANT_BLOCK[f][1] / QUANT_BLOCK[f][0] : 2);

export const frozenShape = (w: Frozen): [number, number] => (isPacked(w) ? w.shape : (w.shape as [number, number]));

/** Bytes a frozen matrix holds on the GPU. */
export function frozenBytes(w: Frozen | tf.Tensor): number {
  return isPacked(w as Frozen) ? (w as PackedWeight).blocks.reduce((n, b) => n + b.words.size * 4, 0) : (w as tf.Tensor).size * 4;
}

/** Bytes one storage binding may hold (the device's limit; the 128 MiB WebGPU default when unknown). */
export function maxBindingBytes(): number {
  const lim = getGpuInfo()?.limits.maxStorageBufferBindingSize;
  return Number.isFinite(lim) && lim! > 0 ? lim! : 128 * 1024 * 1024;
}

/** bf16 bits of an f32 (round to nearest even; NaN stays NaN), as the Python writers do. */
export function toBf16Bits(data: Float32Array): Uint16Array {
  const u32 = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const u = u32[i];
    out[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** The ggml type of a GGUF tensor, when it is one the kernels read packed. */
const keptFormat = (t: HostTensor): QuantFormat | null => (t.gguf && isQuant(t.gguf.type as FrozenFormat) ? (t.gguf.type as QuantFormat) : null);

/**
 * The format a host matrix is held in on the GPU for `bits` (UploadOptions
 * frozenBits, model.ts): 8 or 4 keep a GGUF's own Q8_0/Q4_0/Q4_1/Q4_K blocks
 * as they are and quantize anything else to Q8_0 or Q4_0; 16 keeps 16-bit
 * halves (a GGUF's blocks dequantized and rounded to bf16); undefined keeps
 * what the file holds (a GGUF's kept blocks, else its halves). null: f32.
 */
export function heldFormat(t: HostTensor, opts: UploadFrozenOptions = {}): FrozenFormat | null {
  if (t.shape.length !== 2 || opts.halves === false) return null;
  const bits = opts.frozenBits;
  if (bits === 8 || bits === 4) return keptFormat(t) ?? BITS_FORMAT[bits];
  if (bits === undefined && keptFormat(t)) return keptFormat(t);
  if (t.half || opts.storeBf16 || bits === 16) return t.shape[1] % 2 === 0 ? (t.half?.format ?? 'bf16') : null;
  return null;
}

export interface UploadFrozenOptions {
  halves?: boolean;
  storeBf16?: boolean;
  frozenBits?: FrozenBits;
  blockBytes?: number;
}

/** Splits `rows` rows of `rowBytes` bytes each from `bytes` into blocks of at most `limit` bytes, each its own word-padded int32 tensor. */
function rowBlocks(bytes: Uint8Array, rows: number, rowBytes: number, limit: number, shape: (n: number, words: number) => [number, number]): PackedBlock[] {
  const rowsPerBlock = Math.max(1, Math.floor(limit / rowBytes));
  const blocks: PackedBlock[] = [];
  for (let row0 = 0; row0 < rows; row0 += rowsPerBlock) {
    const n = Math.min(rowsPerBlock, rows - row0);
    // a copy into a fresh word buffer: the source need not be 4-byte aligned, nor a whole number of words
    const words = new Int32Array(Math.ceil((n * rowBytes) / 4));
    new Uint8Array(words.buffer).set(bytes.subarray(row0 * rowBytes, (row0 + n) * rowBytes));
    blocks.push({ row0, rows: n, words: tf.tensor2d(words, shape(n, words.length), 'int32') });
  }
  return blocks;
}

/**
 * Uploads a host matrix in the format heldFormat picks: f32; 16-bit halves
 * packed two per word; or ggml blocks, a GGUF's own or quantized here
 * (io/quantize.ts, blockwise absmax as ggml's quantize_row_q8_0/q4_0_ref).
 * `blockBytes` caps one row block (default: the device's binding limit).
 */
export function uploadFrozen(t: HostTensor, opts: UploadFrozenOptions = {}): Frozen {
  const [rows, cols] = t.shape;
  const format = heldFormat(t, opts);
  const limit = opts.blockBytes ?? maxBindingBytes();
  if (format === null) return tf.tensor2d(t.data, [rows, cols], 'float32');
  if (isQuant(format)) {
    const bytes = keptFormat(t) === format ? t.gguf!.blocks : quantizeRows(t.data, rows, cols, format as 'Q8_0' | 'Q4_0');
    const rowBytes = blocksPerRow(format, cols) * QUANT_BLOCK[format][1];
    if (bytes.byteLength !== rows * rowBytes) throw new Error(`uploadFrozen: ${format} (${rows}, ${cols}) needs ${rows * rowBytes} bytes, got ${bytes.byteLength}`);
    return { kind: 'packed', format, shape: [rows, cols], blocks: rowBlocks(bytes, rows, rowBytes, limit, (_, n) => [1, n]) };
  }
  const bits = t.half?.format === format ? t.half.bits : toBf16Bits(t.data);
  const bytes = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
  return { kind: 'packed', format, shape: [rows, cols], blocks: rowBlocks(bytes, rows, cols * 2, limit, (n) => [n, cols / 2]) };
}

/** Rows of a frozen matrix as f32 (the composed reference path and fallbacks: one unpack or dequantize pass per block). */
export function frozenF32(w: Frozen): tf.Tensor2D {
  if (!isPacked(w)) return w;
  const f = w.format;
  return tf.tidy(() => {
    const parts = w.blocks.map((b) => (isQuant(f) ? dequantizeBlocks(b.words, f, b.rows, w.shape[1]) : unpackHalves(b.words, f)));
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D;
  });
}

/** Releases a frozen matrix. */
export function disposeFrozen(w: Frozen | tf.Tensor): void {
  if (isPacked(w as Frozen)) (w as PackedWeight).blocks.forEach((b) => b.words.dispose());
  else (w as tf.Tensor).dispose();
}
