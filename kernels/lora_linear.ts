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
import type { LinearArgs } from '../src/engine/ops/linear';
import { loraMatmulWgsl, LM_THREADS, LM_TILE } from './lora_linear.wgsl';
import { denseMatmul, denseMatmulTN, simpleMatmul, simpleMatmulFits } from './matmul_simple';
import { assertFloat32, f32, i32, kernelFlavor, runKernel } from './program';

interface MatmulArgs {
  x: tf.Tensor2D; // (M, K)
  w: tf.Tensor2D; // (Ncols, K) if wRowsAreN else (K, Ncols)
  wRowsAreN: boolean;
  u: tf.Tensor2D; // (M, R)
  vmat: tf.Tensor2D; // (Ncols, R) if vRowsAreN else (R, Ncols)
  vRowsAreN: boolean;
  scale: number;
  bias?: tf.Tensor1D | null;
}

/** out (M, Ncols) = x·Wop + bias + scale·u·Vopᵀ in one pass. */
export function loraMatmul({ x, w, wRowsAreN, u, vmat, vRowsAreN, scale, bias }: MatmulArgs): tf.Tensor2D {
  assertFloat32('loraMatmul', x, w, u, vmat, bias);
  const [M, K] = x.shape;
  const Ncols = wRowsAreN ? w.shape[0] : w.shape[1];
  const wK = wRowsAreN ? w.shape[1] : w.shape[0];
  const R = u.shape[1];
  const [vN, vR] = vRowsAreN ? vmat.shape : [vmat.shape[1], vmat.shape[0]];
  if (wK !== K || u.shape[0] !== M || vN !== Ncols || vR !== R) {
    throw new Error(`loraMatmul: x ${x.shape} w ${w.shape} u ${u.shape} v ${vmat.shape} do not agree`);
  }
  if (bias && bias.shape[0] !== Ncols) throw new Error(`loraMatmul: bias ${bias.shape} for ${Ncols} columns`);
  if (kernelFlavor() === 'simple' && simpleMatmulFits(K, Ncols, wRowsAreN, R, vRowsAreN)) {
    return simpleMatmul({ x, w, wRowsAreN, u, vmat, vRowsAreN, scale, bias });
  }
  const hasBias = !!bias;
  return runKernel(
    {
      key: `lora_matmul_w${wRowsAreN}_v${vRowsAreN}_b${hasBias}_R${R}`,
      inputs: hasBias ? ['x', 'w', 'u', 'vmat', 'bias'] : ['x', 'w', 'u', 'vmat'],
      outputShape: [M, Ncols],
      dispatch: [Math.ceil(Ncols / LM_TILE), Math.ceil(M / LM_TILE), 1],
      workgroupSize: [LM_THREADS, 1, 1],
      uniforms: 'M : i32, K : i32, Ncols : i32, scale : f32,',
      code: loraMatmulWgsl({ wRowsAreN, vRowsAreN, hasBias, R }),
    },
    hasBias ? [x, w, u, vmat, bias!] : [x, w, u, vmat],
    'float32',
    [i32(M), i32(K), i32(Ncols), f32(scale)],
  ) as tf.Tensor2D;
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
