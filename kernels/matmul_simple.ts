/**
 * The 'simple' (barrier-free) matmuls and the dispatch between them and the
 * tiled ones: simpleMatmul (matmul_simple.wgsl.ts), simpleMatmulTN
 * (matmul_tn_simple.wgsl.ts), and denseMatmul / denseMatmulTN, which the
 * engine's fused paths call and which use the simple kernels when the flavour
 * is 'simple' and the shapes allow vec4 reads, tf.matMul otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { simpleMatmulWgsl, SMM_THREADS } from './matmul_simple.wgsl';
import { simpleMatmulTNWgsl, TN_THREADS } from './matmul_tn_simple.wgsl';
import { assertFloat32, f32, i32, kernelFlavor, runKernel } from './program';

export interface SimpleMatmulArgs {
  x: tf.Tensor2D; // (M, K)
  w: tf.Tensor2D; // (Ncols, K) if wRowsAreN else (K, Ncols)
  wRowsAreN: boolean;
  /** optional low-rank term scale·u·Vop: u (M, R), vmat (Ncols, R) if vRowsAreN else (R, Ncols) */
  u?: tf.Tensor2D | null;
  vmat?: tf.Tensor2D | null;
  vRowsAreN?: boolean;
  scale?: number;
  bias?: tf.Tensor1D | null;
}

const mult4 = (...ns: number[]) => ns.every((n) => n % 4 === 0);

/** Whether simpleMatmul can take these shapes (vec4 reads along k, r, and along n where n is innermost). */
export function simpleMatmulFits(K: number, Ncols: number, wRowsAreN: boolean, R = 0, vRowsAreN = true): boolean {
  return mult4(K, R) && (wRowsAreN || mult4(Ncols)) && (R === 0 || vRowsAreN || mult4(Ncols));
}

export function simpleMatmul({ x, w, wRowsAreN, u = null, vmat = null, vRowsAreN = true, scale = 1, bias = null }: SimpleMatmulArgs): tf.Tensor2D {
  assertFloat32('simpleMatmul', x, w, u, vmat, bias);
  const [M, K] = x.shape;
  const Ncols = wRowsAreN ? w.shape[0] : w.shape[1];
  const wK = wRowsAreN ? w.shape[1] : w.shape[0];
  const R = u ? u.shape[1] : 0;
  if (wK !== K) throw new Error(`simpleMatmul: x ${x.shape} and w ${w.shape} do not agree`);
  if (u && vmat) {
    const [vN, vR] = vRowsAreN ? vmat.shape : [vmat.shape[1], vmat.shape[0]];
    if (u.shape[0] !== M || vN !== Ncols || vR !== R) throw new Error(`simpleMatmul: u ${u.shape} v ${vmat.shape} for ${M}×${Ncols}`);
  } else if (u || vmat) throw new Error('simpleMatmul: u and vmat go together');
  if (bias && bias.shape[0] !== Ncols) throw new Error(`simpleMatmul: bias ${bias.shape} for ${Ncols} columns`);
  if (!simpleMatmulFits(K, Ncols, wRowsAreN, R, vRowsAreN)) throw new Error(`simpleMatmul: K ${K}, R ${R}, Ncols ${Ncols} need to be multiples of 4`);
  const blocks = Math.ceil(M / 4) * Math.ceil(Ncols / 4);
  const names = ['x', 'w', ...(R ? ['u', 'vmat'] : []), ...(bias ? ['bias'] : [])];
  const tensors = [x, w, ...(R ? [u!, vmat!] : []), ...(bias ? [bias] : [])];
  return runKernel(
    {
      key: `matmul_simple_w${wRowsAreN}_v${vRowsAreN}_b${!!bias}_R${R}`,
      inputs: names,
      outputShape: [M, Ncols],
      dispatch: [Math.ceil(blocks / SMM_THREADS), 1, 1],
      workgroupSize: [SMM_THREADS, 1, 1],
      uniforms: 'M : i32, K : i32, Ncols : i32, scale : f32,',
      code: simpleMatmulWgsl({ wRowsAreN, vRowsAreN, hasBias: !!bias, R }),
      components: names.map((n) => (n === 'bias' ? 1 : 4)),
    },
    tensors,
    'float32',
    [i32(M), i32(K), i32(Ncols), f32(scale)],
  ) as tf.Tensor2D;
}

/** scale · pᵀ·q: p (M, I), q (M, J) -> (I, J); I and J multiples of 4. */
export function simpleMatmulTN(p: tf.Tensor2D, q: tf.Tensor2D, scale = 1): tf.Tensor2D {
  assertFloat32('simpleMatmulTN', p, q);
  const [M, I] = p.shape;
  const [M2, J] = q.shape;
  if (M !== M2 || !mult4(I, J)) throw new Error(`simpleMatmulTN: p ${p.shape}, q ${q.shape} (rows must agree, columns multiples of 4)`);
  const blocks = (I / 4) * (J / 4);
  return runKernel(
    {
      key: 'matmul_tn_simple',
      inputs: ['pmat', 'qmat'],
      outputShape: [I, J],
      dispatch: [Math.ceil(blocks / TN_THREADS), 1, 1],
      workgroupSize: [TN_THREADS, 1, 1],
      uniforms: 'M : i32, I : i32, J : i32, scale : f32,',
      code: simpleMatmulTNWgsl(),
      components: [4, 4],
    },
    [p, q],
    'float32',
    [i32(M), i32(I), i32(J), f32(scale)],
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

/**
 * y = x·wᵀ + bias for a frozen w (out, in) on the simple kernel, with its
 * gradient for x only (dx = dy·w, also simple): the no-adapter linear layer.
 */
export function simpleLinear(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D {
  const op = tf.customGrad((xx, save) => {
    (save as tf.GradSaveFunc)([]);
    return {
      value: simpleMatmul({ x: xx as tf.Tensor2D, w, wRowsAreN: true, bias }),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [simpleMatmul({ x: dy as tf.Tensor2D, w, wRowsAreN: false })],
    };
  });
  return op(x) as tf.Tensor2D;
}

/** Whether simpleLinear takes w (out, in): in and out multiples of 4. */
export const simpleLinearFits = (w: tf.Tensor2D) => mult4(w.shape[0], w.shape[1]);
