/**
 * Fused LoRA linear (kernels/lora_linear*.ts) against linearReference:
 * forward, and dx/dA/dB against tfjs autograd, on awkward shapes; finite
 * differences on a tiny case. Both kernel flavours ('tiled' and the
 * barrier-free 'simple', see kernels/program.ts); shapes with dims that are
 * not multiples of 4 fall back to tiled under 'simple', so cases mix both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../../src/engine/gpu/device';
import { linearReference, type LinearArgs } from '../../../src/engine/ops/linear';
import { fusedLoraLinear } from '../../../kernels/lora_linear';
import { setKernelFlavor, type KernelFlavor } from '../../../kernels/program';
import { finiteDiff, maxDiff, randn } from './helpers';

const cases = [
  { name: '1 token, 8->8, r=1', N: 1, inDim: 8, outDim: 8, r: 1, bias: false },
  { name: '37 tokens, 50->70, r=4, bias', N: 37, inDim: 50, outDim: 70, r: 4, bias: true },
  { name: '64 tokens, 64->96, r=8', N: 64, inDim: 64, outDim: 96, r: 8, bias: false },
  { name: '100 tokens, 576->129, r=16, bias', N: 100, inDim: 576, outDim: 129, r: 16, bias: true },
  { name: '37 tokens, 64->172, r=8, bias', N: 37, inDim: 64, outDim: 172, r: 8, bias: true },
  { name: '130 tokens, 172->64, r=4', N: 130, inDim: 172, outDim: 64, r: 4, bias: false },
];

for (const flavor of ['tiled', 'simple'] as KernelFlavor[])
describe(`fused LoRA linear (${flavor})`, () => {
  beforeAll(async () => {
    await initGpu();
    setKernelFlavor(flavor);
  });
  afterAll(() => setKernelFlavor(null));

  for (const c of cases) {
    it(`${c.name}: forward and gradients match the reference`, async () => {
      const x = randn([c.N, c.inDim], 1) as tf.Tensor2D;
      const w = randn([c.outDim, c.inDim], 2, 0.1) as tf.Tensor2D;
      const a = randn([c.r, c.inDim], 3, 0.1) as tf.Tensor2D;
      const b = randn([c.outDim, c.r], 4, 0.1) as tf.Tensor2D;
      const bias = c.bias ? (randn([c.outDim], 5) as tf.Tensor1D) : null;
      const g = randn([c.N, c.outDim], 6);
      const scale = 2 / c.r;
      const run = (f: (a: LinearArgs) => tf.Tensor2D) => (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor) =>
        f({ x: xx as tf.Tensor2D, w, bias, lora: { a: aa as tf.Tensor2D, b: bb as tf.Tensor2D, scale } });
      const fwd = await maxDiff(run(fusedLoraLinear)(x, a, b), run(linearReference)(x, a, b));
      const loss = (f: (a: LinearArgs) => tf.Tensor2D) => (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor) =>
        run(f)(xx, aa, bb).mul(g).sum();
      const gRef = tf.grads(loss(linearReference))([x, a, b]);
      const gOurs = tf.grads(loss(fusedLoraLinear))([x, a, b]);
      const diffs = await Promise.all(gOurs.map((t, i) => maxDiff(t, gRef[i])));
      console.log(
        `lora_linear ${flavor} ${c.name}: fwd max|Δ| ${fwd.abs.toExponential(2)} (rel ${fwd.rel.toExponential(1)}); ` +
          ['dx', 'dA', 'dB'].map((n, i) => `${n} ${diffs[i].abs.toExponential(2)} (rel ${diffs[i].rel.toExponential(1)})`).join(', '),
      );
      expect(fwd.rel).toBeLessThan(1e-5);
      for (const d of diffs) expect(d.rel).toBeLessThan(1e-5);
    });
  }

  it('finite differences agree with the fused gradients (tiny case)', async () => {
    const w = randn([5, 6], 21, 0.5) as tf.Tensor2D;
    const bias = randn([5], 22) as tf.Tensor1D;
    const inputs = [randn([3, 6], 23), randn([2, 6], 24, 0.5), randn([5, 2], 25, 0.5)];
    const g = randn([3, 5], 26);
    const f = (xs: tf.Tensor[]) =>
      fusedLoraLinear({ x: xs[0] as tf.Tensor2D, w, bias, lora: { a: xs[1] as tf.Tensor2D, b: xs[2] as tf.Tensor2D, scale: 1.5 } });
    const grads = tf.grads((x: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => f([x, a, b]).mul(g).sum())(inputs);
    let worst = 0;
    for (let which = 0; which < 3; which++) {
      const n = inputs[which].size;
      const pairs = await finiteDiff(f, inputs, g, which, grads[which], [0, 3, n - 1], 1e-2);
      for (const [num, ana] of pairs) worst = Math.max(worst, Math.abs(num - ana) / Math.max(1e-2, Math.abs(num), Math.abs(ana)));
    }
    console.log(`lora_linear ${flavor} finite differences: worst relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-2);
  });
});
