/**
 * Causal multi-head attention with GQA, as a tfjs op.
 *
 *   q: (B, H, T, D)    queries, already rotated (RoPE)
 *   k: (B, Hkv, S, D)  keys, S >= T (S > T when decoding against a KV cache)
 *   v: (B, Hkv, S, D)
 *   returns (B, H, T, D)
 *
 * Query t sits at absolute position S - T + t and sees keys 0..S-T+t, or,
 * when `queryOffset` (int32, shape (1)) is given, at queryOffset + t: that is
 * how decoding runs against a fixed-capacity KV cache (S = capacity, keys past
 * the filled length are never seen because they lie in the future), so every
 * decode step has the same shapes and reuses compiled shaders.
 * `segmentIds` (B, T) int32 (only when S == T): a query sees a key only when
 * both carry the same id and it is not 0 (0 marks padding), so packed samples
 * never attend to each other. Padding rows get all-zero output.
 * Scale is 1/sqrt(D). H must be a multiple of Hkv (query head h reads kv head
 * floor(h / (H / Hkv))).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelMode } from './mode';
import { fusedAttention } from '../../../kernels/attention';
import { attentionDecodePacked, useDecodeKernel } from '../../../kernels/attention_decode';
import { attentionForwardPacked, MAX_HEAD_DIM } from '../../../kernels/attention_forward';
import { checkAttentionShapes, type AttentionArgs } from '../../../kernels/attention_shapes';
import { headsToRows } from '../../../kernels/heads_rows';

export { checkAttentionShapes, type AttentionArgs } from '../../../kernels/attention_shapes';

/** Additive mask (B or 1, 1, T, S): 0 where allowed, -1e30 where not. */
export function attentionMask(T: number, S: number, segmentIds?: tf.Tensor2D | null, queryOffset?: tf.Tensor1D | null): tf.Tensor4D {
  return tf.tidy(() => {
    const qPos = (queryOffset ? tf.range(0, T, 1, 'int32').add(queryOffset) : tf.range(S - T, S, 1, 'int32')).reshape([T, 1]);
    const kPos = tf.range(0, S, 1, 'int32').reshape([1, S]);
    let allowed = tf.lessEqual(kPos, qPos).reshape([1, 1, T, S]) as tf.Tensor4D;
    if (segmentIds) {
      const [B] = segmentIds.shape;
      const a = segmentIds.reshape([B, 1, T, 1]);
      const b = segmentIds.reshape([B, 1, 1, T]);
      const same = tf.logicalAnd(tf.equal(a, b), tf.notEqual(b, 0));
      allowed = tf.logicalAnd(allowed, same) as tf.Tensor4D;
    }
    return tf.where(allowed, tf.zerosLike(allowed, ), tf.fill(allowed.shape, -1e30)).toFloat() as tf.Tensor4D;
  });
}

/** Composed tfjs reference: materialises (B, H, T, S) scores. Differentiable by tfjs autograd. */
export function attentionReference({ q, k, v, segmentIds, queryOffset }: AttentionArgs): tf.Tensor4D {
  checkAttentionShapes({ q, k, v, segmentIds });
  return tf.tidy(() => {
    const [B, H, T, D] = q.shape;
    const [, Hkv, S] = k.shape;
    const g = H / Hkv;
    // (B, Hkv, S, D) -> (B, H, S, D): each kv head serves g query heads
    const expand = (x: tf.Tensor4D) =>
      // rank-4 tile: tfjs-webgpu's tile runs rank >= 5 on the CPU
      g === 1 ? x : x.reshape([B, Hkv, 1, S * D]).tile([1, 1, g, 1]).reshape([B, H, S, D]);
    const kk = expand(k);
    const vv = expand(v);
    const scores = tf.matMul(q, kk, false, true).mul(1 / Math.sqrt(D)); // (B, H, T, S)
    const masked = scores.add(attentionMask(T, S, segmentIds, queryOffset));
    let p = tf.softmax(masked, -1);
    if (segmentIds) {
      // rows with nothing allowed (padding) give 0 instead of a uniform average
      const rowValid = tf.notEqual(segmentIds, 0).toFloat().reshape([B, 1, T, 1]);
      p = p.mul(rowValid);
    }
    return tf.matMul(p, vv) as tf.Tensor4D; // (B, H, T, D)
  });
}

/** The attention the model calls: fused kernel or reference, per kernelMode(). */
export function causalAttention(args: AttentionArgs): tf.Tensor4D {
  return kernelMode() === 'fused' && fusedAttentionFits(args.q.shape[3]) ? fusedAttention(args) : attentionReference(args);
}

/** Whether our kernels take this head dim (registers are sized for multiples of 4 up to 128). */
export const fusedAttentionFits = (D: number) => D % 4 === 0 && D <= MAX_HEAD_DIM;

/**
 * Fused attention straight to token rows: the forward (or decode) kernel's
 * packed (O, L) buffer, and O moved into (B·T, H·D) by one copy. The packed
 * buffer is what attentionBackward reads. No gradient tape.
 */
export function attentionRowsFused({ q, k, v, segmentIds, queryOffset }: AttentionArgs): { rows: tf.Tensor2D; packed: tf.Tensor1D } {
  const [B, H, T, D] = q.shape;
  const extras = { seg: segmentIds ?? null, qoff: queryOffset ?? null };
  const packed = useDecodeKernel(T, extras) ? attentionDecodePacked(q, k, v, extras) : attentionForwardPacked(q, k, v, extras);
  return { rows: headsToRows(packed, B, H, T, D), packed };
}

/** Attention as the model calls it: (B·T, H·D) rows, fused or reference per kernelMode(). */
export function attentionRows(args: AttentionArgs): tf.Tensor2D {
  const [B, H, T, D] = args.q.shape;
  if (kernelMode() === 'fused' && fusedAttentionFits(D)) {
    const { rows, packed } = attentionRowsFused(args);
    packed.dispose();
    return rows;
  }
  return tf.tidy(() => causalAttention(args).transpose([0, 2, 1, 3]).reshape([B * T, H * D]) as tf.Tensor2D);
}
