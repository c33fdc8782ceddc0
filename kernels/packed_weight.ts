/**
 * The memory layout of a frozen matrix as the matmul and gather kernels read
 * it (src/engine/frozen.ts uploads them and explains why): an f32 tensor, or
 * 16-bit halves packed two per u32 word (word j = half 2j in the low 16 bits,
 * half 2j+1 in the high 16), split into row blocks that each fit one storage
 * binding.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HalfFormat } from './halves.wgsl';

/** Rows [row0, row0 + rows) of a packed matrix: words (rows, cols / 2) int32. */
export interface PackedBlock {
  row0: number;
  rows: number;
  words: tf.Tensor2D;
}

export interface PackedWeight {
  kind: 'packed';
  format: HalfFormat;
  shape: [number, number]; // logical (rows, cols) in halves
  blocks: PackedBlock[];
}

/** A frozen matrix: an f32 tensor, or halves packed in row blocks. */
export type Frozen = tf.Tensor2D | PackedWeight;

export const isPacked = (w: Frozen): w is PackedWeight => (w as PackedWeight).kind === 'packed';
