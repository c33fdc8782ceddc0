/**
 * The decode kernel (kernels/attention_decode*.ts) against the composed tfjs
 * reference: KV caches whose capacity exceeds the filled length, GQA ratios,
 * head dims, B = 2, T = 1..4; keys past the filled length must not be read
 * (they are poisoned with NaN here); the logsumexp it writes for backward;
 * and gradients through fusedAttention when it routes to this kernel.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../../src/engine/gpu/device';
import { attentionReference } from '../../../src/engine/ops/attention';
import { fusedAttention } from '../../../kernels/attention';
import { attentionDecode } from '../../../kernels/attention_decode';
import { maxDiff, randn } from './helpers';

interface Case {
  name: string;
  B: number;
  H: number;
  Hkv: number;
  T: number;
  /** cache capacity (keys in k, v) */
  S: number;
  D: number;
  /** positions filled after this step (queryOffset = filled - T); none: no query offset, filled = S */
  filled?: number;
}

const cases: Case[] = [
  { name: 'cap 64 filled 1, GQA 1, D=8', B: 2, H: 2, Hkv: 2, T: 1, S: 64, D: 8, filled: 1 },
  { name: 'cap 64 filled 17, GQA 2, D=64', B: 2, H: 4, Hkv: 2, T: 1, S: 64, D: 64, filled: 17 },
  { name: 'cap 64 filled 64, GQA 3, D=128', B: 2, H: 3, Hkv: 1, T: 1, S: 64, D: 128, filled: 64 },
  { name: 'cap 300 filled 257, GQA 7, D=8', B: 2, H: 7, Hkv: 1, T: 1, S: 300, D: 8, filled: 257 },
  { name: 'cap 300 filled 257, GQA 2, D=64', B: 2, H: 4, Hkv: 2, T: 1, S: 300, D: 64, filled: 257 },
  { name: 'cap 300 filled 200, GQA 1, D=128', B: 2, H: 2, Hkv: 2, T: 1, S: 300, D: 128, filled: 200 },
  { name: 'cap 40 filled 3, T=2, GQA 3, D=12', B: 2, H: 3, Hkv: 1, T: 2, S: 40, D: 12, filled: 3 },
  { name: 'cap 100 filled 70, T=3, GQA 2, D=48', B: 2, H: 4, Hkv: 2, T: 3, S: 100, D: 48, filled: 70 },
  { name: 'cap 128 filled 128, T=4, GQA 7, D=64', B: 2, H: 7, Hkv: 1, T: 4, S: 128, D: 64, filled: 128 },
  { name: 'no offset, T=1, S=45, GQA 3, D=64', B: 2, H: 6, Hkv: 2, T: 1, S: 45, D: 64 },
  { name: 'no offset, T=4, S=4, GQA 1, D=8', B: 2, H: 2, Hkv: 2, T: 4, S: 4, D: 8 },
];

/** k or v (B, Hkv, S, D) with rows >= filled set to NaN: any read of them shows up in the output. */
function poisoned(x: tf.Tensor4D, filled: number): tf.Tensor4D {
  return tf.tidy(() => {
    const S = x.shape[2];
    const live = tf.range(0, S, 1, 'int32').less(filled).reshape([1, 1, S, 1]);
    return tf.where(live.tile([x.shape[0], x.shape[1], 1, x.shape[3]]), x, tf.fill(x.shape, NaN)) as tf.Tensor4D;
  });
}

/** CPU logsumexp of the scaled, causally masked scores per row (B, H, T), for the L the kernel saves. */
async function referenceLse(q: tf.Tensor4D, k: tf.Tensor4D, offset: number): Promise<Float64Array> {
  const [B, H, T, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const [qd, kd] = await Promise.all([q.data(), k.data()]);
  const out = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const kvh = Math.floor(h / (H / Hkv));
        const scores: number[] = [];
        for (let j = 0; j <= Math.min(offset + t, S - 1); j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += qd[((b * H + h) * T + t) * D + d] * kd[((b * Hkv + kvh) * S + j) * D + d];
          scores.push(s / Math.sqrt(D));
        }
        const m = Math.max(...scores);
        out[(b * H + h) * T + t] = m + Math.log(scores.reduce((a, s) => a + Math.exp(s - m), 0));
      }
  return out;
}

