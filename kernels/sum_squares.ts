/**
 * sumSquaresPartials: the K partial sums of squares of a flat f32 vector
 * (sum_squares.wgsl.ts), the first level of a global norm. Their sum is
 * ‖x‖²; the optimizer kernels add them on the GPU (clipCoefWgsl), the host
 * adds them to report the norm.
 */
import * as tf from '@tensorflow/tfjs';
import { SUMSQ_THREADS, sumSquaresParts, sumSquaresWgsl } from './sum_squares.wgsl';
import { assertFloat32, i32, runKernel } from './program';

/** x (n) -> partials (K), K = sumSquaresParts(n). */
export function sumSquaresPartials(x: tf.Tensor): tf.Tensor1D {
  assertFloat32('sumSquares', x);
  if (x.rank !== 1 || x.size === 0) throw new Error(`sumSquares: want a non-empty flat vector, got [${x.shape}]`);
  const n = x.size;
  const K = sumSquaresParts(n);
  return runKernel(
    {
      key: 'sum_squares',
      inputs: ['x'],
      outputShape: [K],
      dispatch: [Math.ceil(K / SUMSQ_THREADS), 1, 1],
      workgroupSize: [SUMSQ_THREADS, 1, 1],
      uniforms: 'count : i32, parts : i32,',
      code: sumSquaresWgsl(),
    },
    [x],
    'float32',
    [i32(n), i32(K)],
  ) as tf.Tensor1D;
}

/** ‖x‖ from the partials, on the host (f64 sum). */
export async function normFromPartials(partials: tf.Tensor): Promise<number> {
  const d = await partials.data();
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i];
  return Math.sqrt(s);
}
