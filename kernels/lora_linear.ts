/**
 * fusedLoraLinear: y = x·Wᵀ + bias + s·(x·Aᵀ)·Bᵀ as a tfjs op with a custom
 * gradient, built on lora_linear.wgsl.ts.
 *
 *   x (N, in)   w (out, in) frozen   bias (out) | null   a (r, in)   b (out, r)
 *
 * forward:  xa = x·Aᵀ (N, r) [small matmul], then one full-size pass
 *           y = x·Wᵀ + bias + s·xa·Bᵀ
 * backward: dyb = dy·B (N, r) [small], then one tiled pass
 *           dx = dy·W + s·dyb·A;  dA = s·dybᵀ·x (r, in);  dB = s·dyᵀ·xa (out, r)
 *           (rank-r products via denseMatmul(TN): our simple kernels on the
 *           'simple' flavour, tf.matMul otherwise; no dW, no merged W + s·B·A).
 * The full-size pass is lora_linear.wgsl.ts ('tiled') or matmul_simple.wgsl.ts ('simple').
 * Saved for backward: x, xa (N, r); w, a, b are closed over.
 */
import * as tf from '@tensorflow/tfjs';
import { LORA_MATMUL_UNIFORMS, loraMatmulWgsl, LM_THREADS, LM_TILE } from './lora_linear.wgsl';
import { checkRowScale, denseMatmul, denseMatmulTN, simpleMatmul, simpleMatmulFits, weightBinding, type SimpleMatmulArgs } from './matmul_simple';
import { assertFloat32, f32, i32, kernelFlavor, runKernel } from './program';

/**
 * out (M, Ncols) = x·Wop + bias + scale·rowScale·u·Vopᵀ (+ residual) in one pass
 * (rowScale (M) optional, per row; 1 without it): the
 * simple kernel on the 'simple' flavour when the shapes allow, else the tiled
 * one. Arguments as simpleMatmul's (offsets into flat buffers, groups).
 */
export function loraMatmul(args: SimpleMatmulArgs): tf.Tensor2D {
  const { x, wRowsAreN, u = null, vmat = null, vRowsAreN = true, scale = 1, bias = null, residual = null, groups = null, rowScale = null } = args;
  const wb = weightBinding(args.w, 'loraMatmul');
  assertFloat32('loraMatmul', x, wb.halves || wb.quant ? null : wb.tensor, u, vmat, bias, residual, rowScale);
  const [M, K] = x.shape;
  const flatW = args.ncols !== undefined;
  const w = { shape: wb.shape };
  const Ncols = (flatW ? args.ncols : wRowsAreN ? w.shape[0] : w.shape[1]) as number;
  const R = u ? args.rank ?? u.shape[1] : 0;
  if (kernelFlavor() === 'simple' && simpleMatmulFits(K, Ncols, wRowsAreN, R, vRowsAreN)) return simpleMatmul(args);
  const wK = flatW ? K : wRowsAreN ? w.shape[1] : w.shape[0];
  if (wK !== K || (u && u.shape[0] !== M) || (!!u !== !!vmat)) throw new Error(`loraMatmul: x ${x.shape} w ${w.shape} u ${u?.shape} v ${vmat?.shape} do not agree`);
  if (u && vmat && args.vOffset === undefined && vmat.rank === 2) {
    const [vN, vR] = vRowsAreN ? vmat.shape : [vmat.shape[1], vmat.shape[0]];
    if (vN !== Ncols || vR !== R) throw new Error(`loraMatmul: u ${u.shape} v ${vmat.shape} do not agree`);
  }
  if (bias && bias.shape[0] !== Ncols) throw new Error(`loraMatmul: bias ${bias.shape} for ${Ncols} columns`);
  if (residual && (residual.shape[0] !== M || residual.shape[1] !== Ncols)) throw new Error(`loraMatmul: residual ${residual.shape} for ${M}×${Ncols}`);
  checkRowScale('loraMatmul', rowScale, M, R);
  const rowScaled = !!rowScale;
  const names = ['x', 'w', ...(R ? ['u', 'vmat'] : []), ...(bias ? ['bias'] : []), ...(residual ? ['residual'] : []), ...(rowScaled ? ['rowScale'] : [])];
  const tensors = [x, wb.tensor, ...(R ? [u!, vmat!] : []), ...(bias ? [bias] : []), ...(residual ? [residual] : []), ...(rowScaled ? [rowScale!] : [])];
  const grouped = !!groups;
  return runKernel(
    {
      key: `lora_matmul_w${wRowsAreN}_v${vRowsAreN}_b${!!bias}_r${!!residual}_g${grouped}_R${R}_h${wb.halves}_q${wb.quant}_s${rowScaled}`,
      inputs: names,
      outputShape: [M, Ncols],
      dispatch: [Math.ceil(Ncols / LM_TILE), Math.ceil(M / LM_TILE), 1],
      workgroupSize: [LM_THREADS, 1, 1],
      uniforms: LORA_MATMUL_UNIFORMS,
      code: loraMatmulWgsl({ wRowsAreN, vRowsAreN, hasBias: !!bias, R, hasResidual: !!residual, grouped, wHalves: wb.halves, wQuant: wb.quant, rowScaled }),
    },
    tensors,
    'float32',
    [i32(M), i32(K), i32(Ncols), f32(scale), i32(args.wOffset ?? 0), i32(args.vOffset ?? 0), i32(u ? u.shape[1] : 0), i32(groups?.[0] ?? Ncols), i32(groups?.[1] ?? Ncols)],
  ) as tf.Tensor2D;
}

