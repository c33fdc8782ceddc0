/**
 * The bound on tfjs's buffer pool (src/engine/gpu/pool.ts): steps of varying
 * sizes leave the device holding no more than the largest step's footprint,
 * where tfjs alone would pool every size it has seen; steps of fixed sizes
 * reuse their buffers and evict nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initGpu } from '../../src/engine/gpu/device';
import { gpuMemory } from '../../src/engine/gpu/memory';
import { poolStats, poolStep, releasePooledBuffers, setPoolBounded } from '../../src/engine/gpu/pool';

/** Makes tfjs submit its queue (when disposed tensors' buffers join the pool). */
async function flush(): Promise<void> {
  const x = tf.fill([5], 0);
  await x.data();
  x.dispose();
}

/**
 * A stand-in for a training step on `n` tokens: a chain of tensors whose
 * sizes scale with n (activations kept to the end, temporaries freed along
 * the way, as a forward and backward do).
 */
async function step(n: number): Promise<void> {
  poolStep();
  const kept: tf.Tensor[] = [];
  let x = tf.fill([n, 64], 1);
  for (let layer = 0; layer < 4; layer++) {
    const wide = tf.tidy(() => tf.mul(x, 2).tile([1, 3])); // (n, 192), freed below
    const y = tf.tidy(() => tf.add(tf.slice(wide, [0, 0], [n, 64]), 1));
    wide.dispose();
    kept.push(x);
    x = y;
  }
  kept.push(x);
  const total = tf.tidy(() => tf.addN(kept.map((t) => tf.sum(t))));
  await total.data();
  tf.dispose([...kept, total]);
  await flush();
}

describe('bounded buffer pool', () => {
  beforeAll(async () => {
    await initGpu();
  });

  it('steps of one size reuse their buffers: no eviction, live bytes flat from the second step', async () => {
    releasePooledBuffers();
    await step(1000);
    const afterFirst = gpuMemory().live;
    const evicted = poolStats().evicted;
    for (let i = 0; i < 4; i++) await step(1000);
    expect(poolStats().evicted).toBe(evicted);
    expect(gpuMemory().live).toBe(afterFirst);
  });

  it('steps of varying sizes: live bytes stay at the first (largest) step\'s footprint, where tfjs alone grows with every new size', async () => {
    const sizes = [1024, 992, 960, 896, 1024, 832, 928, 768];
    const run = async (bounded: boolean) => {
      setPoolBounded(bounded);
      releasePooledBuffers();
      const base = gpuMemory().live;
      const evicted0 = poolStats().evicted;
      const lives: number[] = [];
      for (const n of sizes) {
        await step(n);
        lives.push(gpuMemory().live - base);
      }
      setPoolBounded(true);
      return { lives, evicted: poolStats().evicted - evicted0 };
    };
    const tfjs = await run(false);
    const ours = await run(true);
    const kib = (l: number[]) => l.map((b) => (b / 1024).toFixed(0)).join(', ');
    console.log(`live above start after each step (KiB): tfjs's pool ${kib(tfjs.lives)}; bounded ${kib(ours.lives)} (${ours.evicted} buffers evicted)`);
    expect(tfjs.evicted).toBe(0);
    expect(tfjs.lives[7]).toBeGreaterThan(tfjs.lives[0] * 2); // every new size adds its buffers
    expect(ours.evicted).toBeGreaterThan(0);
    for (const l of ours.lives) expect(l).toBeLessThanOrEqual(ours.lives[0] + 4096); // a few small buffers aside
    expect(ours.lives[0]).toBe(tfjs.lives[0]); // the first step is the same either way
  });

  it('a step larger than any before grows the bound to its footprint; smaller ones stay within it', async () => {
    releasePooledBuffers();
    const base = gpuMemory().live;
    await step(256);
    const small = gpuMemory().live - base;
    await step(1024);
    const large = gpuMemory().live - base;
    expect(large).toBeGreaterThan(small * 3);
    for (const n of [512, 768, 384, 1024, 640]) {
      await step(n);
      expect(gpuMemory().live - base).toBeLessThanOrEqual(large + 4096);
    }
  });

  it('values survive eviction and reuse', async () => {
    releasePooledBuffers();
    for (const n of [300, 200, 300, 100, 250]) {
      const a = tf.range(0, n * 8).reshape([n, 8]);
      const b = tf.mul(a, 2);
      const got = await b.data();
      expect(got.length).toBe(n * 8);
      expect(got[n * 8 - 1]).toBe(2 * (n * 8 - 1));
      tf.dispose([a, b]);
      await flush();
    }
  });

  it('releasePooledBuffers empties the pool and lifts the bound until the next step', async () => {
    await step(2000);
    expect(poolStats().pooled).toBeGreaterThan(0);
    releasePooledBuffers();
    expect(poolStats().pooled).toBe(0);
    expect(poolStats().bound).toBe(Infinity);
  });
});