describe('attention decode kernel', () => {
  beforeAll(async () => {
    await initGpu();
  });

  for (const c of cases) {
    it(`${c.name}: matches the reference; keys past the filled length are not read`, async () => {
      const filled = c.filled ?? c.S;
      const offset = filled - c.T;
      const q = randn([c.B, c.H, c.T, c.D], 1) as tf.Tensor4D;
      const k = randn([c.B, c.Hkv, c.S, c.D], 2) as tf.Tensor4D;
      const v = randn([c.B, c.Hkv, c.S, c.D], 3) as tf.Tensor4D;
      const kp = poisoned(k, filled);
      const vp = poisoned(v, filled);
      const queryOffset = c.filled !== undefined ? (tf.tensor1d([offset], 'int32') as tf.Tensor1D) : null;

      const ref = attentionReference({ q, k, v, queryOffset });
      const { o, packed } = attentionDecode(q, kp, vp, { qoff: queryOffset });
      const fwd = await maxDiff(o, ref);
      const n = c.B * c.H * c.T;
      const lse = (await packed.data()).slice(n * c.D);
      const lseRef = await referenceLse(q, k, offset);
      let lseDiff = 0;
      for (let i = 0; i < n; i++) lseDiff = Math.max(lseDiff, Math.abs(lse[i] - lseRef[i]) || Infinity);
      console.log(`attention_decode ${c.name}: O max|Δ| ${fwd.abs.toExponential(2)} (rel ${fwd.rel.toExponential(1)}), L max|Δ| ${lseDiff.toExponential(2)}`);
      expect(fwd.abs).toBeLessThan(2e-5);
      expect(lseDiff).toBeLessThan(2e-5);
      tf.dispose([q, k, v, kp, vp, ref, o, packed]);
      queryOffset?.dispose();
    });
  }

  it('fusedAttention routes T <= 4 to it and its gradients still match autograd of the reference', async () => {
    const [B, H, Hkv, T, S, D, offset] = [2, 4, 2, 2, 33, 64, 20];
    const q = randn([B, H, T, D], 5) as tf.Tensor4D;
    const k = randn([B, Hkv, S, D], 6) as tf.Tensor4D;
    const v = randn([B, Hkv, S, D], 7) as tf.Tensor4D;
    const w = randn([B, H, T, D], 8);
    const queryOffset = tf.tensor1d([offset], 'int32') as tf.Tensor1D;
    const loss = (f: typeof fusedAttention) => (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) =>
      f({ q: qq as tf.Tensor4D, k: kk as tf.Tensor4D, v: vv as tf.Tensor4D, queryOffset }).mul(w).sum();
    const gRef = tf.grads(loss(attentionReference))([q, k, v]);
    const gOurs = tf.grads(loss(fusedAttention))([q, k, v]);
    const diffs = await Promise.all(gOurs.map((g, i) => maxDiff(g, gRef[i])));
    console.log(`attention_decode via fusedAttention, T=2: ` + ['dQ', 'dK', 'dV'].map((nm, i) => `${nm} rel ${diffs[i].rel.toExponential(1)}`).join(', '));
    for (const d of diffs) expect(d.rel).toBeLessThan(1e-4);
    tf.dispose([q, k, v, w, queryOffset, ...gRef, ...gOurs]);
  });

  it('rejects segment ids and more than 4 query rows', () => {
    const q = tf.zeros([1, 2, 5, 8]) as tf.Tensor4D;
    const k = tf.zeros([1, 1, 5, 8]) as tf.Tensor4D;
    expect(() => attentionDecode(q, k, k)).toThrow(/at most 4/);
    const seg = tf.ones([1, 5], 'int32') as tf.Tensor2D;
    expect(() => attentionDecode(q, k, k, { seg })).toThrow(/segment ids/);
    tf.dispose([q, k, seg]);
  });
});
