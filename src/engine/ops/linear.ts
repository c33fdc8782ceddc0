/**
 * Linear layer with an optional LoRA adapter, as a tfjs op.
 *
 *   x: (N, in)   w: (out, in) frozen   bias: (out) | null
 *   lora: a (r, in), b (out, r), scale s  (s = alpha / r, or alpha / sqrt(r) for rsLoRA)
 *   y = x·wᵀ + bias + s·(x·aᵀ)·bᵀ      (N, out)
 *
 * Gradients flow to x, a and b only; w and bias are frozen.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { fusedLoraLinear } from '../../../kernels/lora_linear';
import { simpleLinear, simpleLinearFits } from '../../../kernels/matmul_simple';
import { kernelFlavor } from '../../../kernels/program';

export interface LoraWeights {
  a: tf.Tensor2D; // (r, in)
  b: tf.Tensor2D; // (out, r)
  scale: number;
}

export interface LinearArgs {
  x: tf.Tensor2D;
  w: tf.Tensor2D;
  bias?: tf.Tensor1D | null;
  lora?: LoraWeights | null;
  /** input of the LoRA branch when it differs from x (LoRA dropout: PEFT computes B·A·dropout(x)) */
  loraInput?: tf.Tensor2D | null;
}

/** Composed reference path (tfjs autograd). */
export function linearReference({ x, w, bias, lora }: LinearArgs): tf.Tensor2D {
  return tf.tidy(() => {
    let y = tf.matMul(x, w, false, true) as tf.Tensor2D;
    if (bias) y = y.add(bias);
    if (lora) {
      const xa = tf.matMul(x, lora.a, false, true); // (N, r)
      y = y.add(tf.matMul(xa, lora.b, false, true).mul(lora.scale));
    }
    return y;
  });
}

export function linear(args: LinearArgs): tf.Tensor2D {
  if (args.lora && args.loraInput && args.loraInput !== args.x) {
    // dropout on the adapter's input only: base and adapter see different inputs, so they cannot share one pass
    const { lora, loraInput } = args;
    return tf.tidy(() => {
      const base = linearReference({ x: args.x, w: args.w, bias: args.bias });
      const xa = tf.matMul(loraInput, lora.a, false, true); // (N, r)
      return base.add(tf.matMul(xa, lora.b, false, true).mul(lora.scale));
    });
  }
  if (kernelMode() === 'fused' && args.lora) return fusedLoraLinear(args);
  // Without an adapter the layer is a plain matmul: tfjs's own kernel, or our
  // barrier-free one on the 'simple' flavour (SwiftShader)
  if (kernelMode() === 'fused' && !args.lora && kernelFlavor() === 'simple' && simpleLinearFits(args.w)) {
    return simpleLinear(args.x, args.w, args.bias ?? null);
  }
  return linearReference(args);
}
