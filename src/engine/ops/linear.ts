/**
 * Linear layers with LoRA adapters, as tfjs ops.
 *
 * The model calls `projection`: one fused projection group (q|k|v, o,
 * gate|up or down) whose LoRA pairs sit in the adapter's flat buffer:
 *   x: (N, in)   w: (Σ out, in) frozen   bias: (Σ out) | null
 *   y = x·wᵀ + bias + [s·(x·A_gᵀ)·B_gᵀ]_g (+ residual)      (N, Σ out)
 * with the LoRA term of row n multiplied by rowScale[n] when the group ref
 * carries one (Compare's base and tuned sides as two rows of one batch).
 * `linearReference` (one linear, separate a and b tensors) is the reference
 * of the per-op kernel fusedLoraLinear (kernels/lora_linear.ts).
 * Gradients flow to x and the adapter only; w and bias are frozen.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { loraMatmul, type LinearArgs } from '../../../kernels/lora_linear';
import type { GroupSlot } from '../lora_layout';
import { frozenF32, type Frozen } from '../frozen';
import { simpleMatmul } from '../../../kernels/matmul_simple';

export type { LinearArgs, LoraWeights } from '../../../kernels/lora_linear';

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

/**
 * The adapter terms of one fused projection group (lora_layout.ts): its
 * stacked A (members·r, in) and B (Σ out, r) inside the flat buffer `params`.
 */
export interface LoraGroupRef {
  params: tf.Tensor; // flat P (layout.size)
  group: GroupSlot;
  rank: number;
  scale: number;
  /** (N): the term of row n times rowScale[n], for a batch whose rows ride the adapter at different strengths (0 = base, 1 = tuned); absent = 1 */
  rowScale?: tf.Tensor1D | null;
}

export interface ProjectionArgs {
  x: tf.Tensor2D; // (N, in)
  w: Frozen; // (Σ out, in): the group's weights stacked (f32 or packed 16-bit)
  bias?: tf.Tensor1D | null; // (Σ out)
  lora?: LoraGroupRef | null;
  /** added to the output: x + projection(...) for the residual stream */
  residual?: tf.Tensor2D | null;
  /** each member's LoRA input when it differs from x (LoRA dropout: PEFT computes B·A·dropout(x), a mask per linear) */
  loraInputs?: tf.Tensor2D[] | null;
}

/** Column boundaries [g1, g2] of a group's members, for the block-diagonal low-rank term. */
export function memberBounds(outs: number[]): [number, number] {
  const total = outs.reduce((a, b) => a + b, 0);
  return [outs.length > 1 ? outs[0] : total, outs.length > 2 ? outs[0] + outs[1] : total];
}

/** A_g (r, in) and B_g (out_g, r) of each member, sliced out of P (composed ops, differentiable). */
export function memberMatrices(l: LoraGroupRef): { a: tf.Tensor2D; b: tf.Tensor2D }[] {
  const { params, group, rank } = l;
  let bOff = group.b;
  return group.outs.map((out, g) => {
    const a = params.slice([group.a + g * rank * group.in], [rank * group.in]).reshape([rank, group.in]) as tf.Tensor2D;
    const b = params.slice([bOff], [out * rank]).reshape([out, rank]) as tf.Tensor2D;
    bOff += out * rank;
    return { a, b };
  });
}

/** Composed reference: y = x·Wᵀ + bias + [s·(x·A_gᵀ)·B_gᵀ]_g + residual (tfjs autograd). */
export function projectionReference({ x, w, bias, lora, residual, loraInputs }: ProjectionArgs): tf.Tensor2D {
  return tf.tidy(() => {
    let y = tf.matMul(x, frozenF32(w), false, true) as tf.Tensor2D;
    if (bias) y = y.add(bias);
    if (lora) {
      const low = memberMatrices(lora).map(({ a, b }, g) => tf.matMul(tf.matMul(loraInputs?.[g] ?? x, a, false, true), b, false, true));
      let term = (low.length === 1 ? low[0] : tf.concat(low, 1)).mul(lora.scale);
      if (lora.rowScale) term = term.mul(lora.rowScale.reshape([-1, 1])); // (N, 1): exactly the term at 1, zero at 0
      y = y.add(term);
    }
    return residual ? residual.add(y) : y;
  });
}

/** Whether the fused projection takes this group (vec4 reads of A, B and the rank-r products). */
export function fusedProjectionFits(inDim: number, lora: LoraGroupRef | null | undefined): boolean {
  if (!lora) return true;
  return [inDim, lora.rank, lora.group.a, lora.group.b, ...lora.group.outs].every((n) => n % 4 === 0);
}

/**
 * Fused projection, forward only (no gradient tape; training's backward is
 * written out in model_backward.ts): xa = x·A_stackedᵀ (N, members·r), then
 * one pass y = x·Wᵀ + bias + s·blockdiag(xa, B) + residual. Returns xa too,
 * which the backward needs (dB = s·dyᵀ·xa).
 */
export function projectionFused({ x, w, bias, lora, residual }: ProjectionArgs): { y: tf.Tensor2D; xa: tf.Tensor2D | null } {
  if (!lora) return { y: loraMatmul({ x, w, wRowsAreN: true, bias, residual }), xa: null };
  const { params, group, rank, scale, rowScale = null } = lora;
  const xa = simpleMatmul({ x, w: params, wRowsAreN: true, wOffset: group.a, ncols: group.outs.length * rank });
  const y = loraMatmul({ x, w, wRowsAreN: true, bias, residual, u: xa, vmat: params, vOffset: group.b, vRowsAreN: true, rank, groups: memberBounds(group.outs), scale, rowScale });
  return { y, xa };
}

/** The projection the model calls: fused when the mode and shapes allow, else the reference. */
export function projection(args: ProjectionArgs): tf.Tensor2D {
  if (kernelMode() === 'fused' && !args.loraInputs && fusedProjectionFits(args.x.shape[1], args.lora)) {
    const { y, xa } = projectionFused(args);
    xa?.dispose();
    return y;
  }
  return projectionReference(args);
}
