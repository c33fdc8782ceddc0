import { describe, expect, test } from 'vitest';
import { computeStats, duplicateRows, histogram, percentile, summarize } from '../../../src/engine/data/stats';
import { shuffled, splitTrainValidation } from '../../../src/engine/data/split';
import type { TokenizedSample } from '../../../src/engine/data/tokenize';

describe('stats', () => {
  test('nearest-rank percentiles and summary', () => {
    const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(summarize(v)).toEqual({ min: 1, median: 5, p90: 9, max: 10, mean: 5.5 });
    expect(percentile([7], 90)).toBe(7);
    expect(summarize([])).toEqual({ min: 0, median: 0, p90: 0, max: 0, mean: 0 });
  });

  test('histogram covers [0, maxLength] and counts every value', () => {
    const h = histogram([0, 1, 63, 64, 128, 511, 512], 512, 8);
    expect(h[0]).toEqual({ from: 0, to: 65, count: 4 });
    expect(h.at(-1)!.to).toBe(513);
    expect(h.reduce((n, b) => n + b.count, 0)).toBe(7);
  });

  test('duplicates are exact repeats of the normalized sample', () => {
    const a = { kind: 'text' as const, text: 'a' };
    expect(duplicateRows([{ line: 1, sample: a }, { line: 2, sample: { kind: "text", text: "b" } }, { line: 5, sample: { ...a } }])).toEqual([{ line: 5 }]);
  });

  test('computeStats', () => {
    const s = (n: number, resp: number, truncated = false): TokenizedSample => ({
      ids: new Array(n).fill(0),
      labels: new Array(n).fill(0),
      line: 1,
      truncated,
      responseTokens: resp,
      boundaryMerges: 0,
    });
    const st = computeStats([s(10, 4), s(20, 5, true), s(30, 6)], { rowsRejected: 2, duplicates: 1, maxLength: 20 });
    expect(st).toMatchObject({
      rowsUsable: 3,
      rowsRejected: 2,
      truncated: 1,
      duplicates: 1,
      responseTokens: 15,
      responseTokensMean: 5,
      length: { min: 10, median: 20, max: 30 },
      systemMessages: 0,
      systemLeftOut: 0,
    });
    expect(computeStats([], { rowsRejected: 0, duplicates: 0, maxLength: 20, systemMessages: 4, systemLeftOut: 1 })).toMatchObject({ systemMessages: 4, systemLeftOut: 1 });
  });
});

describe('split', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);

  test('seeded shuffle is a deterministic permutation', () => {
    const a = shuffled(items, 42);
    expect(shuffled(items, 42)).toEqual(a);
    expect(shuffled(items, 43)).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(a).not.toEqual(items);
    expect(items[0]).toBe(0); // input untouched
  });

  test('train/validation split is disjoint, complete and reproducible', () => {
    const { train, validation } = splitTrainValidation(items, { seed: 7, validationFraction: 0.1 });
    expect(validation).toHaveLength(10);
    expect(train).toHaveLength(90);
    expect(new Set([...train, ...validation]).size).toBe(100);
    expect(splitTrainValidation(items, { seed: 7, validationFraction: 0.1 })).toEqual({ train, validation });
  });

  test('edge sizes: a positive fraction holds out at least one row, and one row always stays for training', () => {
    expect(splitTrainValidation([1, 2, 3], { seed: 1, validationFraction: 0.01 }).validation).toHaveLength(1);
    expect(splitTrainValidation([1, 2, 3], { seed: 1, validationCount: 5 }).train).toHaveLength(1);
    expect(splitTrainValidation([1], { seed: 1, validationFraction: 0.5 })).toEqual({ train: [1], validation: [] });
    expect(splitTrainValidation([1, 2], { seed: 1 }).validation).toEqual([]);
  });
});
