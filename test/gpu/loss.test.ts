/**
 * chunkedCrossEntropy (src/engine/train/loss.ts) against crossEntropyReference
 * (full logits + logSoftmax, tfjs autograd): value and dL/dh on random shapes,
 * several chunks, large logits; finite differences on a tiny case; and
 * tf.profile's peak bytes to show no (N, V) tensor is ever alive.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { chunkedCrossEntropy, crossEntropyReference, defaultChunkRows } from '../../src/engine/train/loss';
import { finiteDiff, maxDiff, randn } from './kernels/helpers';

/** Seeded int32 targets in [0, V). */
function randTargets(n: number, vocab: number, seed: number): tf.Tensor1D {
  return tf.tidy(() => tf.randomUniform([n], 0, vocab, 'int32', seed)) as tf.Tensor1D;
}

const cases = [
  { name: 'N=1, d=8, V=11', N: 1, d: 8, V: 11, hScale: 1 },
  { name: 'N=37, d=16, V=300', N: 37, d: 16, V: 300, hScale: 1 },
  { name: 'N=37, d=16, V=300, chunkRows=5 (8 chunks, ragged last)', N: 37, d: 16, V: 300, hScale: 1, chunkRows: 5 },
  { name: 'N=24, d=32, V=5000, chunkRows=7', N: 24, d: 32, V: 5000, hScale: 1, chunkRows: 7 },
  { name: 'N=20, d=16, V=500, h×30 (large logits), chunkRows=6', N: 20, d: 16, V: 500, hScale: 30, chunkRows: 6 },
];

