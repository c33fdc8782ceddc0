/**
 * Clusters for the diversity map and the cluster list: k-means with
 * k-means++ seeding and Lloyd iterations.
 *
 * Arthur & Vassilvitskii 2007 ("k-means++: the advantages of careful
 * seeding"): the first centre is a uniformly random point, each next one a
 * point drawn with probability proportional to its squared distance to the
 * nearest centre so far. Lloyd 1982: assign each point to its nearest
 * centre, move each centre to its members' mean, until no assignment
 * changes. Seeded (rng.ts), so the same rows give the same clusters. A
 * centre left without members moves to the point farthest from its own
 * centre. Each cluster's representative is its member nearest the centroid.
 */
import { Rng } from '../rng';
import { nearestIndex, squaredDistance, type Vector } from './vectors';

export interface Cluster {
  /** member indices, ascending */
  members: number[];
  size: number;
  /** the member nearest the centroid */
  representative: number;
  centroid: Float64Array;
}

export interface KMeansResult {
  /** cluster of each point */
  assignments: number[];
  /** largest first (ties: by representative) */
  clusters: Cluster[];
  iterations: number;
  /** sum of squared distances to the assigned centroid */
  inertia: number;
}

export function kMeans(points: readonly Vector[], k: number, opts: { seed?: number; maxIterations?: number } = {}): KMeansResult {
  const n = points.length;
  const d = points[0]?.length ?? 0;
  k = Math.min(Math.max(1, Math.floor(k)), n);
  if (n === 0) return { assignments: [], clusters: [], iterations: 0, inertia: 0 };
  const rng = new Rng(opts.seed ?? 1);

  // k-means++ seeding
  const centroids: Float64Array[] = [Float64Array.from(points[rng.int(n)])];
  const nearest = Float64Array.from(points, (p) => squaredDistance(p, centroids[0]));
  while (centroids.length < k) {
    const sum = nearest.reduce((a, b) => a + b, 0);
    let pick = 0;
    if (sum === 0) pick = rng.int(n); // every point sits on a centre: duplicates
    else {
      let u = rng.next() * sum;
      for (pick = 0; pick < n - 1; pick++) if ((u -= nearest[pick]) < 0) break;
    }
    const c = Float64Array.from(points[pick]);
    centroids.push(c);
    for (let i = 0; i < n; i++) nearest[i] = Math.min(nearest[i], squaredDistance(points[i], c));
  }

  // Lloyd iterations
  const assignments = new Array<number>(n).fill(-1);
  const dist = new Float64Array(n);
  const maxIt = opts.maxIterations ?? 100;
  let iterations = 0;
  for (; iterations < maxIt; iterations++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      const c = nearestIndex(centroids, points[i]);
      dist[i] = squaredDistance(points[i], centroids[c]);
      if (c !== assignments[i]) (assignments[i] = c), (changed = true);
    }
    if (!changed) break;
    const sums = centroids.map(() => new Float64Array(d));
    const counts = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const s = sums[assignments[i]];
      for (let j = 0; j < d; j++) s[j] += points[i][j];
      counts[assignments[i]]++;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] > 0) for (let j = 0; j < d; j++) centroids[c][j] = sums[c][j] / counts[c];
      else {
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
        centroids[c] = Float64Array.from(points[far]);
        dist[far] = 0;
      }
    }
  }

  const clusters: Cluster[] = centroids.map((centroid, c) => {
    const members = assignments.flatMap((a, i) => (a === c ? [i] : []));
    return { members, size: members.length, representative: nearestIndex(points, centroid, members), centroid };
  });
  const inertia = assignments.reduce((s, c, i) => s + squaredDistance(points[i], centroids[c]), 0);
  const order = clusters.map((_, c) => c).filter((c) => clusters[c].size > 0).sort((a, b) => clusters[b].size - clusters[a].size || clusters[a].representative - clusters[b].representative);
  const renumber = new Map(order.map((c, i) => [c, i]));
  return { assignments: assignments.map((c) => renumber.get(c)!), clusters: order.map((c) => clusters[c]), iterations, inertia };
}