/** One adapter pair of a linear layer: y += scale·(x·Aᵀ)·Bᵀ. */
export interface LoraWeights {
  a: tf.Tensor2D; // (r, in)
  b: tf.Tensor2D; // (out, r)
  scale: number;
}

/** One linear layer with its optional adapter (the per-op kernel below; src/engine/ops/linear.ts has its reference). */
export interface LinearArgs {
  x: tf.Tensor2D;
  w: tf.Tensor2D;
  bias?: tf.Tensor1D | null;
  lora?: LoraWeights | null;
}

export function fusedLoraLinear({ x, w, bias, lora }: LinearArgs): tf.Tensor2D {
  if (!lora) throw new Error('fusedLoraLinear needs a LoRA adapter');
  const { scale } = lora;
  const inDim = x.shape[1];
  const [outDim, wIn] = w.shape;
  const r = lora.a.shape[0];
  if (wIn !== inDim || lora.a.shape[1] !== inDim || lora.b.shape[0] !== outDim || lora.b.shape[1] !== r) {
    throw new Error(`linear: x ${x.shape} w ${w.shape} a ${lora.a.shape} b ${lora.b.shape} do not agree`);
  }
  const op = tf.customGrad((xx, aa, bb, save) => {
    const xt = xx as tf.Tensor2D;
    const a = aa as tf.Tensor2D;
    const b = bb as tf.Tensor2D;
    const xa = denseMatmul(xt, a, true); // (N, r)
    const y = loraMatmul({ x: xt, w, wRowsAreN: true, u: xa, vmat: b, vRowsAreN: true, scale, bias });
    (save as tf.GradSaveFunc)([xt, xa, a, b]);
    return {
      value: y,
      gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const dy = dyIn as tf.Tensor2D; // (N, out)
        const [sx, sxa, sa, sb] = saved as tf.Tensor2D[];
        const dyb = denseMatmul(dy, sb, false); // (N, r)
        const dx = loraMatmul({ x: dy, w, wRowsAreN: false, u: dyb, vmat: sa, vRowsAreN: false, scale });
        const dA = denseMatmulTN(dyb, sx, scale); // (r, in)
        const dB = denseMatmulTN(dy, sxa, scale); // (out, r)
        return [dx, dA, dB];
      },
    };
  });
  return op(x, lora.a, lora.b) as tf.Tensor2D;
}
