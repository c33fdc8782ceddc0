/** swiglu / swigluBackward (swiglu.wgsl.ts): silu(gate)·up on the fused gate|up rows (N, 2·F). */
import * as tf from '@tensorflow/tfjs';
import { swigluWgsl, SWIGLU_THREADS } from './swiglu.wgsl';
import { assertFloat32, i32, runKernel } from './program';

function run(gu: tf.Tensor2D, dact: tf.Tensor2D | null): tf.Tensor2D {
  assertFloat32('swiglu', gu, dact);
  const [N, W] = gu.shape;
  if (W % 2) throw new Error(`swiglu: gate|up width ${W} is odd`);
  const F = W / 2;
  if (dact && (dact.shape[0] !== N || dact.shape[1] !== F)) throw new Error(`swiglu backward: dact ${dact.shape} for gu ${gu.shape}`);
  return runKernel(
    {
      key: `swiglu_${dact ? 'bwd' : 'fwd'}`,
      inputs: dact ? ['gu', 'dact'] : ['gu'],
      outputShape: dact ? [N, W] : [N, F],
      dispatch: [Math.ceil((N * F) / SWIGLU_THREADS), 1, 1],
      workgroupSize: [SWIGLU_THREADS, 1, 1],
      uniforms: 'N : i32, F : i32,',
      code: swigluWgsl(!!dact),
    },
    dact ? [gu, dact] : [gu],
    'float32',
    [i32(N), i32(F)],
  ) as tf.Tensor2D;
}

/** act (N, F) = silu(gu[:, :F]) · gu[:, F:] */
export const swiglu = (gu: tf.Tensor2D) => run(gu, null);
/** d_gu (N, 2F) from gu and dact (N, F) */
export const swigluBackward = (gu: tf.Tensor2D, dact: tf.Tensor2D) => run(gu, dact);
