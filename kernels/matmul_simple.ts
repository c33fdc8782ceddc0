/**
 * The 'simple' (barrier-free) matmuls and the dispatch between them and the
 * tiled ones: simpleMatmul (matmul_simple.wgsl.ts), simpleMatmulTN
 * (matmul_tn_simple.wgsl.ts), and denseMatmul / denseMatmulTN, which the
 * engine's fused paths call and which use the simple kernels when the flavour
 * is 'simple' and the shapes allow vec4 reads, tf.matMul otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { SIMPLE_MATMUL_UNIFORMS, simpleMatmulWgsl, SMM_THREADS } from './matmul_simple.wgsl';
import { simpleMatmulTNWgsl, TN_THREADS, TN_UNIFORMS } from './matmul_tn_simple.wgsl';
import { assertFloat32, f32, i32, kernelFlavor, runKernel } from './program';
import type { HalfFormat } from './halves.wgsl';
import { isPacked, isQuant, type Frozen, type PackedWeight, type QuantFormat } from './packed_weight';

export interface SimpleMatmulArgs {
  x: tf.Tensor2D; // (M, K)
  /** (Ncols, K) if wRowsAreN else (K, Ncols); or a flat buffer holding it at `wOffset` (then give `ncols`); or a packed frozen weight of one block */
  w: tf.Tensor | PackedWeight;
  wRowsAreN: boolean;
  wOffset?: number; // floats, a multiple of 4
  ncols?: number;
  /** optional low-rank term scale·u·Vop: u (M, R·groups), vmat (Ncols, R) if vRowsAreN else (R, Ncols), or flat at vOffset */
  u?: tf.Tensor2D | null;
  vmat?: tf.Tensor | null;
  vRowsAreN?: boolean;
  vOffset?: number;
  /** R, the low-rank width each output column sees (default: u's width) */
  rank?: number;
  /** column group boundaries [g1, g2] of a block-diagonal low-rank term (see matmul_simple.wgsl.ts) */
  groups?: [number, number] | null;
  scale?: number;
  bias?: tf.Tensor1D | null;
  residual?: tf.Tensor2D | null; // (M, Ncols), added to the output
  /** (M): the low-rank term of row m times rowScale[m] (rows riding the adapter at different strengths: 0 = base, 1 = tuned) */
  rowScale?: tf.Tensor1D | null;
}

const mult4 = (...ns: number[]) => ns.every((n) => n % 4 === 0);

/**
 * What a kernel binds for a weight: the tensor itself, or a packed frozen
 * weight's one block of words; with the logical (rows, cols) and size for
 * the shape checks, and the half or block format (both null for f32).
 */
export function weightBinding(w: tf.Tensor | PackedWeight, op: string): { tensor: tf.Tensor; shape: number[]; size: number; halves: HalfFormat | null; quant: QuantFormat | null } {
  if (!isPacked(w as Frozen)) return { tensor: w as tf.Tensor, shape: (w as tf.Tensor).shape, size: (w as tf.Tensor).size, halves: null, quant: null };
  const p = w as PackedWeight;
  if (p.blocks.length !== 1) throw new Error(`${op}: a weight split into ${p.blocks.length} blocks goes block by block (see src/engine/ops/frozen_matmul.ts)`);
  const quant = isQuant(p.format) ? p.format : null;
  return { tensor: p.blocks[0].words, shape: p.shape, size: p.shape[0] * p.shape[1], halves: quant ? null : (p.format as HalfFormat), quant };
}

/** A per-row scale of the low-rank term needs one (M) entry per row, and a low-rank term to scale. */
export function checkRowScale(op: string, rowScale: tf.Tensor1D | null, M: number, R: number): void {
  if (!rowScale) return;
  if (R === 0) throw new Error(`${op}: rowScale without a low-rank term`);
  if (rowScale.rank !== 1 || rowScale.shape[0] !== M) throw new Error(`${op}: rowScale ${rowScale.shape} for ${M} rows`);
}

/** Whether simpleMatmul can take these shapes (vec4 reads along k, r, and along n where n is innermost). */
export function simpleMatmulFits(K: number, Ncols: number, wRowsAreN: boolean, R = 0, vRowsAreN = true): boolean {
  return mult4(K, R) && (wRowsAreN || mult4(Ncols)) && (R === 0 || vRowsAreN || mult4(Ncols));
}

