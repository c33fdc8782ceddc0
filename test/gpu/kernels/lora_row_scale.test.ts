/**
 * The per-row scale of the LoRA term (loraMatmul's `rowScale`, both
 * flavours: lora_linear.wgsl.ts and matmul_simple.wgsl.ts) against composed
 * tfjs ops, on awkward shapes: M = 1, 2, 3, 37, 130; K and Ncols not
 * multiples of the tile (K = 50 also sends 'simple' to the tiled
 * kernel); grouped q|k|v columns with A/B at offsets in a flat buffer; bias,
 * residual, packed bf16 W. Random scales, and the exactness Compare relies
 * on: a row at scale 1 equals the unscaled kernel's row, a row at scale 0
 * the kernel without a LoRA term, bit for bit. Also the projection op
 * (projectionFused vs projectionReference) with a row scale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../../src/engine/gpu/device';
import { toBf16Bits, uploadFrozen, frozenF32 } from '../../../src/engine/frozen';
import { projectionFused, projectionReference, type LoraGroupRef } from '../../../src/engine/ops/linear';
import { loraMatmul } from '../../../kernels/lora_linear';
import { setKernelFlavor, type KernelFlavor } from '../../../kernels/program';
import { maxDiff, randn } from './helpers';

beforeAll(async () => {
  await initGpu();
});
afterAll(() => setKernelFlavor(null));

const close = async (name: string, a: tf.Tensor, b: tf.Tensor, tol = 1e-5) => {
  const d = await maxDiff(a, b);
  console.log(`lora_row_scale ${name}: max |diff| ${d.abs.toExponential(2)} (rel ${d.rel.toExponential(2)})`);
  expect(d.rel).toBeLessThanOrEqual(tol);
};

/** Scales per row: 0, 1, and random values in between and beyond. */
function scalesFor(M: number, seed: number): Float32Array {
  const s = new Float32Array(M);
  for (let m = 0; m < M; m++) s[m] = m % 3 === 0 ? 0 : m % 3 === 1 ? 1 : Math.fround(Math.sin(seed + m) * 1.5);
  return s;
}

const cases = [
  { M: 1, K: 64, N: 96, r: 8, bias: false, packed: false },
  { M: 2, K: 64, N: 172, r: 8, bias: true, packed: false },
  { M: 3, K: 24, N: 32, r: 4, bias: true, packed: true },
  { M: 37, K: 172, N: 70, r: 4, bias: true, packed: false },
  { M: 130, K: 50, N: 64, r: 16, bias: false, packed: true },
];

for (const flavor of ['tiled', 'simple'] as KernelFlavor[])
  describe(`LoRA term with a per-row scale (${flavor})`, () => {
    beforeAll(() => setKernelFlavor(flavor));

    for (const c of cases) {
      it(`M=${c.M} K=${c.K} Ncols=${c.N} r=${c.r}${c.bias ? ', bias' : ''}, residual${c.packed ? ', bf16-packed W' : ''}`, async () => {
        const { M, K, N, r } = c;
        const x = randn([M, K], 1) as tf.Tensor2D;
        const w = randn([N, K], 2, 0.3) as tf.Tensor2D;
        const host = { shape: [N, K], data: (await w.data()) as Float32Array };
        const wq = c.packed ? uploadFrozen({ ...host, half: { format: 'bf16', bits: toBf16Bits(host.data) } }) : w;
        const bias = c.bias ? (randn([N], 3) as tf.Tensor1D) : null;
        const residual = randn([M, N], 4) as tf.Tensor2D;
        const u = randn([M, r], 5) as tf.Tensor2D;
        const v = randn([N, r], 6) as tf.Tensor2D;
        const rs = scalesFor(M, c.M);
        const rowScale = tf.tensor1d(rs);
        const args = { x, w: wq, wRowsAreN: true, bias, residual, scale: 1.5 };
        const ours = loraMatmul({ ...args, u, vmat: v, vRowsAreN: true, rowScale });
        const ref = tf.tidy(() => {
          const low = tf.matMul(u, v, false, true).mul(1.5).mul(rowScale.reshape([M, 1]));
          const y = tf.matMul(x, frozenF32(wq), false, true);
          return residual.add(bias ? y.add(bias) : y).add(low);
        });
        await close(`${flavor} M=${M} K=${K} N=${N} r=${r}`, ours, ref);
        // exactness at 0 and 1: the rows of the unscaled kernel and of the kernel without a LoRA term
        const full = loraMatmul({ ...args, u, vmat: v, vRowsAreN: true });
        const none = loraMatmul(args);
        const [o, f, n] = (await Promise.all([ours.data(), full.data(), none.data()])) as Float32Array[];
        let off = 0;
        for (let m = 0; m < M; m++) {
          if (rs[m] !== 0 && rs[m] !== 1) continue;
          const want = rs[m] === 1 ? f : n;
          for (let j = 0; j < N; j++) off = Math.max(off, Math.abs(o[m * N + j] - want[m * N + j]));
        }
        console.log(`lora_row_scale ${flavor} M=${M}: rows at scale 0 and 1 vs the no-LoRA and unscaled kernels: max |diff| ${off}`);
        expect(off).toBe(0);
        tf.dispose([x, w, bias, residual, u, v, rowScale, ours, ref, full, none].filter((t) => t !== null) as tf.Tensor[]);
      });
    }

    for (const M of [2, 37])
      it(`projection q|k|v (three groups, A/B at offsets in P), M=${M}: fused equals the reference with a row scale`, async () => {
        const K = 64;
        const outs = [64, 32, 32];
        const N = 128;
        const r = 8;
        const x = randn([M, K], 11) as tf.Tensor2D;
        const w = randn([N, K], 12, 0.3) as tf.Tensor2D;
        const bias = randn([N], 13) as tf.Tensor1D;
        const P = randn([16 + 3 * r * K + N * r + 8], 14, 0.2) as tf.Tensor1D;
        const rowScale = tf.tensor1d(scalesFor(M, 5));
        const lora: LoraGroupRef = { params: P, group: { a: 16, b: 16 + 3 * r * K, in: K, outs }, rank: r, scale: 2, rowScale };
        const { y, xa } = projectionFused({ x, w, bias, lora });
        const ref = projectionReference({ x, w, bias, lora });
        await close(`${flavor} projection M=${M}`, y, ref);
        tf.dispose([x, w, bias, P, rowScale, y, xa!, ref]);
      });
  });
