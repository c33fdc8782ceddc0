/**
 * fusedRmsNorm: RMSNorm over the last axis as one kernel each way
 * (rms_norm.wgsl.ts) with a tf.customGrad, instead of tfjs's square / mean /
 * rsqrt / mul chain (whose row reduction is slow on SwiftShader). Gradient
 * flows to x only; the weight is frozen (LoRA trains adapters, not norms).
 * Same contract as rmsNormReference in src/engine/ops/norm.ts: x (N, D), w (D) -> (N, D).
 */
import * as tf from '@tensorflow/tfjs';
import { NORM_ROWS, rmsNormWgsl } from './rms_norm.wgsl';
import { assertFloat32, f32, i32, runKernel } from './program';

function run(backward: boolean, x: tf.Tensor2D, w: tf.Tensor1D, eps: number, dy?: tf.Tensor2D, dres?: tf.Tensor2D | null): tf.Tensor2D {
  const [N, D] = x.shape;
  const inputs = backward ? ['x', 'w', 'dy', ...(dres ? ['dres'] : [])] : ['x', 'w'];
  return runKernel(
    {
      key: `rms_norm_${backward ? 'bwd' : 'fwd'}_res${!!dres}`,
      inputs,
      outputShape: [N, D],
      dispatch: [Math.ceil(N / NORM_ROWS), 1, 1],
      workgroupSize: [NORM_ROWS, 1, 1],
      uniforms: 'N : i32, D : i32, eps : f32,',
      code: rmsNormWgsl(backward, !!dres),
      components: inputs.map(() => 4),
    },
    backward ? [x, w, dy!, ...(dres ? [dres] : [])] : [x, w],
    'float32',
    [i32(N), i32(D), f32(eps)],
  ) as tf.Tensor2D;
}

/** Whether the kernel takes this width (vec4 rows). */
export const fusedRmsNormFits = (D: number) => D % 4 === 0;

/** y = rmsnorm(x)·w, one dispatch, no gradient tape (the explicit backward calls rmsNormBackward). */
export function rmsNormForward(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  assertFloat32('rmsNorm', x, w);
  if (x.rank !== 2 || w.shape[0] !== x.shape[1] || !fusedRmsNormFits(x.shape[1])) throw new Error(`rmsNorm: x ${x.shape}, w ${w.shape} (want (N, D), (D), D % 4 == 0)`);
  return run(false, x, w, eps);
}

/** dx of RMSNorm for input x and output gradient dy, plus `dres` when given (the residual path's gradient). */
export function rmsNormBackward(x: tf.Tensor2D, w: tf.Tensor1D, eps: number, dy: tf.Tensor2D, dres: tf.Tensor2D | null = null): tf.Tensor2D {
  assertFloat32('rmsNorm backward', x, w, dy, dres);
  if (dy.shape.join() !== x.shape.join() || (dres && dres.shape.join() !== x.shape.join())) throw new Error(`rmsNorm backward: x ${x.shape} dy ${dy.shape} dres ${dres?.shape}`);
  return run(true, x, w, eps, dy, dres);
}

export function fusedRmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  assertFloat32('rmsNorm', x, w);
  if (x.rank !== 2 || w.shape[0] !== x.shape[1] || !fusedRmsNormFits(x.shape[1])) {
    throw new Error(`fusedRmsNorm: x ${x.shape}, w ${w.shape} (want (N, D), (D), D % 4 == 0)`);
  }
  const op = tf.customGrad((xx, save) => {
    (save as tf.GradSaveFunc)([xx as tf.Tensor]);
    return {
      value: run(false, xx as tf.Tensor2D, w, eps),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [run(true, saved[0] as tf.Tensor2D, w, eps, dy as tf.Tensor2D)],
    };
  });
  return op(x) as tf.Tensor2D;
}
