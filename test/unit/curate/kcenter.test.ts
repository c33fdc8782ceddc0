/**
 * Greedy k-center against two references:
 * - the same greedy rule computed naively (each step recomputes, for every
 *   unchosen point, its distance to the nearest chosen point from scratch,
 *   and takes the farthest; first point nearest the mean; ties to the lowest
 *   index): the picks must be identical;
 * - the brute-force optimum (the k-subset with the smallest covering radius,
 *   every subset tried, on tiny sets): greedy is NOT that, but Gonzalez's
 *   bound says its radius is at most twice it.
 */
import { describe, expect, it } from 'vitest';
import { kCenterGreedy } from '../../../src/engine/curate/kcenter';
import { Rng } from '../../../src/engine/rng';

const dist = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));

function naiveGreedy(points: number[][], k: number): number[] {
  const d = points[0].length;
  const mean = Array.from({ length: d }, (_, j) => points.reduce((s, p) => s + p[j], 0) / points.length);
  let first = 0;
  points.forEach((p, i) => {
    if (dist(p, mean) < dist(points[first], mean)) first = i;
  });
  const chosen = [first];
  while (chosen.length < Math.min(k, points.length)) {
    let best = -1;
    let bestD = -1;
    points.forEach((p, i) => {
      if (chosen.includes(i)) return;
      const near = Math.min(...chosen.map((c) => dist(p, points[c])));
      if (near > bestD) (bestD = near), (best = i);
    });
    chosen.push(best);
  }
  return chosen;
}

const radiusOf = (points: number[][], centers: number[]) => Math.max(...points.map((p) => Math.min(...centers.map((c) => dist(p, points[c])))));

function bruteForceOptimum(points: number[][], k: number): number {
  let best = Infinity;
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === k) return void (best = Math.min(best, radiusOf(points, chosen)));
    for (let i = start; i < points.length; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return best;
}

function randomPoints(rng: Rng, n: number, d: number, grid = 0): number[][] {
  // grid > 0: coordinates on a coarse grid, so exact ties and duplicate points occur
  return Array.from({ length: n }, () => Array.from({ length: d }, () => (grid ? rng.int(grid) : rng.next() * 10 - 5)));
}

describe('greedy k-center', () => {
  it('picks what the naive greedy rule picks, on random and tie-heavy sets', () => {
    const rng = new Rng(11);
    let cases = 0;
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + rng.int(40);
      const pts = randomPoints(rng, n, 1 + rng.int(6), trial % 3 === 0 ? 3 : 0);
      const k = 1 + rng.int(n);
      const got = kCenterGreedy(pts, k);
      expect(got.indices, `trial ${trial}: n=${n} k=${k}`).toEqual(naiveGreedy(pts, k));
      expect(got.radius).toBeCloseTo(radiusOf(pts, got.indices), 9);
      cases++;
    }
    expect(cases).toBe(60);
  });

  it('is within twice the brute-force optimum radius (and never below it) on tiny sets', () => {
    const rng = new Rng(5);
    let worst = 0;
    for (let trial = 0; trial < 40; trial++) {
      const n = 4 + rng.int(7);
      const pts = randomPoints(rng, n, 2);
      const k = 1 + rng.int(4);
      const greedy = kCenterGreedy(pts, k).radius;
      const opt = bruteForceOptimum(pts, k);
      expect(greedy).toBeGreaterThanOrEqual(opt - 1e-12);
      expect(greedy).toBeLessThanOrEqual(2 * opt + 1e-12);
      if (opt > 0) worst = Math.max(worst, greedy / opt);
    }
    console.log(`greedy / optimum covering radius, worst of 40 tiny sets: ${worst.toFixed(3)} (bound 2)`);
  });

  it('handles k ≥ n, k = 0 and duplicate points', () => {
    const pts = [[0, 0], [0, 0], [1, 0], [5, 5]];
    expect(kCenterGreedy(pts, 10).indices.sort()).toEqual([0, 1, 2, 3]);
    expect(kCenterGreedy(pts, 0).indices).toEqual([]);
    expect(kCenterGreedy(pts, 4).radius).toBe(0);
    expect(kCenterGreedy([], 3)).toEqual({ indices: [], radius: 0 });
  });
});
