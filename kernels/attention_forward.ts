/**
 * attentionForward: guards shapes/dtypes and runs attention_forward.wgsl.ts
 * ('tiled' flavour) or attention_forward_simple.wgsl.ts ('simple').
 * Returns O (B, H, T, D) and the flat (O, L) buffer the backward pass reads.
 */
import * as tf from '@tensorflow/tfjs';
import { checkAttentionShapes } from './attention_shapes';
import { attentionForwardWgsl, FWD_BR, FWD_THREADS } from './attention_forward.wgsl';
import { attentionForwardSimpleWgsl, rowsPerInvocation, SIMPLE_ROWS } from './attention_forward_simple.wgsl';
import { assertFloat32, f32, i32, kernelFlavor, runKernel, type KernelSpec } from './program';

/** Largest head dim the kernels support (registers and workgroup memory are sized for it). */
export const MAX_HEAD_DIM = 128;

/** Optional inputs: segment ids (B, T) int32 and a query offset (1) int32. */
export interface AttentionExtras {
  seg?: tf.Tensor2D | null;
  qoff?: tf.Tensor1D | null;
}

export function checkFusedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, { seg, qoff }: AttentionExtras): void {
  checkAttentionShapes({ q, k, v, segmentIds: seg, queryOffset: qoff });
  if (qoff && (qoff.dtype !== 'int32' || qoff.size !== 1)) throw new Error(`attention: queryOffset must be int32 of size 1`);
  assertFloat32('attention', q, k, v);
  if (seg && seg.dtype !== 'int32') throw new Error(`attention: segmentIds must be int32, got ${seg.dtype}`);
  const D = q.shape[3];
  if (D % 4 !== 0 || D > MAX_HEAD_DIM) throw new Error(`attention: head dim ${D} must be a multiple of 4 and <= ${MAX_HEAD_DIM}`);
}

/** Keys per tile: K and V tiles together stay at 8 KB of workgroup memory. */
export const keyTile = (D: number) => (D <= 64 ? 16 : 8);

export interface AttentionForwardResult {
  o: tf.Tensor4D; // (B, H, T, D)
  /** flat (B·H·T·D + B·H·T): O then the row logsumexp L; kept for backward */
  packed: tf.Tensor1D;
}

export function attentionUniforms(q: tf.Tensor4D, k: tf.Tensor4D) {
  const [B, H, T, D] = q.shape;
  const [, Hkv, S] = k.shape;
  return [i32(B), i32(T), i32(S), i32(H), i32(Hkv), f32(1 / Math.sqrt(D))];
}
export const ATTENTION_UNIFORMS = 'B : i32, T : i32, S : i32, H : i32, Hkv : i32, scale : f32,';

/** Binding names and tensors for the optional inputs, appended after the fixed ones. */
export function extraInputs({ seg, qoff }: AttentionExtras): { names: string[]; tensors: tf.Tensor[]; key: string } {
  const names: string[] = [];
  const tensors: tf.Tensor[] = [];
  if (seg) names.push('seg'), tensors.push(seg);
  if (qoff) names.push('qoff'), tensors.push(qoff);
  return { names, tensors, key: `seg${!!seg}_off${!!qoff}` };
}

/** The packed (O, L) buffer alone (the model reads O from it with headsToRows, saving a slice). */
export function attentionForwardPacked(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, extras: AttentionExtras = {}): tf.Tensor1D {
  checkFusedAttention(q, k, v, extras);
  const [B, H, T, D] = q.shape;
  const BC = keyTile(D);
  const ex = extraInputs(extras);
  const flags = { hasSeg: !!extras.seg, hasOffset: !!extras.qoff };
  const common = { inputs: ['q', 'k', 'v', ...ex.names], outputShape: [B * H * T * (D + 1)], uniforms: ATTENTION_UNIFORMS };
  const spec: KernelSpec =
    kernelFlavor() === 'simple'
      ? {
          ...common,
          key: `attention_forward_simple_D${D}_${ex.key}`,
          dispatch: [Math.ceil(T / (SIMPLE_ROWS * rowsPerInvocation(D))), H, B],
          workgroupSize: [SIMPLE_ROWS, 1, 1],
          code: attentionForwardSimpleWgsl({ D, ...flags }),
          components: [4, 4, 4, ...ex.names.map(() => 1)],
        }
      : {
          ...common,
          key: `attention_forward_D${D}_BC${BC}_${ex.key}`,
          dispatch: [Math.ceil(T / FWD_BR), H, B],
          workgroupSize: [FWD_THREADS, 1, 1],
          code: attentionForwardWgsl({ D, BC, ...flags }),
        };
  return runKernel(spec, [q, k, v, ...ex.tensors], 'float32', attentionUniforms(q, k)) as tf.Tensor1D;
}

export function attentionForward(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, extras: AttentionExtras = {}): AttentionForwardResult {
  const packed = attentionForwardPacked(q, k, v, extras);
  return { o: outputOf(packed, q.shape), packed };
}

/** O (B, H, T, D): the first B·H·T·D floats of the packed buffer. */
export function outputOf(packed: tf.Tensor1D, [B, H, T, D]: number[]): tf.Tensor4D {
  return tf.tidy(() => packed.slice([0], [B * H * T * D]).reshape([B, H, T, D]) as tf.Tensor4D);
}
