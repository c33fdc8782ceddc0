/**
 * headsToRows / rowsToHeads (heads_rows.wgsl.ts): attention output between
 * (B, H, T, D) and (B·T, H·D) in one copy, replacing a slice + transpose.
 */
import * as tf from '@tensorflow/tfjs';
import { headsRowsWgsl, HR_THREADS } from './heads_rows.wgsl';
import { assertFloat32, i32, runKernel } from './program';

function run(src: tf.Tensor, B: number, H: number, T: number, D: number, toRows: boolean): tf.Tensor {
  assertFloat32('headsRows', src);
  if (D % 4 !== 0) throw new Error(`headsRows: head dim ${D} must be a multiple of 4`);
  if (src.size < B * H * T * D) throw new Error(`headsRows: ${src.size} values for (${B}, ${H}, ${T}, ${D})`);
  const total = (B * H * T * D) / 4;
  return runKernel(
    {
      key: `heads_rows_${toRows}`,
      inputs: ['src'],
      outputShape: toRows ? [B * T, H * D] : [B, H, T, D],
      dispatch: [Math.ceil(total / HR_THREADS), 1, 1],
      workgroupSize: [HR_THREADS, 1, 1],
      uniforms: 'B : i32, H : i32, T : i32, D : i32,',
      code: headsRowsWgsl(toRows),
    },
    [src],
    'float32',
    [i32(B), i32(H), i32(T), i32(D)],
  );
}

/** (B, H, T, D) — or a flat buffer that starts with it — to (B·T, H·D). */
export const headsToRows = (src: tf.Tensor, B: number, H: number, T: number, D: number) => run(src, B, H, T, D, true) as tf.Tensor2D;
/** (B·T, H·D) to (B, H, T, D). */
export const rowsToHeads = (src: tf.Tensor2D, B: number, H: number, T: number, D: number) => run(src, B, H, T, D, false) as tf.Tensor4D;
