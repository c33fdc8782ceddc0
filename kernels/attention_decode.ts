/**
 * attentionDecode: guards shapes/dtypes and runs attention_decode.wgsl.ts,
 * the split-over-keys kernel for T <= DECODE_MAX_T query rows (KV-cache
 * decoding). Same contract and outputs as attentionForward: O (B, H, T, D)
 * and the packed (O, L) buffer, so fusedAttention can pick either forward and
 * keep one backward.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_UNIFORMS, attentionUniforms, checkFusedAttention, extraInputs, outputOf } from './attention_forward';
import type { AttentionExtras, AttentionForwardResult } from './attention_forward';
import { attentionDecodeWgsl, decodeChunk, DECODE_MAX_T, DECODE_THREADS } from './attention_decode.wgsl';
import { runKernel } from './program';

/** Whether fusedAttention should use the decode kernel: few query rows and no segment ids. */
export function useDecodeKernel(T: number, extras: AttentionExtras): boolean {
  return T <= DECODE_MAX_T && !extras.seg;
}

/** The packed (O, L) buffer alone. */
export function attentionDecodePacked(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, extras: AttentionExtras = {}): tf.Tensor1D {
  checkFusedAttention(q, k, v, extras);
  const [B, H, T, D] = q.shape;
  if (extras.seg) throw new Error('attentionDecode: segment ids (packed training rows) are not supported');
  if (T > DECODE_MAX_T) throw new Error(`attentionDecode: ${T} query rows; at most ${DECODE_MAX_T}`);
  const ex = extraInputs(extras);
  return runKernel(
    {
      key: `attention_decode_D${D}_C${decodeChunk(D)}_${ex.key}`,
      inputs: ['q', 'k', 'v', ...ex.names],
      outputShape: [B * H * T * (D + 1)],
      dispatch: [T, H, B],
      workgroupSize: [DECODE_THREADS, 1, 1],
      uniforms: ATTENTION_UNIFORMS,
      code: attentionDecodeWgsl({ D, hasOffset: !!extras.qoff }),
    },
    [q, k, v, ...ex.tensors],
    'float32',
    attentionUniforms(q, k),
  ) as tf.Tensor1D;
}

export function attentionDecode(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, extras: AttentionExtras = {}): AttentionForwardResult {
  const packed = attentionDecodePacked(q, k, v, extras);
  return { o: outputOf(packed, q.shape), packed };
}
