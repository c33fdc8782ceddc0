/**
 * 2-D projection for the diversity map: principal component analysis by
 * power iteration with deflation on the covariance matrix.
 *
 * Pearson 1901 / Hotelling 1933; the method is the textbook one (Golub & Van
 * Loan, "Matrix Computations" §8.2 power iteration, §8.2.3 deflation): the
 * covariance C = XᵀX / (n − 1) of the centred rows (float64, d × d: small for
 * the embedding widths we have, d ≤ ~1k), v ← Cv / ‖Cv‖ from a seeded start
 * until it stops moving, λ = vᵀCv, then C ← C − λvvᵀ for the next component.
 * The sign of an eigenvector is arbitrary, so each is flipped to make its
 * largest-magnitude entry positive: the same rows always draw the same map.
 */
import { Rng } from '../rng';
import { meanOf, type Vector } from './vectors';

export interface PcaResult {
  /** each row's coordinates on the components (n × components) */
  coords: number[][];
  /** unit principal directions (components × d) */
  components: Float64Array[];
  /** their eigenvalues (variance along each), descending */
  variances: number[];
  /** the total variance (trace of C), so variances[i] / total is the share explained */
  total: number;
  mean: Float64Array;
}

export interface PcaOptions {
  components?: number;
  maxIterations?: number;
  /** stop when ‖v_new − v‖ falls below this */
  tolerance?: number;
  seed?: number;
}

export function pca(points: readonly Vector[], opts: PcaOptions = {}): PcaResult {
  const n = points.length;
  const d = points[0]?.length ?? 0;
  const want = Math.min(opts.components ?? 2, d);
  const mean = n > 0 ? meanOf(points) : new Float64Array(0);
  const C = new Float64Array(d * d); // (d, d) row-major
  const x = new Float64Array(d);
  for (const p of points) {
    for (let j = 0; j < d; j++) x[j] = p[j] - mean[j];
    for (let a = 0; a < d; a++) {
      const xa = x[a];
      if (xa === 0) continue;
      for (let b = a; b < d; b++) C[a * d + b] += xa * x[b];
    }
  }
  const norm = Math.max(1, n - 1);
  let total = 0;
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) C[b * d + a] = C[a * d + b] /= norm;
    total += C[a * d + a];
  }

  const rng = new Rng(opts.seed ?? 1);
  const maxIt = opts.maxIterations ?? 1000;
  const tol = opts.tolerance ?? 1e-12;
  const components: Float64Array[] = [];
  const variances: number[] = [];
  const w = new Float64Array(d);
  for (let c = 0; c < want; c++) {
    let v = Float64Array.from({ length: d }, () => rng.next() - 0.5);
    normalize(v);
    let lambda = 0;
    for (let it = 0; it < maxIt; it++) {
      multiply(C, v, w, d);
      lambda = dot(v, w);
      if (normalize(w) === 0) break; // C is zero on what is left: no more variance
      let moved = 0;
      for (let j = 0; j < d; j++) moved += (w[j] - v[j]) ** 2;
      v = Float64Array.from(w);
      if (moved < tol) break;
    }
    multiply(C, v, w, d);
    lambda = dot(v, w);
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) for (let j = 0; j < d; j++) v[j] = -v[j];
    components.push(v);
    variances.push(Math.max(0, lambda));
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C[a * d + b] -= lambda * v[a] * v[b];
  }

  const coords = points.map((p) => components.map((v) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (p[j] - mean[j]) * v[j];
    return s;
  }));
  return { coords, components, variances, total, mean };
}

function multiply(C: Float64Array, v: Float64Array, out: Float64Array, d: number): void {
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) s += C[a * d + b] * v[b];
    out[a] = s;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Scales v to unit length in place; returns its old length. */
function normalize(v: Float64Array): number {
  const len = Math.sqrt(dot(v, v));
  if (len > 0) for (let i = 0; i < v.length; i++) v[i] /= len;
  return len;
}
