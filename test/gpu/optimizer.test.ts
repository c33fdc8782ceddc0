/**
 * The fused optimizer (src/engine/train/optimizer.ts, kernels/fused_optimizer.ts)
 * against the composed tfjs reference (optimizer_reference.ts: one chain per
 * former A/B variable, the trainer's optimizer before P was flat): AdamW and
 * SGD over 5 steps with clipping active / inactive / off and weight decay on
 * and off, on a 4-layer adapter whose targets leave some linears out;
 * sum-of-squares partials on awkward sizes; save/restore in the old
 * per-variable format; and the dispatch count of one optimizer step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { getBackend, initGpu } from '../../src/engine/gpu/device';
import { LoraAdapter } from '../../src/engine/lora';
import { Optimizer, type OptimizerConfig, type OptimizerKind } from '../../src/engine/train/optimizer';
import { clipByGlobalNorm, ReferenceOptimizer } from '../../src/engine/train/optimizer_reference';
import { normFromPartials, sumSquaresPartials } from '../../kernels/sum_squares';
import { Rng } from '../../src/engine/rng';
import { tinyConfig } from '../helpers/tiny_checkpoint';
import type { LinearName } from '../../src/engine/config';

const modelConfig = tinyConfig({ layers: 4, heads: 4, kvHeads: 2, headDim: 8, hidden: 32 });
const targets: LinearName[] = ['q_proj', 'v_proj', 'o_proj', 'down_proj']; // k, gate, up stay zero in P

/** An adapter with random A and B (B ≠ 0), from a seed. */
function randomAdapter(seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const base = new LoraAdapter(modelConfig, { rank: 4, alpha: 8, dropout: 0, rslora: false, targets }, { seed });
  const tensors = new Map<string, { a: Float32Array; b: Float32Array }>();
  for (const [key, { slot }] of base.pairs) {
    const rand = (n: number) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * 0.1);
    tensors.set(key, { a: rand(4 * slot.in), b: rand(slot.out * 4) });
  }
  base.dispose();
  return new LoraAdapter(modelConfig, { rank: 4, alpha: 8, dropout: 0, rslora: false, targets }, { tensors });
}

/** A raw gradient G (n): random on the targets' segments, zero elsewhere (as autograd gives). */
function randomGrad(adapter: LoraAdapter, seed: number, scale: number): Float32Array {
  const rng = new Rng(seed);
  const g = new Float32Array(adapter.layout.size);
  for (const s of adapter.segments()) for (let i = 0; i < s.length; i++) g[s.offset + i] = (rng.next() * 2 - 1) * scale;
  return g;
}

const bySegments = (flat: Float32Array, adapter: LoraAdapter) => adapter.segments().map((s) => flat.subarray(s.offset, s.offset + s.length));

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  a.forEach((x, i) => x.forEach((v, j) => ((abs = Math.max(abs, Math.abs(v - b[i][j]))), (scale = Math.max(scale, Math.abs(b[i][j]))))));
  return { abs, scale };
}

const adamConfig = (kind: OptimizerKind, weightDecay: number): OptimizerConfig => ({ kind, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay });

beforeAll(async () => {
  await initGpu();
});

