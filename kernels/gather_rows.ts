/** gatherRows (gather_rows.wgsl.ts): rows of a packed frozen matrix by index, as f32; split matrices block by block. */
import * as tf from '@tensorflow/tfjs';
import type { PackedWeight } from './packed_weight';
import { gatherRowsWgsl } from './gather_rows.wgsl';
import { i32, runKernel } from './program';

/** out (N, d) = W[ids] for ids (N) int32. */
export function gatherRows(w: PackedWeight, ids: tf.Tensor1D): tf.Tensor2D {
  if (ids.dtype !== 'int32' || ids.rank !== 1) throw new Error(`gatherRows: ids must be int32 (N), got ${ids.dtype} ${ids.shape}`);
  const [, d] = w.shape;
  const N = ids.shape[0];
  let out: tf.Tensor | undefined;
  w.blocks.forEach((b, i) => {
    out = runKernel(
      {
        key: `gather_rows_${w.format}_fill${i === 0}`,
        inputs: ['words', 'ids'],
        outputShape: [N, d],
        dispatch: [Math.ceil((N * d) / 2 / 64), 1, 1],
        workgroupSize: [64, 1, 1],
        uniforms: 'N : i32, d : i32, row0 : i32, rows : i32,',
        code: gatherRowsWgsl(w.format, i === 0),
      },
      [b.words, ids],
      'float32',
      [i32(N), i32(d), i32(b.row0), i32(b.rows)],
      out,
    );
  });
  return out as tf.Tensor2D;
}
