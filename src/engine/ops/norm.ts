/**
 * RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + eps) · w over the last
 * axis, x (N, D), w (D). Composed tfjs ops (rmsNormReference), or one kernel
 * each way (kernels/rms_norm.ts, barrier-free, so one version serves both
 * flavours) in fused mode: one dispatch instead of tfjs's six, and on
 * SwiftShader far faster than tfjs's row reduction.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { fusedRmsNorm, fusedRmsNormFits } from '../../../kernels/rms_norm';

export function rmsNormReference(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(w));
}

export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (kernelMode() === 'fused' && fusedRmsNormFits(x.shape[1])) return fusedRmsNorm(x, w, eps);
  return rmsNormReference(x, w, eps);
}
