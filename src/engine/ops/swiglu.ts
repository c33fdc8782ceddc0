/**
 * SwiGLU (Shazeer 2020) on the fused gate|up projection: gu (N, 2·F) ->
 * silu(gate)·up (N, F). Fused: kernels/swiglu.ts (one pass); reference:
 * composed tfjs (autograd).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { swiglu as swigluKernel } from '../../../kernels/swiglu';

export function swigluReference(gu: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [g, u] = tf.split(gu, 2, 1);
    return g.mul(tf.sigmoid(g)).mul(u) as tf.Tensor2D;
  });
}

export function swiglu(gu: tf.Tensor2D): tf.Tensor2D {
  return kernelMode() === 'fused' ? swigluKernel(gu) : swigluReference(gu);
}
