/** k-means++ and Lloyd: separated blobs are recovered, representatives are the members nearest the centroid, runs repeat. */
import { describe, expect, it } from 'vitest';
import { kMeans } from '../../../src/engine/curate/kmeans';
import { Rng } from '../../../src/engine/rng';

function blobs(seed: number, centres: number[][], per: number): { points: number[][]; truth: number[] } {
  const rng = new Rng(seed);
  const points: number[][] = [];
  const truth: number[] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < per + k; i++) points.push(c.map((x) => x + (rng.next() - 0.5))), truth.push(k);
  });
  return { points, truth };
}

describe('k-means', () => {
  it('recovers well-separated blobs; sizes, centroids and representatives are consistent', () => {
    const centres = [[0, 0, 0], [20, 0, 0], [0, 20, 0], [0, 0, 20], [20, 20, 20]];
    const { points, truth } = blobs(3, centres, 12);
    const r = kMeans(points, 5, { seed: 2 });
    // each true blob maps to exactly one cluster
    for (let k = 0; k < centres.length; k++) expect(new Set(truth.flatMap((t, i) => (t === k ? [r.assignments[i]] : []))).size).toBe(1);
    expect(r.clusters.map((c) => c.size)).toEqual([16, 15, 14, 13, 12]); // largest first
    for (const [k, c] of r.clusters.entries()) {
      expect(c.members).toEqual(r.assignments.flatMap((a, i) => (a === k ? [i] : [])));
      const mean = [0, 1, 2].map((j) => c.members.reduce((s, i) => s + points[i][j], 0) / c.size);
      [0, 1, 2].forEach((j) => expect(c.centroid[j]).toBeCloseTo(mean[j], 9));
      const d = (i: number) => points[i].reduce((s, x, j) => s + (x - mean[j]) ** 2, 0);
      expect(c.members.every((i) => d(c.representative) <= d(i))).toBe(true);
    }
  });

  it('is deterministic for a seed and handles k > n and duplicates', () => {
    const { points } = blobs(1, [[0, 0], [5, 5]], 10);
    expect(kMeans(points, 3, { seed: 9 })).toEqual(kMeans(points, 3, { seed: 9 }));
    const dup = [[1, 1], [1, 1], [1, 1]];
    const r = kMeans(dup, 5);
    expect(r.clusters.reduce((s, c) => s + c.size, 0)).toBe(3);
    expect(kMeans([], 3).clusters).toEqual([]);
  });
});