describe('sum of squares partials', () => {
  it('sum to ‖x‖² on awkward sizes (1, 63, 64, 65, 16385, 100003)', async () => {
    let worst = 0;
    for (const n of [1, 63, 64, 65, 16385, 100003]) {
      const rng = new Rng(n);
      const x = Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
      let want = 0;
      for (const v of x) want += v * v;
      const t = tf.tensor1d(x);
      const partials = sumSquaresPartials(t);
      const got = await normFromPartials(partials);
      const rel = Math.abs(got - Math.sqrt(want)) / Math.sqrt(want);
      worst = Math.max(worst, rel);
      console.log(`sum_squares n=${n}: ${partials.size} partials, ‖x‖ ${got.toFixed(6)} vs f64 ${Math.sqrt(want).toFixed(6)}, rel ${rel.toExponential(2)}`);
      t.dispose();
      partials.dispose();
    }
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('fused optimizer vs the composed reference', () => {
  const cases: { kind: OptimizerKind; clip: 'active' | 'inactive' | 'off'; wd: number }[] = [];
  for (const kind of ['adamw', 'sgd'] as const) for (const clip of ['active', 'inactive', 'off'] as const) for (const wd of [0, 0.1]) cases.push({ kind, clip, wd });

  it.each(cases)('$kind, clipping $clip, weight decay $wd: 5 steps agree to 1e-6 relative; non-targets stay 0', async ({ kind, clip, wd }) => {
    const adapter = randomAdapter(3);
    const p0 = (await adapter.params.data()) as Float32Array;
    const refVars = bySegments(p0, adapter).map((d) => tf.variable(tf.tensor1d(d)));
    const config = adamConfig(kind, wd);
    const fused = new Optimizer(adapter.params, config, adapter.segments());
    const ref = new ReferenceOptimizer(refVars, config);
    const tokens = 37;
    // a raw gradient summed over 37 tokens: mean-gradient norm ~ 0.3·sqrt(n/3)/37·… ; pick maxNorm below / far above it
    const maxGradNorm = clip === 'off' ? 0 : clip === 'active' ? 0.05 : 1e4;
    let worstAbs = 0;
    let worstRel = 0;
    let worstUpd = 0;
    let worstNorm = 0;
    for (let step = 0; step < 5; step++) {
      const lr = kind === 'sgd' ? 0.5 * (1 - 0.1 * step) : 1e-2 * (1 - 0.1 * step);
      const g = randomGrad(adapter, 100 + step, 0.3);
      const G = tf.tensor1d(g);
      const norm = await fused.step(G, { lr, gradScale: 1 / tokens, maxGradNorm });
      // reference: the trainer's former path (mean = sum / tokens, clip, apply)
      const mean = bySegments(g, adapter).map((s) => tf.tensor1d(s).div(tokens));
      const clipped = await clipByGlobalNorm(mean, maxGradNorm);
      ref.apply(clipped.grads, lr);
      clipped.grads.forEach((x) => x.dispose());
      if (clipped.grads !== mean) mean.forEach((x) => x.dispose());
      G.dispose();
      const got = (await adapter.params.data()) as Float32Array;
      const want = await Promise.all(refVars.map(async (v) => (await v.data()) as Float32Array));
      const d = maxAbsDiff(bySegments(got, adapter), want);
      const upd = maxAbsDiff(
        bySegments(got, adapter).map((x, i) => x.map((v, j) => v - bySegments(p0, adapter)[i][j])),
        want.map((x, i) => x.map((v, j) => v - bySegments(p0, adapter)[i][j])),
      );
      worstAbs = Math.max(worstAbs, d.abs);
      worstRel = Math.max(worstRel, d.abs / d.scale);
      worstUpd = Math.max(worstUpd, upd.abs / upd.scale);
      worstNorm = Math.max(worstNorm, Math.abs(norm - clipped.norm) / clipped.norm);
      if (clip === 'active') expect(clipped.norm).toBeGreaterThan(maxGradNorm);
      if (clip === 'inactive') expect(clipped.norm).toBeLessThan(maxGradNorm);
      // linears that are not targets: exactly zero
      const inTargets = new Uint8Array(got.length);
      for (const s of adapter.segments()) inTargets.fill(1, s.offset, s.offset + s.length);
      expect(got.every((v, i) => inTargets[i] || v === 0)).toBe(true);
    }
    console.log(`${kind} clip ${clip} wd ${wd}: max |P − ref| ${worstAbs.toExponential(2)}, / max|ref| ${worstRel.toExponential(2)}, of the update ${worstUpd.toExponential(2)}, norm rel ${worstNorm.toExponential(2)}`);
    expect(worstRel).toBeLessThan(1e-6);
    expect(worstUpd).toBeLessThan(1e-4);
    expect(worstNorm).toBeLessThan(1e-6);
    // saved state: the old format (one m and v per former variable) and the reference's numbers
    const [fs, rs] = [await fused.save(), await ref.save()];
    expect(fs.t).toBe(5);
    expect(fs.m.length).toBe(kind === 'adamw' ? 2 * 4 * targets.length : 0);
    expect(fs.m.map((x) => x.length)).toEqual(rs.m.map((x) => x.length));
    const dm = maxAbsDiff(fs.m, rs.m);
    const dv = maxAbsDiff(fs.v, rs.v);
    if (kind === 'adamw') {
      console.log(`  saved moments: m ${(dm.abs / dm.scale).toExponential(2)}, v ${(dv.abs / dv.scale).toExponential(2)} relative`);
      expect(dm.abs / dm.scale).toBeLessThan(1e-5);
      expect(dv.abs / dv.scale).toBeLessThan(1e-5);
    }
    fused.dispose();
    ref.dispose();
    refVars.forEach((v) => v.dispose());
    adapter.dispose();
  });

  it('restoring saved state continues exactly as the uninterrupted optimizer', async () => {
    const run = async (split: boolean) => {
      const adapter = randomAdapter(5);
      let opt = new Optimizer(adapter.params, adamConfig('adamw', 0.01), adapter.segments());
      for (let step = 0; step < 4; step++) {
        if (split && step === 2) {
          const s = structuredClone(await opt.save());
          opt.dispose();
          opt = new Optimizer(adapter.params, adamConfig('adamw', 0.01), adapter.segments());
          opt.restore(s);
        }
        const G = tf.tensor1d(randomGrad(adapter, 7 + step, 0.3));
        await opt.step(G, { lr: 1e-2, gradScale: 1 / 11, maxGradNorm: 0.1 });
        G.dispose();
      }
      const out = (await adapter.params.data()) as Float32Array;
      opt.dispose();
      adapter.dispose();
      return out;
    };
    const [a, b] = [await run(false), await run(true)];
    expect(a.every((v, i) => v === b[i])).toBe(true);
  });
});

describe('in-place updates', () => {
  it('return new values after a value was read back, and leave a tensor that shares P\'s buffer alone', async () => {
    const adapter = randomAdapter(9);
    const opt = new Optimizer(adapter.params, adamConfig('sgd', 0), adapter.segments());
    const G = tf.tensor1d(randomGrad(adapter, 4, 0.3));
    const g = (await G.data()) as Float32Array;
    const sgdStep = async () => {
      const before = ((await adapter.params.data()) as Float32Array).slice(); // tfjs caches P's values on the CPU
      await opt.step(G, { lr: 1, gradScale: 1, maxGradNorm: 0 });
      const after = (await adapter.params.data()) as Float32Array;
      expect(after.every((v, i) => v === Math.fround(before[i] - g[i]))).toBe(true);
      return before;
    };
    await sgdStep(); // P's values go up from the CPU
    await sgdStep(); // in place into P's buffer, after its values were read back (and cached by tfjs)
    const shared = adapter.params.clone(); // tfjs's clone shares the buffer: the step gives P a copy first
    const before = await sgdStep();
    expect(await shared.data()).toEqual(before);
    tf.dispose([G, shared]);
    opt.dispose();
    adapter.dispose();
  });
});

describe('dispatches per optimizer step', () => {
  it('one step for the whole 4-layer adapter is at most 4 dispatches (AdamW 3, SGD 2)', async () => {
    const backend = getBackend();
    const original = backend.runWebGPUProgram;
    let count = 0;
    backend.runWebGPUProgram = function (this: typeof backend, ...args: Parameters<typeof original>) {
      count += 1;
      return original.apply(this, args);
    };
    const counts: Record<string, number> = {};
    try {
      for (const kind of ['adamw', 'sgd'] as const) {
        const adapter = randomAdapter(1);
        const G = tf.tensor1d(randomGrad(adapter, 2, 0.3));
        const opt = new Optimizer(adapter.params, adamConfig(kind, 0.01), adapter.segments());
        await opt.step(G, { lr: 1e-2, gradScale: 1 / 10, maxGradNorm: 1 }); // uploads and compiles
        count = 0;
        await opt.step(G, { lr: 1e-2, gradScale: 1 / 10, maxGradNorm: 1 });
        counts[kind] = count;
        // the reference path for comparison: divide, clip, per-variable chains
        const vars = adapter.segments().map((s) => tf.variable(tf.zeros([s.length])));
        const ref = new ReferenceOptimizer(vars, adamConfig(kind, 0.01));
        count = 0;
        const mean = vars.map((v) => tf.onesLike(v).div(10));
        const clipped = await clipByGlobalNorm(mean, 1);
        ref.apply(clipped.grads, 1e-2);
        counts[`${kind} reference`] = count;
        [...mean, ...clipped.grads].forEach((x) => x.dispose());
        ref.dispose();
        vars.forEach((v) => v.dispose());
        opt.dispose();
        G.dispose();
        adapter.dispose();
      }
    } finally {
      backend.runWebGPUProgram = original;
    }
    console.log(`dispatches per optimizer step (4 layers, ${targets.length} targets, P of ${new LoraAdapter(modelConfig, { rank: 4, alpha: 8, dropout: 0, rslora: false, targets }, { seed: 0 }).layout.size} floats): ${JSON.stringify(counts)}`);
    expect(counts.adamw).toBeLessThanOrEqual(4);
    expect(counts.sgd).toBeLessThanOrEqual(4);
    expect(counts.adamw).toBe(3);
    expect(counts.sgd).toBe(2);
  });
});
