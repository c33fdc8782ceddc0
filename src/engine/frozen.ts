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

export type { HalfFormat } from '../../kernels/halves.wgsl';
import type { HalfFormat } from '../../kernels/halves.wgsl';

export { isPacked, type Frozen, type PackedBlock, type PackedWeight } from '../../kernels/packed_weight';
import { isPacked, type Frozen, type PackedBlock, type PackedWeight } from '../../kernels/packed_weight';

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

/**
 * Uploads a host matrix: packed when it carries 16-bit bits (or `storeBf16`
 * asks to round f32 to bf16) and has an even number of columns, else f32.
 * `blockBytes` caps one block (default: the device's binding limit).
 */
export function uploadFrozen(t: HostTensor, opts: { halves?: boolean; storeBf16?: boolean; blockBytes?: number } = {}): Frozen {
  const [rows, cols] = t.shape;
  const half = opts.halves === false ? null : t.half ?? (opts.storeBf16 ? { format: 'bf16' as const, bits: toBf16Bits(t.data) } : null);
  if (t.shape.length !== 2 || !half || cols % 2 !== 0) return tf.tensor2d(t.data, [rows, cols], 'float32');
  const words = new Int32Array(half.bits.buffer, half.bits.byteOffset, half.bits.length / 2);
  const limit = opts.blockBytes ?? maxBindingBytes();
  const rowsPerBlock = Math.max(1, Math.floor(limit / (cols * 2)));
  const blocks: PackedBlock[] = [];
  for (let row0 = 0; row0 < rows; row0 += rowsPerBlock) {
    const n = Math.min(rowsPerBlock, rows - row0);
    // copy: the source view need not be 4-byte aligned in its file buffer
    blocks.push({ row0, rows: n, words: tf.tensor2d(Int32Array.from(words.subarray((row0 * cols) / 2, ((row0 + n) * cols) / 2)), [n, cols / 2], 'int32') });
  }
  return { kind: 'packed', format: half.format, shape: [rows, cols], blocks };
}

/** Rows of a frozen matrix as f32 (the composed reference path and fallbacks: one unpack pass per block). */
export function frozenF32(w: Frozen): tf.Tensor2D {
  if (!isPacked(w)) return w;
  return tf.tidy(() => {
    const parts = w.blocks.map((b) => unpackHalves(b.words, w.format));
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as tf.Tensor2D;
  });
}

/** Releases a frozen matrix. */
export function disposeFrozen(w: Frozen | tf.Tensor): void {
  if (isPacked(w as Frozen)) (w as PackedWeight).blocks.forEach((b) => b.words.dispose());
  else (w as tf.Tensor).dispose();
}
