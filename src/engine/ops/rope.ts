/**
 * Rotary position embedding (Su et al. 2021) in HF's rotate-half convention,
 * applied while splitting the fused q|k|v projection into attention heads:
 *
 *   qkv (B·T, (H + 2·Hkv)·D) -> q (B, H, T, D), k and v (B, Hkv, T, D)
 *
 * q and k are rotated by their absolute positions, v is only moved. Fused:
 * one rope_heads kernel per part (kernels/rope_heads.ts); reference: slice,
 * reshape, transpose and the rotation in composed tfjs ops (autograd).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { ropeHeads as ropeHeadsKernel, type HeadDims, type QkvPart } from '../../../kernels/rope_heads';

export interface RopeArgs {
  qkv: tf.Tensor2D;
  positions: tf.Tensor1D; // (B·T) int32
  cos: tf.Tensor2D; // (maxPositions, D/2)
  sin: tf.Tensor2D;
  dims: HeadDims;
}

/** Rotate-half RoPE on x (B, n, T, D) with cos/sin (B, 1, T, D/2). */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [x1, x2] = tf.split(x, 2, 3);
    return tf.concat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], 3) as tf.Tensor4D;
  });
}

export function ropeHeadsReference({ qkv, positions, cos, sin, dims }: RopeArgs, part: QkvPart): tf.Tensor4D {
  const { B, T, H, Hkv, D } = dims;
  return tf.tidy(() => {
    const n = part === 'q' ? H : Hkv;
    const col = part === 'q' ? 0 : part === 'k' ? H * D : (H + Hkv) * D;
    const heads = qkv.slice([0, col], [B * T, n * D]).reshape([B, T, n, D]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // (B, n, T, D)
    if (part === 'v') return heads;
    const c = tf.gather(cos, positions).reshape([B, 1, T, D / 2]) as tf.Tensor4D;
    const s = tf.gather(sin, positions).reshape([B, 1, T, D / 2]) as tf.Tensor4D;
    return applyRope(heads, c, s);
  });
}

/** One part of qkv in head layout, rotated (q, k) or moved (v). */
export function ropeHeads(args: RopeArgs, part: QkvPart): tf.Tensor4D {
  if (kernelMode() === 'fused') return ropeHeadsKernel(args.qkv, args.positions, args.cos, args.sin, args.dims, part);
  return ropeHeadsReference(args, part);
}
