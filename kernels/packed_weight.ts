/**
 * The memory layout of a frozen matrix as the matmul and gather kernels read
 * it (src/engine/frozen.ts uploads them and explains why): an f32 tensor;
 * 16-bit halves packed two per u32 word (word j = half 2j in the low 16 bits,
 * half 2j+1 in the high 16); or ggml quantized blocks kept as GGUF stores
 * them (Q8_0, Q4_0, Q4_1, Q4_K; one WGSL helper per format beside
 * halves.wgsl.ts), each row a whole number of blocks. Split into row blocks
 * that each fit one storage binding.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HalfFormat } from './halves.wgsl';

/** ggml block formats kept packed on the GPU (names as ggml's, ggml_quants.ts). */
export type QuantFormat = 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q4_K';
export type FrozenFormat = HalfFormat | QuantFormat;

/** [weights per block, bytes per block] of each kept block format (ggml-common.h). */
export const QUANT_BLOCK: Record<QuantFormat, [number, number]> = { Q8_0: [32, 34], Q4_0: [32, 18], Q4_1: [32, 20], Q4_K: [256, 144] };

export const isQuant = (f: FrozenFormat): f is QuantFormat => f in QUANT_BLOCK;

/** Blocks one row of `cols` weights takes (the last one zero-padded when cols is not a whole number of blocks). */
export const blocksPerRow = (f: QuantFormat, cols: number): number => Math.ceil(cols / QUANT_BLOCK[f][0]);

/** Bytes a (rows, cols) matrix takes in a format (quantized rows padded to whole blocks). */
export function formatBytes(f: FrozenFormat, rows: number, cols: number): number {
  return isQuant(f) ? rows * blocksPerRow(f, cols) * QUANT_BLOCK[f][1] : rows * cols * 2;
}

/**
 * Rows [row0, row0 + rows) of a packed matrix: for halves, words (rows,
 * cols / 2) int32; for a quantized format, the rows' blocks back to back as
 * bytes, little-endian in words (1, ceil(bytes / 4)) int32, zero-padded to a
 * whole word.
 */
export interface PackedBlock {
  row0: number;
  rows: number;
  words: tf.Tensor2D;
}

export interface PackedWeight {
  kind: 'packed';
  format: FrozenFormat;
  shape: [number, number]; // logical (rows, cols) in weights
  blocks: PackedBlock[];
}

/** A frozen matrix: an f32 tensor, or halves or quantized blocks packed in row blocks. */
export type Frozen = tf.Tensor2D | PackedWeight;

export const isPacked = (w: Frozen): w is PackedWeight => (w as PackedWeight).kind === 'packed';
