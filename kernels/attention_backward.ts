/**
 * attentionBackward: dQ, dK, dV of causal GQA attention from Q, K, V, dO and
 * the forward's packed (O, L) buffer, in three programs:
 *   prep  (B·H·T, 2) stats = (L, delta = rowsum(dO∘O))
 *   dkdv  per key tile, looping over the query heads of its GQA group
 *   dq    per query tile
 * Nothing of size T×S is ever allocated. The 'simple' flavour (program.ts)
 * swaps dkdv and dq for their barrier-free forms (one invocation per key /
 * query row); prep is the same.
 */
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_UNIFORMS, type AttentionExtras, attentionUniforms, checkFusedAttention, extraInputs, keyTile } from './attention_forward';
import { attentionBackwardPrepWgsl, PREP_THREADS } from './attention_backward_prep.wgsl';
import { attentionBackwardDkdvWgsl, DKDV_BK, DKDV_THREADS } from './attention_backward_dkdv.wgsl';
import { attentionBackwardDqWgsl, DQ_BR, DQ_THREADS } from './attention_backward_dq.wgsl';
import { attentionBackwardDkdvSimpleWgsl } from './attention_backward_dkdv_simple.wgsl';
import { attentionBackwardDqSimpleWgsl } from './attention_backward_dq_simple.wgsl';
import { rowsPerInvocation, SIMPLE_ROWS } from './attention_forward_simple.wgsl';
import { i32, kernelFlavor, runKernel, type KernelSpec } from './program';

export interface AttentionGrads {
  dq: tf.Tensor4D;
  dk: tf.Tensor4D;
  dv: tf.Tensor4D;
}

export function attentionBackward(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  extras: AttentionExtras,
  packed: tf.Tensor1D,
  dy: tf.Tensor4D,
): AttentionGrads {
  checkFusedAttention(q, k, v, extras);
  const [B, H, T, D] = q.shape;
  const [, Hkv, S] = k.shape;
  if (dy.shape.join() !== q.shape.join()) throw new Error(`attention backward: dO ${dy.shape} vs q ${q.shape}`);
  if (packed.size !== B * H * T * (D + 1)) throw new Error(`attention backward: packed has ${packed.size} values`);
  const ex = extraInputs(extras);
  const flags = { hasSeg: !!extras.seg, hasOffset: !!extras.qoff };
  const rows = B * H * T;

  const stats = runKernel(
    {
      key: `attention_backward_prep_D${D}`,
      inputs: ['packed', 'dy'],
      outputShape: [rows, 2],
      dispatch: [Math.ceil(rows / PREP_THREADS), 1, 1],
      workgroupSize: [PREP_THREADS, 1, 1],
      uniforms: 'rows : i32,',
      code: attentionBackwardPrepWgsl(D),
    },
    [packed, dy],
    'float32',
    [i32(rows)],
  );

  const uniforms = attentionUniforms(q, k);
  const simple = kernelFlavor() === 'simple';
  const vecs = [4, 4, 4, 4, 1, ...ex.names.map(() => 1)];
  const BQ = D <= 64 ? 16 : 8;
  const inputs = ['q', 'k', 'v', 'dy', 'stats', ...ex.names];
  const tensors = [q, k, v, dy, stats, ...ex.tensors];
  const perKey = { inputs, outputShape: [2 * B * Hkv * S * D], uniforms: ATTENTION_UNIFORMS };
  const dkdvSpec: KernelSpec = simple
    ? {
        ...perKey,
        key: `attention_backward_dkdv_simple_D${D}_${ex.key}`,
        dispatch: [Math.ceil(S / (SIMPLE_ROWS * rowsPerInvocation(D))), Hkv, B],
        workgroupSize: [SIMPLE_ROWS, 1, 1],
        code: attentionBackwardDkdvSimpleWgsl({ D, ...flags }),
        components: vecs,
      }
    : {
        ...perKey,
        key: `attention_backward_dkdv_D${D}_BQ${BQ}_${ex.key}`,
        dispatch: [Math.ceil(S / DKDV_BK), Hkv, B],
        workgroupSize: [DKDV_THREADS, 1, 1],
        code: attentionBackwardDkdvWgsl({ D, BQ, ...flags }),
      };
  const dkdvFlat = runKernel(dkdvSpec, tensors, 'float32', uniforms);

  const BC = keyTile(D);
  const perQuery = { inputs, outputShape: [B, H, T, D], uniforms: ATTENTION_UNIFORMS };
  const dqSpec: KernelSpec = simple
    ? {
        ...perQuery,
        key: `attention_backward_dq_simple_D${D}_${ex.key}`,
        dispatch: [Math.ceil(T / (SIMPLE_ROWS * rowsPerInvocation(D))), H, B],
        workgroupSize: [SIMPLE_ROWS, 1, 1],
        code: attentionBackwardDqSimpleWgsl({ D, ...flags }),
        components: vecs,
      }
    : {
        ...perQuery,
        key: `attention_backward_dq_D${D}_BC${BC}_${ex.key}`,
        dispatch: [Math.ceil(T / DQ_BR), H, B],
        workgroupSize: [DQ_THREADS, 1, 1],
        code: attentionBackwardDqWgsl({ D, BC, ...flags }),
      };
  const dq = runKernel(dqSpec, tensors, 'float32', uniforms) as tf.Tensor4D;
  stats.dispose();

  const n = B * Hkv * S * D;
  const [dk, dv] = tf.tidy(() => [
    dkdvFlat.slice([0], [n]).reshape([B, Hkv, S, D]) as tf.Tensor4D,
    dkdvFlat.slice([n], [n]).reshape([B, Hkv, S, D]) as tf.Tensor4D,
  ]);
  dkdvFlat.dispose();
  return { dq, dk, dv };
}