describe('chunked cross-entropy', () => {
  beforeAll(async () => {
    await initGpu();
  });

  for (const c of cases) {
    it(`${c.name}: value and dL/dh match the full-logits reference`, async () => {
      const h = randn([c.N, c.d], 101, c.hScale) as tf.Tensor2D;
      const w = randn([c.V, c.d], 102, 0.5) as tf.Tensor2D;
      const t = randTargets(c.N, c.V, 103);
      const ours = (x: tf.Tensor) => chunkedCrossEntropy(x as tf.Tensor2D, w, t, c.chunkRows);
      const ref = (x: tf.Tensor) => crossEntropyReference(x as tf.Tensor2D, w, t);
      const vOurs = ours(h);
      const vRef = ref(h);
      const val = await maxDiff(vOurs, vRef);
      const gOurs = tf.grad(ours)(h);
      const gRef = tf.grad(ref)(h);
      const grad = await maxDiff(gOurs, gRef);
      const [lo, lr] = [(await vOurs.data())[0], (await vRef.data())[0]];
      console.log(
        `loss ${c.name}: loss ${lo.toFixed(4)} vs ref ${lr.toFixed(4)}, |Δ| ${val.abs.toExponential(2)} (rel ${val.rel.toExponential(1)}); ` +
          `dL/dh max|Δ| ${grad.abs.toExponential(2)} (rel ${grad.rel.toExponential(1)})`,
      );
      expect(Number.isFinite(lo)).toBe(true);
      expect(val.rel).toBeLessThan(1e-5);
      expect(grad.rel).toBeLessThan(1e-4);
      tf.dispose([h, w, t, vOurs, vRef, gOurs, gRef]);
    });
  }

  it('finite differences agree with dL/dh (tiny case)', async () => {
    const w = randn([7, 4], 201) as tf.Tensor2D;
    const t = tf.tensor1d([3, 0, 6], 'int32');
    const h = randn([3, 4], 202);
    const f = (xs: tf.Tensor[]) => chunkedCrossEntropy(xs[0] as tf.Tensor2D, w, t, 2);
    const g = tf.grad((x: tf.Tensor) => f([x]))(h);
    const pairs = await finiteDiff(f, [h], tf.scalar(1), 0, g, [0, 1, 5, 6, 11], 1e-2);
    let worst = 0;
    for (const [num, ana] of pairs) worst = Math.max(worst, Math.abs(num - ana) / Math.max(1e-2, Math.abs(num), Math.abs(ana)));
    console.log(`loss finite differences: ${pairs.map(([n, a]) => `${n.toFixed(4)}/${a.toFixed(4)}`).join(' ')}; worst rel ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-2);
    tf.dispose([w, t, h, g]);
  });

  it('large logits (h×30) stay finite: loss and gradient have no NaN/Inf', async () => {
    const h = randn([9, 16], 301, 30) as tf.Tensor2D;
    const w = randn([400, 16], 302) as tf.Tensor2D; // logits ~ ±30·4·√16 = O(500)
    const t = randTargets(9, 400, 303);
    const value = chunkedCrossEntropy(h, w, t, 4);
    const g = tf.grad((x: tf.Tensor) => chunkedCrossEntropy(x as tf.Tensor2D, w, t, 4))(h);
    const gRef = tf.grad((x: tf.Tensor) => crossEntropyReference(x as tf.Tensor2D, w, t))(h);
    const vd = await value.data();
    const gd = await g.data();
    const d = await maxDiff(g, gRef);
    console.log(`loss large logits: loss ${vd[0].toExponential(3)}, dL/dh max|Δ| vs ref ${d.abs.toExponential(2)} (rel ${d.rel.toExponential(1)})`);
    expect(Number.isFinite(vd[0])).toBe(true);
    expect(gd.every(Number.isFinite)).toBe(true);
    expect(d.rel).toBeLessThan(1e-4);
    tf.dispose([h, w, t, value, g, gRef]);
  });

  it('default chunking: one chunk for small N×V, ~110 rows for Qwen2.5 V=151,936', () => {
    expect(defaultChunkRows(37, 300)).toBe(37);
    expect(defaultChunkRows(4096, 151936)).toBe(110);
    expect(defaultChunkRows(4096, 1e9)).toBe(1);
  });

  it('forward + backward with many chunks never holds anything near N×V', async () => {
    const N = 256;
    const d = 16;
    const V = 3000;
    const chunkRows = 8; // 32 chunks of 8×3000 floats = 96 KB each
    const full = N * V * 4; // 3 MB
    const h = randn([N, d], 401) as tf.Tensor2D;
    const w = randn([V, d], 402, 0.5) as tf.Tensor2D;
    const t = randTargets(N, V, 403);
    const measure = async (f: (x: tf.Tensor) => tf.Scalar) => {
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => tf.valueAndGrad(f)(h));
      const { value, grad } = info.result as unknown as { value: tf.Tensor; grad: tf.Tensor };
      const out = { peak: info.peakBytes - before, kept: info.newBytes, value, grad };
      return out;
    };
    const ours = await measure((x) => chunkedCrossEntropy(x as tf.Tensor2D, w, t, chunkRows));
    const ref = await measure((x) => crossEntropyReference(x as tf.Tensor2D, w, t));
    const gd = await maxDiff(ours.grad, ref.grad);
    const vd = await maxDiff(ours.value, ref.value);
    console.log(
      `loss memory (N=${N}, V=${V}, ${N / chunkRows} chunks): N×V×4 = ${full} B; ` +
        `chunked peak +${ours.peak} B (${(ours.peak / full).toFixed(3)}×), left ${ours.kept} B; ` +
        `reference peak +${ref.peak} B (${(ref.peak / full).toFixed(2)}×); value |Δ| ${vd.abs.toExponential(2)}, grad rel ${gd.rel.toExponential(1)}`,
    );
    expect(ours.peak).toBeLessThan(full / 4);
    expect(ref.peak).toBeGreaterThanOrEqual(full); // sanity: the reference does hold (N, V)
    expect(ours.kept).toBe(4 + N * d * 4); // the scalar loss and dL/dh only
    expect(gd.rel).toBeLessThan(1e-4);
    tf.dispose([h, w, t, ours.value, ours.grad, ref.value, ref.grad]);
  });
});
