/**
 * ropeHeads / ropeHeadsBackward / ropeIntoCache: RoPE plus the rows→heads
 * layout move of the fused q|k|v projection (rope_heads.wgsl.ts), guarded.
 *
 *   qkv (B·T, (H + 2·Hkv)·D)   positions (B·T) int32   cos, sin (maxPositions, D/2)
 */
import * as tf from '@tensorflow/tfjs';
import { ropeHeadsBackwardWgsl, ropeHeadsWgsl, ROPE_THREADS, ROPE_UNIFORMS } from './rope_heads.wgsl';
import { assertFloat32, i32, runKernel } from './program';

export interface HeadDims {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
}
export type QkvPart = 'q' | 'k' | 'v';

function check(op: string, qkv: tf.Tensor2D, positions: tf.Tensor1D, cos: tf.Tensor2D, d: HeadDims): void {
  assertFloat32(op, qkv, cos);
  const W = (d.H + 2 * d.Hkv) * d.D;
  if (qkv.shape[0] !== d.B * d.T || qkv.shape[1] !== W) throw new Error(`${op}: qkv ${qkv.shape}, expected (${d.B * d.T}, ${W})`);
  if (positions.dtype !== 'int32' || positions.size !== d.B * d.T) throw new Error(`${op}: positions must be int32 (${d.B * d.T})`);
  if (cos.shape[1] * 2 !== d.D || d.D % 2) throw new Error(`${op}: cos table ${cos.shape} for head dim ${d.D}`);
}

const partOf = (d: HeadDims, part: QkvPart) =>
  part === 'q' ? { n: d.H, colBase: 0, rotate: 1 } : part === 'k' ? { n: d.Hkv, colBase: d.H * d.D, rotate: 1 } : { n: d.Hkv, colBase: (d.H + d.Hkv) * d.D, rotate: 0 };

function run(qkv: tf.Tensor2D, positions: tf.Tensor1D, cos: tf.Tensor2D, sin: tf.Tensor2D, d: HeadDims, part: QkvPart, cache: { tensor: tf.Tensor4D; row0: number } | null): tf.Tensor4D {
  check('ropeHeads', qkv, positions, cos, d);
  const { n, colBase, rotate } = partOf(d, part);
  const C = cache ? cache.tensor.shape[2] : d.T;
  if (cache) {
    const [cb, ch, , cd] = cache.tensor.shape;
    if (cb !== d.B || ch !== n || cd !== d.D || cache.row0 + d.T > C) throw new Error(`ropeIntoCache: cache ${cache.tensor.shape} cannot take ${d.T} rows at ${cache.row0}`);
  }
  const total = d.B * d.T * n * (d.D / 2);
  return runKernel(
    {
      key: `rope_heads_cache${!!cache}`,
      inputs: ['qkv', 'positions', 'cosT', 'sinT'],
      outputShape: cache ? cache.tensor.shape : [d.B, n, d.T, d.D],
      dispatch: [Math.ceil(total / ROPE_THREADS), 1, 1],
      workgroupSize: [ROPE_THREADS, 1, 1],
      uniforms: ROPE_UNIFORMS,
      code: ropeHeadsWgsl(!!cache),
    },
    [qkv, positions, cos, sin],
    'float32',
    [i32(d.B), i32(d.T), i32(d.H), i32(d.Hkv), i32(d.D), i32(n), i32(colBase), i32(rotate), i32(C), i32(cache?.row0 ?? 0)],
    cache?.tensor,
  ) as tf.Tensor4D;
}

/** One part of qkv in head layout (B, n, T, D), rotated for q and k. */
export function ropeHeads(qkv: tf.Tensor2D, positions: tf.Tensor1D, cos: tf.Tensor2D, sin: tf.Tensor2D, d: HeadDims, part: QkvPart): tf.Tensor4D {
  return run(qkv, positions, cos, sin, d, part, null);
}

/** Writes this chunk's k or v rows (rotated k) into `cache` (B, Hkv, C, D) at rows row0.., in place. */
export function ropeIntoCache(qkv: tf.Tensor2D, positions: tf.Tensor1D, cos: tf.Tensor2D, sin: tf.Tensor2D, d: HeadDims, part: 'k' | 'v', cache: tf.Tensor4D, row0: number): void {
  run(qkv, positions, cos, sin, d, part, { tensor: cache, row0 });
}

/** d_qkv (B·T, (H + 2·Hkv)·D) from dq (B, H, T, D), dk and dv (B, Hkv, T, D). */
export function ropeHeadsBackward(dq: tf.Tensor4D, dk: tf.Tensor4D, dv: tf.Tensor4D, positions: tf.Tensor1D, cos: tf.Tensor2D, sin: tf.Tensor2D, d: HeadDims): tf.Tensor2D {
  assertFloat32('ropeHeadsBackward', dq, dk, dv);
  if (dq.shape.join() !== [d.B, d.H, d.T, d.D].join() || dk.shape.join() !== [d.B, d.Hkv, d.T, d.D].join() || dv.shape.join() !== dk.shape.join()) {
    throw new Error(`ropeHeadsBackward: dq ${dq.shape} dk ${dk.shape} dv ${dv.shape} for ${JSON.stringify(d)}`);
  }
  const heads = d.H + 2 * d.Hkv;
  const total = d.B * d.T * heads * (d.D / 2);
  return runKernel(
    {
      key: 'rope_heads_backward',
      inputs: ['dq', 'dk', 'dv', 'positions', 'cosT', 'sinT'],
      outputShape: [d.B * d.T, heads * d.D],
      dispatch: [Math.ceil(total / ROPE_THREADS), 1, 1],
      workgroupSize: [ROPE_THREADS, 1, 1],
      uniforms: ROPE_UNIFORMS,
      code: ropeHeadsBackwardWgsl(),
    },
    [dq, dk, dv, positions, cos, sin],
    'float32',
    [i32(d.B), i32(d.T), i32(d.H), i32(d.Hkv), i32(d.D), i32(0), i32(0), i32(1), i32(d.T), i32(0)],
  ) as tf.Tensor2D;
}
