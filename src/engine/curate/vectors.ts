/** Small dense-vector helpers the curation methods share (embeddings are rows of numbers). */

export type Vector = ArrayLike<number>;

/** Squared Euclidean distance. */
export function squaredDistance(a: Vector, b: Vector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

/** The mean of equal-length rows (float64). */
export function meanOf(points: readonly Vector[]): Float64Array {
  const d = points[0]?.length ?? 0;
  const m = new Float64Array(d);
  for (const p of points) for (let j = 0; j < d; j++) m[j] += p[j];
  for (let j = 0; j < d; j++) m[j] /= points.length;
  return m;
}

/** Index of the row nearest to `to` (lowest index on ties), or −1 for no rows. */
export function nearestIndex(points: readonly Vector[], to: Vector, among?: readonly number[]): number {
  let best = -1;
  let bestD = Infinity;
  for (const i of among ?? points.keys()) {
    const d = squaredDistance(points[i], to);
    if (d < bestD) (bestD = d), (best = i);
  }
  return best;
}
