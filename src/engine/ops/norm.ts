/**
 * RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x²) + eps) · w over the last
 * axis, x (N, D), w (D). Composed tfjs ops (rmsNormReference), or one kernel
 * each way (kernels/rms_norm.ts) with the fused kernels on the 'simple'
 * flavour, where tfjs's row reduction is slow (SwiftShader).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { kernelFlavor } from '../../../kernels/program';
import { fusedRmsNorm, fusedRmsNormFits } from '../../../kernels/rms_norm';

export function rmsNormReference(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => x.mul(tf.rsqrt(x.square().mean(-1, true).add(eps))).mul(w));
}

export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (kernelMode() === 'fused' && kernelFlavor() === 'simple' && fusedRmsNormFits(x.shape[1])) return fusedRmsNorm(x, w, eps);
  return rmsNormReference(x, w, eps);
}