export function simpleMatmul(args: SimpleMatmulArgs): tf.Tensor2D {
  const { x, wRowsAreN, u = null, vmat = null, vRowsAreN = true, scale = 1, bias = null, residual = null, groups = null, rowScale = null } = args;
  const wb = weightBinding(args.w, 'simpleMatmul');
  const { halves, quant } = wb;
  assertFloat32('simpleMatmul', x, halves || quant ? null : wb.tensor, u, vmat, bias, residual, rowScale);
  const [M, K] = x.shape;
  const wOffset = args.wOffset ?? 0;
  const flatW = args.ncols !== undefined;
  const Ncols = (flatW ? args.ncols : wRowsAreN ? wb.shape[0] : wb.shape[1]) as number;
  if (!flatW && (wb.shape.length !== 2 || (wRowsAreN ? wb.shape[1] : wb.shape[0]) !== K)) throw new Error(`simpleMatmul: x ${x.shape} and w ${wb.shape} do not agree`);
  if (wOffset + K * Ncols > wb.size) throw new Error(`simpleMatmul: w (${wb.size} values) holds no ${K}×${Ncols} matrix at ${wOffset}`);
  if ((halves || quant) && wOffset) throw new Error('simpleMatmul: packed weights take no offset');
  const R = u ? args.rank ?? u.shape[1] : 0;
  const vOffset = args.vOffset ?? 0;
  if (u && vmat) {
    if (u.shape[0] !== M) throw new Error(`simpleMatmul: u ${u.shape} for ${M} rows`);
    if (u.shape[1] % R !== 0 || u.shape[1] / R > (groups ? 3 : 1)) throw new Error(`simpleMatmul: u ${u.shape} for rank ${R}${groups ? ` in groups ${groups}` : ''}`);
    if (args.vOffset === undefined && vmat.rank === 2) {
      const [vN, vR] = vRowsAreN ? vmat.shape : [vmat.shape[1], vmat.shape[0]];
      if (vN !== Ncols || vR !== R) throw new Error(`simpleMatmul: u ${u.shape} v ${vmat.shape} for ${M}×${Ncols}`);
    }
    if (vOffset + Ncols * R > vmat.size) throw new Error(`simpleMatmul: vmat (${vmat.size} values) holds no ${Ncols}×${R} matrix at ${vOffset}`);
  } else if (u || vmat) throw new Error('simpleMatmul: u and vmat go together');
  if (bias && bias.shape[0] !== Ncols) throw new Error(`simpleMatmul: bias ${bias.shape} for ${Ncols} columns`);
  if (residual && (residual.shape[0] !== M || residual.shape[1] !== Ncols)) throw new Error(`simpleMatmul: residual ${residual.shape} for ${M}×${Ncols}`);
  checkRowScale('simpleMatmul', rowScale, M, R);
  if (!simpleMatmulFits(K, Ncols, wRowsAreN, R, vRowsAreN)) throw new Error(`simpleMatmul: K ${K}, R ${R}, Ncols ${Ncols} need to be multiples of 4`);
  if (!mult4(wOffset, vOffset, u ? u.shape[1] : 0) || (groups && !mult4(...groups))) throw new Error(`simpleMatmul: offsets ${wOffset}, ${vOffset}, u width and groups ${groups} must be multiples of 4`);
  const rows = M < 4 ? 1 : 4;
  const blocks = Math.ceil(M / rows) * Math.ceil(Ncols / 4);
  const rowScaled = !!rowScale;
  const names = ['x', 'w', ...(R ? ['u', 'vmat'] : []), ...(bias ? ['bias'] : []), ...(residual ? ['residual'] : []), ...(rowScaled ? ['rowScale'] : [])];
  const tensors = [x, wb.tensor, ...(R ? [u!, vmat!] : []), ...(bias ? [bias] : []), ...(residual ? [residual] : []), ...(rowScaled ? [rowScale!] : [])];
  const grouped = !!groups;
  return runKernel(
    {
      key: `matmul_simple_w${wRowsAreN}_v${vRowsAreN}_b${!!bias}_r${!!residual}_g${grouped}_R${R}_h${halves}_q${quant}_rows${rows}_s${rowScaled}`,
      inputs: names,
      outputShape: [M, Ncols],
      dispatch: [Math.ceil(blocks / SMM_THREADS), 1, 1],
      workgroupSize: [SMM_THREADS, 1, 1],
      uniforms: SIMPLE_MATMUL_UNIFORMS,
      code: simpleMatmulWgsl({ wRowsAreN, vRowsAreN, hasBias: !!bias, R, hasResidual: !!residual, grouped, wHalves: halves, wQuant: quant, rows, rowScaled }),
      components: names.map((n) => (n === 'bias' || n === 'residual' || n === 'rowScale' || (n === 'w' && quant) ? 1 : n === 'w' && halves ? 2 : 4)),
    },
    tensors,
    'float32',
    [i32(M), i32(K), i32(Ncols), f32(scale), i32(wOffset / 4), i32(vOffset / 4), i32(u ? u.shape[1] / 4 : 0), i32(groups?.[0] ?? Ncols), i32(groups?.[1] ?? Ncols)],
  ) as tf.Tensor2D;
}

