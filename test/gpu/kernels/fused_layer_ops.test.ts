/**
 * The kernels of the fused layer path, each against composed tfjs ops (and
 * tfjs autograd for the backward ones), on awkward shapes, both flavours:
 *   loraMatmul      x·Wᵀ + bias + s·blockdiag(u, B) + residual, W f32 or packed bf16, A/B at offsets in a flat buffer, M = 1, 3, 37
 *   loraDyB         dy·B per stacked member (1 to 3 members)
 *   simpleMatmulTN  s·pᵀ·q into a flat buffer at an offset, grouped columns, accumulate
 *   ropeHeads       RoPE + rows → heads (q, k, v), the cache write, and the backward (vs autograd of the reference)
 *   swiglu          silu(g)·u and its backward (vs autograd)
 *   headsToRows     and rowsToHeads
 *   gatherRows      rows of a packed matrix split into blocks
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../../src/engine/gpu/device';
import { toBf16Bits, uploadFrozen, frozenF32 } from '../../../src/engine/frozen';
import { ropeHeadsReference } from '../../../src/engine/ops/rope';
import { swigluReference } from '../../../src/engine/ops/swiglu';
import { loraMatmul } from '../../../kernels/lora_linear';
import { loraDyB } from '../../../kernels/lora_dy_b';
import { simpleMatmulTN } from '../../../kernels/matmul_simple';
import { ropeHeads, ropeHeadsBackward, ropeIntoCache } from '../../../kernels/rope_heads';
import { swiglu, swigluBackward } from '../../../kernels/swiglu';
import { headsToRows, rowsToHeads } from '../../../kernels/heads_rows';
import { gatherRows } from '../../../kernels/gather_rows';
import { setKernelFlavor, type KernelFlavor } from '../../../kernels/program';
import { maxDiff, randn } from './helpers';

beforeAll(async () => {
  await initGpu();
});
afterAll(() => setKernelFlavor(null));

const close = async (name: string, a: tf.Tensor, b: tf.Tensor, tol = 1e-5) => {
  const d = await maxDiff(a, b);
  console.log(`${name}: max |diff| ${d.abs.toExponential(2)} (rel ${d.rel.toExponential(2)})`);
  expect(d.rel).toBeLessThanOrEqual(tol);
};

for (const flavor of ['simple', 'tiled'] as KernelFlavor[])
  describe(`fused layer kernels (${flavor})`, () => {
    beforeAll(() => setKernelFlavor(flavor));

    for (const [M, packed] of [[1, false], [3, true], [37, false], [37, true]] as const) {
      it(`loraMatmul M=${M} ${packed ? 'bf16-packed' : 'f32'} W, three groups, bias, residual, A/B at offsets`, async () => {
        const K = 24;
        const outs = [16, 8, 8];
        const N = 32;
        const r = 4;
        const x = randn([M, K], 1) as tf.Tensor2D;
        const w = randn([N, K], 2, 0.3) as tf.Tensor2D;
        const host = { shape: [N, K], data: (await w.data()) as Float32Array };
        const wq = packed ? uploadFrozen({ ...host, half: { format: 'bf16', bits: toBf16Bits(host.data) } }) : w;
        const wRef = frozenF32(wq);
        const bias = randn([N], 3) as tf.Tensor1D;
        const residual = randn([M, N], 4) as tf.Tensor2D;
        const u = randn([M, 3 * r], 5) as tf.Tensor2D;
        const bOff = 20; // B_stacked (N, r) sits 20 floats into P
        const P = randn([bOff + N * r + 12], 6) as tf.Tensor1D;
        const ours = loraMatmul({ x, w: wq, wRowsAreN: true, bias, residual, u, vmat: P, vOffset: bOff, vRowsAreN: true, rank: r, groups: [16, 24], scale: 1.5 });
        const ref = tf.tidy(() => {
          const B = P.slice(bOff, N * r).reshape([N, r]);
          let col = 0;
          const low = outs.map((o, g) => {
            const part = tf.matMul(u.slice([0, g * r], [M, r]), B.slice([col, 0], [o, r]), false, true);
            col += o;
            return part;
          });
          return residual.add(tf.matMul(x, wRef, false, true)).add(bias).add(tf.concat(low, 1).mul(1.5));
        });
        await close(`${flavor} loraMatmul M=${M}`, ours, ref);
        // dx form: W read transposed, A (3r, K) stacked k-major at an offset
        const aOff = 8;
        const PA = randn([aOff + 3 * r * K], 7) as tf.Tensor1D;
        const dy = randn([M, N], 8) as tf.Tensor2D;
        const dyb = randn([M, 3 * r], 9) as tf.Tensor2D;
        const dx = loraMatmul({ x: dy, w: wq, wRowsAreN: false, u: dyb, vmat: PA, vOffset: aOff, vRowsAreN: false, rank: 3 * r, scale: 0.5 });
        const dxRef = tf.tidy(() => tf.matMul(dy, wRef).add(tf.matMul(dyb, PA.slice(aOff, 3 * r * K).reshape([3 * r, K])).mul(0.5)));
        await close(`${flavor} loraMatmul dx M=${M}`, dx, dxRef);
      });
    }

    it('loraDyB: dy·B per member, 1 to 3 members', async () => {
      for (const outs of [[12], [16, 8], [16, 8, 8]]) {
        const M = 37;
        const r = 8;
        const N = outs.reduce((a, b) => a + b, 0);
        const dy = randn([M, N], 10) as tf.Tensor2D;
        const P = randn([4 + N * r], 11) as tf.Tensor1D;
        const ours = loraDyB(dy, P, 4, r, outs);
        const ref = tf.tidy(() => {
          const B = P.slice(4, N * r).reshape([N, r]);
          let col = 0;
          return tf.concat(outs.map((o) => { const p = tf.matMul(dy.slice([0, col], [M, o]), B.slice([col, 0], [o, r])); col += o; return p; }), 1);
        });
        await close(`${flavor} loraDyB ${outs}`, ours, ref);
      }
    });

    it('simpleMatmulTN into a flat buffer: grouped q columns, offset, accumulate', async () => {
      const M = 29;
      const outs = [16, 8, 8];
      const I = 32;
      const r = 4;
      const p = randn([M, I], 12) as tf.Tensor2D;
      const q = randn([M, 3 * r], 13) as tf.Tensor2D;
      const G = tf.fill([100 + I * r], 7);
      simpleMatmulTN(p, q, 2, { J: r, groups: [16, 24], into: { tensor: G, offset: 100, accumulate: false } });
      simpleMatmulTN(p, q, 2, { J: r, groups: [16, 24], into: { tensor: G, offset: 100, accumulate: true } });
      const ref = tf.tidy(() => {
        let row = 0;
        const blocks = outs.map((o, g) => { const b = tf.matMul(p.slice([0, row], [M, o]), q.slice([0, g * r], [M, r]), true, false); row += o; return b; });
        return tf.concat([tf.fill([100], 7), tf.concat(blocks, 0).mul(4).reshape([-1])]);
      });
      await close(`${flavor} TN grouped accumulate`, G, ref);
    });

    it('ropeHeads (q, k, v), the in-place cache write, and its backward vs autograd of the reference', async () => {
      const d = { B: 2, T: 5, H: 6, Hkv: 2, D: 8 };
      const W = (d.H + 2 * d.Hkv) * d.D;
      const qkv = randn([d.B * d.T, W], 14) as tf.Tensor2D;
      const positions = tf.tensor1d([3, 4, 5, 6, 7, 0, 1, 2, 3, 4], 'int32');
      const cos = tf.tidy(() => tf.cos(tf.range(0, 16 * 4).reshape([16, 4]).mul(0.1))) as tf.Tensor2D;
      const sin = tf.tidy(() => tf.sin(tf.range(0, 16 * 4).reshape([16, 4]).mul(0.1))) as tf.Tensor2D;
      const args = { qkv, positions, cos, sin, dims: d };
      for (const part of ['q', 'k', 'v'] as const) await close(`${flavor} ropeHeads ${part}`, ropeHeads(qkv, positions, cos, sin, d, part), ropeHeadsReference(args, part), 1e-6);
      const cache = tf.zeros([d.B, d.Hkv, 12, d.D]) as tf.Tensor4D;
      ropeIntoCache(qkv, positions, cos, sin, d, 'k', cache, 3);
      const k = ropeHeadsReference(args, 'k');
      const expected = tf.tidy(() => tf.concat([tf.zeros([d.B, d.Hkv, 3, d.D]), k, tf.zeros([d.B, d.Hkv, 4, d.D])], 2));
      await close(`${flavor} ropeIntoCache`, cache, expected, 1e-6);
      const [gq, gk, gv] = [randn([d.B, d.H, d.T, d.D], 15), randn([d.B, d.Hkv, d.T, d.D], 16), randn([d.B, d.Hkv, d.T, d.D], 17)] as tf.Tensor4D[];
      const auto = tf.grad((x: tf.Tensor) => {
        const a = { ...args, qkv: x as tf.Tensor2D };
        return ropeHeadsReference(a, 'q').mul(gq).sum().add(ropeHeadsReference(a, 'k').mul(gk).sum()).add(ropeHeadsReference(a, 'v').mul(gv).sum());
      })(qkv);
      await close(`${flavor} ropeHeadsBackward`, ropeHeadsBackward(gq, gk, gv, positions, cos, sin, d), auto, 1e-6);
    });

    it('swiglu and its backward vs autograd; headsToRows / rowsToHeads', async () => {
      const gu = randn([13, 2 * 12], 18) as tf.Tensor2D;
      const dact = randn([13, 12], 19) as tf.Tensor2D;
      await close(`${flavor} swiglu`, swiglu(gu), swigluReference(gu), 1e-6);
      const auto = tf.grad((x: tf.Tensor) => swigluReference(x as tf.Tensor2D).mul(dact).sum())(gu);
      await close(`${flavor} swigluBackward`, swigluBackward(gu, dact), auto, 1e-5);
      const heads = randn([2, 3, 5, 8], 20) as tf.Tensor4D;
      const rows = headsToRows(heads, 2, 3, 5, 8);
      await close(`${flavor} headsToRows`, rows, tf.tidy(() => heads.transpose([0, 2, 1, 3]).reshape([10, 24])), 0);
      await close(`${flavor} rowsToHeads`, rowsToHeads(rows, 2, 3, 5, 8), heads, 0);
    });

    it('gatherRows from a bf16 matrix split into 3 blocks', async () => {
      const V = 50;
      const dm = 12;
      const data = (await randn([V, dm], 21).data()) as Float32Array;
      const w = uploadFrozen({ shape: [V, dm], data, half: { format: 'bf16', bits: toBf16Bits(data) } }, { blockBytes: 20 * dm * 2 });
      const ids = tf.tensor1d([0, 49, 19, 20, 39, 40, 7, 7], 'int32');
      await close(`${flavor} gatherRows`, gatherRows(w as never, ids), tf.gather(frozenF32(w), ids), 0);
    });
  });
