import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng';
import { applyRepetitionPenalty, sampleToken } from '../../src/engine/sampling';

const logits = () => Float32Array.from([1, 3, 2, 0.5, 2.9, -1]);

describe('sampling', () => {
  it('is greedy at temperature 0 (first maximum)', () => {
    expect(sampleToken(logits(), { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 }, new Rng(1))).toBe(1);
    expect(sampleToken(Float32Array.from([2, 5, 5]), { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 }, new Rng(1))).toBe(1);
  });

  it('reproduces a sequence from a seed and differs across seeds', () => {
    const opts = { temperature: 1.5, topK: 0, topP: 1, repetitionPenalty: 1 };
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 40 }, () => sampleToken(logits(), opts, rng));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('top-k keeps only the k best, top-p the smallest set reaching p', () => {
    const rng = new Rng(3);
    const k2 = new Set(Array.from({ length: 300 }, () => sampleToken(logits(), { temperature: 5, topK: 2, topP: 1, repetitionPenalty: 1 }, rng)));
    expect([...k2].sort()).toEqual([1, 4]);
    // softmax of [3, 2.9, ...]: the two best hold ~0.62 of the mass; p = 0.5 keeps both (0.35 < 0.5), never a third
    const p = new Set(Array.from({ length: 300 }, () => sampleToken(logits(), { temperature: 1, topK: 0, topP: 0.5, repetitionPenalty: 1 }, rng)));
    expect([...p].sort()).toEqual([1, 4]);
  });

  it('samples in proportion to softmax(logits / T)', () => {
    const rng = new Rng(11);
    const l = Float32Array.from([0, Math.log(3)]);
    let ones = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) ones += sampleToken(Float32Array.from(l), { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 }, rng);
    expect(ones / n).toBeCloseTo(0.75, 1);
  });

  it('applies the repetition penalty as HF does (divide positive, multiply negative)', () => {
    const l = logits();
    applyRepetitionPenalty(l, [1, 5, 1], 2);
    expect(l[1]).toBe(1.5);
    expect(l[5]).toBe(-2);
    expect(l[0]).toBe(1);
  });
});
