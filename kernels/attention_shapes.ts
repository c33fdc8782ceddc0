/**
 * The arguments every attention kernel takes, and the guard that checks
 * their shapes before anything reaches the GPU (shared by the kernels and
 * src/engine/ops/attention.ts, which lies above them).
 *
 *   q: (B, H, T, D)    queries, already rotated (RoPE)
 *   k: (B, Hkv, S, D)  keys, S >= T
 *   v: (B, Hkv, S, D)
 *   segmentIds: (B, T) int32, only when S == T (packed samples)
 *   queryOffset: (1) int32, the absolute position of query 0 (decoding)
 */
import type * as tf from '@tensorflow/tfjs';

export interface AttentionArgs {
  q: tf.Tensor4D;
  k: tf.Tensor4D;
  v: tf.Tensor4D;
  segmentIds?: tf.Tensor2D | null;
  queryOffset?: tf.Tensor1D | null;
}

export function checkAttentionShapes({ q, k, v, segmentIds }: AttentionArgs): void {
  const [B, H, T, D] = q.shape;
  const [Bk, Hkv, S, Dk] = k.shape;
  if (Bk !== B || Dk !== D || v.shape.join() !== k.shape.join()) {
    throw new Error(`attention: q ${q.shape} k ${k.shape} v ${v.shape} do not agree`);
  }
  if (H % Hkv !== 0) throw new Error(`attention: ${H} query heads is not a multiple of ${Hkv} kv heads`);
  if (S < T) throw new Error(`attention: ${S} keys for ${T} queries`);
  if (segmentIds && (S !== T || segmentIds.shape[0] !== B || segmentIds.shape[1] !== T)) {
    throw new Error(`attention: segmentIds ${segmentIds.shape} needs (B=${B}, T=${T}) and S == T`);
  }
}
