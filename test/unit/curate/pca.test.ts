/**
 * PCA by power iteration + deflation against an eigen-decomposition
 * reference: the cyclic Jacobi method on the same covariance matrix, written
 * here independently (Golub & Van Loan §8.5). Eigenvalues must agree, the
 * directions up to sign (|cos| ≈ 1), and the sign must follow the documented
 * rule (largest-magnitude entry positive).
 */
import { describe, expect, it } from 'vitest';
import { pca } from '../../../src/engine/curate/pca';
import { Rng } from '../../../src/engine/rng';

/** Eigenvalues (descending) and unit eigenvectors of a symmetric matrix, by cyclic Jacobi rotations. */
function jacobiEigen(A: number[][]): { values: number[]; vectors: number[][] } {
  const n = A.length;
  const a = A.map((r) => [...r]);
  const v: number[][] = A.map((_, i) => A.map((_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
  const order = a.map((_, i) => i).sort((i, j) => a[j][j] - a[i][i]);
  return { values: order.map((i) => a[i][i]), vectors: order.map((i) => v.map((row) => row[i])) };
}

function data(seed: number, n: number, scales: number[]): number[][] {
  const rng = new Rng(seed);
  const d = scales.length;
  // a random rotation-ish mixing, so the components are not the axes
  const mix = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.next() - 0.5));
  return Array.from({ length: n }, () => {
    const z = scales.map((s) => s * (rng.next() + rng.next() + rng.next() - 1.5));
    return mix.map((row, i) => row.reduce((acc, m, j) => acc + m * z[j], 0) + i); // offset: PCA must centre
  });
}

function covariance(X: number[][]): number[][] {
  const n = X.length;
  const d = X[0].length;
  const mean = Array.from({ length: d }, (_, j) => X.reduce((s, x) => s + x[j], 0) / n);
  return Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => X.reduce((s, x) => s + (x[a] - mean[a]) * (x[b] - mean[b]), 0) / (n - 1)));
}

describe('PCA by power iteration', () => {
  it('matches a Jacobi eigen-decomposition of the covariance', () => {
    for (const [seed, scales] of [[1, [5, 3, 1, 0.5, 0.2]], [2, [2, 1.5, 1.2, 0.3]], [3, [9, 4, 4.5, 1, 1, 0.1]]] as [number, number[]][]) {
      const X = data(seed, 80, scales);
      const ref = jacobiEigen(covariance(X));
      const got = pca(X, { components: 3 });
      let maxDiff = 0;
      for (let c = 0; c < 3; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(got.variances[c] - ref.values[c]) / ref.values[0]);
        const cos = got.components[c].reduce((s, x, j) => s + x * ref.vectors[c][j], 0);
        expect(Math.abs(cos)).toBeGreaterThan(1 - 1e-8);
        const v = [...got.components[c]];
        const big = v.reduce((bi, x, j) => (Math.abs(x) > Math.abs(v[bi]) ? j : bi), 0);
        expect(v[big]).toBeGreaterThan(0); // the sign rule
      }
      expect(got.total).toBeCloseTo(ref.values.reduce((s, x) => s + x, 0), 9);
      // coordinates are the centred rows on the components
      const mean = got.mean;
      X.forEach((x, i) => expect(got.coords[i][0]).toBeCloseTo(x.reduce((s, xj, j) => s + (xj - mean[j]) * got.components[0][j], 0), 9));
      console.log(`seed ${seed}: eigenvalues ${got.variances.map((x) => x.toFixed(4))} vs Jacobi ${ref.values.slice(0, 3).map((x) => x.toFixed(4))}; max relative diff ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThan(1e-8);
    }
  });

  it('is deterministic and copes with rank-deficient data', () => {
    const X = data(4, 30, [3, 1, 0.5]);
    expect(pca(X)).toEqual(pca(X));
    const line = Array.from({ length: 10 }, (_, i) => [i, 2 * i, 0]);
    const r = pca(line);
    expect(r.variances[0] / r.total).toBeCloseTo(1, 9);
    expect(r.variances[1]).toBeCloseTo(0, 9);
    expect(pca([[1, 2, 3]]).coords).toEqual([[0, 0]]);
  });
});
