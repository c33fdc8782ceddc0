/**
 * fusedAttention: the causal GQA attention op built from our WGSL kernels,
 * with a tf.customGrad so tfjs autograd calls attention_backward_* instead of
 * differentiating a composed graph. Same contract as attentionReference in
 * src/engine/ops/attention.ts: q (B, H, T, D), k, v (B, Hkv, S, D),
 * segmentIds (B, T) int32 or none, queryOffset (1) int32 or none (query t
 * at position queryOffset + t instead of S - T + t); returns (B, H, T, D).
 *
 * Forward: attention_decode (keys split over a workgroup's threads) when
 * T <= 4 and there are no segment ids, i.e. KV-cache decoding; otherwise
 * attention_forward (query rows split over threads). Both write the same
 * packed (O, L) buffer, so the backward is the same either way.
 *
 * Saved for backward: q, k, v and the forward's packed (O, L) buffer,
 * B·H·T·(D+1) floats; never a (T × S) tensor. segmentIds gets no gradient
 * nor does queryOffset (they are saved for backward, not customGrad inputs).
 */
import * as tf from '@tensorflow/tfjs';
import type { AttentionArgs } from './attention_shapes';
import { attentionForward } from './attention_forward';
import { attentionBackward } from './attention_backward';
import { attentionDecode, useDecodeKernel } from './attention_decode';

export function fusedAttention({ q, k, v, segmentIds, queryOffset }: AttentionArgs): tf.Tensor4D {
  const extras = { seg: segmentIds ?? null, qoff: queryOffset ?? null };
  const op = tf.customGrad((qq, kk, vv, save) => {
    const forward = useDecodeKernel(q.shape[2], extras) ? attentionDecode : attentionForward;
    const { o, packed } = forward(qq as tf.Tensor4D, kk as tf.Tensor4D, vv as tf.Tensor4D, extras);
    // segmentIds/queryOffset are saved as well: the caller may have made them
    // inside the differentiated function, whose tidy disposes them before backward
    const extraList: tf.Tensor[] = [];
    if (extras.seg) extraList.push(extras.seg);
    if (extras.qoff) extraList.push(extras.qoff);
    (save as tf.GradSaveFunc)([qq as tf.Tensor, kk as tf.Tensor, vv as tf.Tensor, packed, ...extraList]);
    packed.dispose(); // save() keeps its own reference when a tape is recording
    return {
      value: o,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp, ...rest] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, ...tf.Tensor[]];
        const savedExtras = {
          seg: extras.seg ? (rest.shift() as tf.Tensor2D) : null,
          qoff: extras.qoff ? (rest.shift() as tf.Tensor1D) : null,
        };
        const { dq, dk, dv } = attentionBackward(sq, sk, sv, savedExtras, sp, dy as tf.Tensor4D);
        return [dq, dk, dv];
      },
    };
  });
  return op(q, k, v) as tf.Tensor4D;
}
