/**
 * "Pick N diverse": greedy k-center (farthest-point) selection.
 *
 * Gonzalez 1985 ("Clustering to minimize the maximum intercluster
 * distance"): start from one point, then repeatedly add the point farthest
 * from everything chosen so far. The covering radius it reaches (the largest
 * distance from any point to its nearest chosen point) is at most twice the
 * best possible for k centers, and it runs in O(n·k) distance evaluations.
 * Sener & Savarese 2018 use it as "core-set" selection for training data.
 *
 * The first point is the one nearest the mean of all points (lowest index on
 * ties): a deterministic, central start, so the second pick is an extreme
 * and the set spreads outward from a typical row. Ties between equally far
 * points go to the lowest index. Euclidean distance.
 */
import { meanOf, nearestIndex, squaredDistance, type Vector } from './vectors';

export interface KCenterResult {
  /** chosen point indices, in the order greedy picked them */
  indices: number[];
  /** covering radius: max over all points of the distance to the nearest chosen point */
  radius: number;
}

export function kCenterGreedy(points: readonly Vector[], k: number): KCenterResult {
  const n = points.length;
  const want = Math.min(Math.max(0, Math.floor(k)), n);
  if (want === 0) return { indices: [], radius: n === 0 ? 0 : Infinity };
  const nearest = new Float64Array(n).fill(Infinity); // squared distance to the nearest chosen point
  const chosen = new Uint8Array(n);
  const indices: number[] = [];
  let next = nearestIndex(points, meanOf(points));
  while (indices.length < want) {
    indices.push(next);
    chosen[next] = 1;
    let far = -1;
    let farD = -1;
    for (let i = 0; i < n; i++) {
      const d = Math.min(nearest[i], squaredDistance(points[i], points[next]));
      nearest[i] = d;
      if (!chosen[i] && d > farD) (farD = d), (far = i);
    }
    next = far;
  }
  let radius = 0;
  for (let i = 0; i < n; i++) radius = Math.max(radius, nearest[i]);
  return { indices, radius: Math.sqrt(radius) };
}