/** Where simpleMatmulTN writes: into `tensor` at float `offset`, adding to its contents when `accumulate`. */
export interface TNTarget {
  tensor: tf.Tensor;
  offset: number;
  accumulate: boolean;
}

/**
 * scale · pᵀ·q: p (M, I), q (M, J) -> (I, J); I and J multiples of 4.
 * With `groups` [g1, g2], q is (M, J·groups) and output row i reads q's
 * column block group(i) (see matmul_tn_simple.wgsl.ts); with `into`, the
 * result lands in a larger buffer in place.
 */
export function simpleMatmulTN(p: tf.Tensor2D, q: tf.Tensor2D, scale = 1, opts: { J?: number; groups?: [number, number] | null; into?: TNTarget } = {}): tf.Tensor2D {
  assertFloat32('simpleMatmulTN', p, q);
  const [M, I] = p.shape;
  const [M2, qWidth] = q.shape;
  const J = opts.J ?? qWidth;
  const groups = opts.groups ?? null;
  if (M !== M2 || !mult4(I, J, qWidth) || (groups && !mult4(...groups))) throw new Error(`simpleMatmulTN: p ${p.shape}, q ${q.shape}, J ${J}, groups ${groups} (rows must agree, columns multiples of 4)`);
  if (qWidth % J !== 0 || qWidth / J > (groups ? 3 : 1)) throw new Error(`simpleMatmulTN: q ${q.shape} has no column blocks of ${J}${groups ? ` for groups ${groups}` : ''}`);
  const into = opts.into;
  if (into && (into.offset % 4 !== 0 || into.offset + I * J > into.tensor.size)) throw new Error(`simpleMatmulTN: ${I}×${J} does not fit at ${into.offset} in ${into.tensor.size} values`);
  const blocks = (I / 4) * (J / 4);
  const accumulate = !!into?.accumulate;
  return runKernel(
    {
      key: `matmul_tn_simple_acc${accumulate}`,
      inputs: ['pmat', 'qmat'],
      outputShape: into ? into.tensor.shape : [I, J],
      dispatch: [Math.ceil(blocks / TN_THREADS), 1, 1],
      workgroupSize: [TN_THREADS, 1, 1],
      uniforms: TN_UNIFORMS,
      code: simpleMatmulTNWgsl(accumulate),
      components: [4, 4],
    },
    [p, q],
    'float32',
    [i32(M), i32(I), i32(J), f32(scale), i32(qWidth / 4), i32(groups?.[0] ?? I), i32(groups?.[1] ?? I), i32(into?.offset ?? 0)],
    into?.tensor,
  ) as tf.Tensor2D;
}

/** x·Wop (Wop = wᵀ when wRowsAreN): the simple kernel when the flavour and shapes allow, else tf.matMul. */
export function denseMatmul(x: tf.Tensor2D, w: tf.Tensor2D, wRowsAreN: boolean): tf.Tensor2D {
  const Ncols = wRowsAreN ? w.shape[0] : w.shape[1];
  if (kernelFlavor() === 'simple' && simpleMatmulFits(x.shape[1], Ncols, wRowsAreN)) return simpleMatmul({ x, w, wRowsAreN });
  return tf.matMul(x, w, false, wRowsAreN) as tf.Tensor2D;
}

/** scale·pᵀ·q, likewise. */
export function denseMatmulTN(p: tf.Tensor2D, q: tf.Tensor2D, scale = 1): tf.Tensor2D {
  if (kernelFlavor() === 'simple' && mult4(p.shape[1], q.shape[1])) return simpleMatmulTN(p, q, scale);
  return tf.tidy(() => {
    const out = tf.matMul(p, q, true, false) as tf.Tensor2D;
    return scale === 1 ? out : (tf.mul(out, scale) as tf.Tensor2D);
  });
}

