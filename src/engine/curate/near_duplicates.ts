/**
 * Near-duplicate rows: MinHash signatures over word shingles, LSH banding to
 * find candidate pairs, exact Jaccard to confirm them, union-find to group.
 *
 * Method: Broder 1997 ("On the resemblance and containment of documents":
 * shingles and min-wise hashing, P[min h(A) = min h(B)] = J(A, B)); banding
 * as in Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets" ch. 3.4
 * (b bands of r rows: a pair of similarity s becomes a candidate with
 * probability 1 − (1 − s^r)^b, an S-curve). LIMA (Zhou et al. 2023) removed
 * near-duplicates from its 1,000 rows the same way in spirit.
 *
 * Choices, and why:
 * - Shingles are 3 consecutive words of the lower-cased text with every run
 *   of non-letters/digits read as one space (so "Hello, world!" and "hello
 *   world" agree). Three words: one-word shingles make any two stories on
 *   the same topic look alike (a bag of words); five or more make a single
 *   edited word break five shingles, so light paraphrases fall below 0.8.
 *   A text shorter than 3 words is one shingle of all its words.
 * - Each shingle is hashed to 32 bits (FNV-1a); the i-th MinHash function is
 *   fmix32(x XOR seed_i) (MurmurHash3's finalizer, a bijection on 32 bits,
 *   so each is a permutation of the hash space) with seeds from Rng(seed):
 *   the same rows and seed give the same signatures everywhere.
 * - Bands: `chooseBands` takes the longest rows per band r (fewest false
 *   candidates) with b = ⌊numHashes / r⌋ whose S-curve still makes a pair
 *   exactly at the threshold a candidate with probability ≥ 0.99. For
 *   128 hashes and 0.8 that is b = 21, r = 6: 0.998 at s = 0.8, 0.28 at
 *   s = 0.5, 0.03 at s = 0.3. Candidates are then checked with the exact
 *   Jaccard of their shingle sets, so a false candidate costs time, never a
 *   wrong group; recall is only lost when a pair at or above the threshold
 *   shares no band.
 * - A group is a connected component of confirmed pairs (J ≥ threshold):
 *   every member has at least one partner in the group at or above the
 *   threshold, though two members far apart in a chain may be below it.
 */
import { Rng } from '../rng';

export interface NearDuplicateOptions {
  /** Jaccard similarity of shingle sets at or above which two rows are near-duplicates (default 0.8) */
  threshold?: number;
  /** MinHash functions per signature (default 128) */
  numHashes?: number;
  /** words per shingle (default 3) */
  shingleSize?: number;
  /** seeds the hash functions (default 1) */
  seed?: number;
  /** called while signatures are computed (the dominant cost) */
  onProgress?: (done: number, total: number) => void;
}

export interface NearDuplicatePair {
  a: number;
  b: number;
  jaccard: number;
}

export interface NearDuplicateResult {
  /** groups of row indices (ascending), each of two or more rows, ordered by their first row */
  groups: number[][];
  /** the confirmed pairs (a < b) */
  pairs: NearDuplicatePair[];
  bands: number;
  rowsPerBand: number;
  /** candidate pairs the bands proposed (each checked with exact Jaccard) */
  candidates: number;
}

/** Lower-cased words, every run of characters that are not letters or digits read as a separator. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** FNV-1a of a string's UTF-16 code units, 32 bits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer: a bijection that mixes every input bit into every output bit. */
function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The sorted, distinct 32-bit hashes of a text's k-word shingles (empty for a text without words). */
export function shingleSet(text: string, k = 3): Uint32Array {
  const w = words(text);
  if (w.length === 0) return new Uint32Array(0);
  const hashes = new Set<number>();
  if (w.length < k) hashes.add(fnv1a(w.join(' ')));
  else for (let i = 0; i + k <= w.length; i++) hashes.add(fnv1a(w.slice(i, i + k).join(' ')));
  return Uint32Array.from(hashes).sort();
}

/** Exact Jaccard |A ∩ B| / |A ∪ B| of two sorted distinct sets (1 for two empty sets). */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) common++, i++, j++;
    else if (a[i] < b[j]) i++;
    else j++;
  }
  return common / (a.length + b.length - common);
}

/** Probability that a pair of similarity s shares at least one of b bands of r rows. */
export function candidateProbability(s: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(s, rows), bands);
}

/** Bands × rows for a threshold: the largest r whose S-curve gives ≥ `recall` at the threshold (module comment). */
export function chooseBands(threshold: number, numHashes: number, recall = 0.99): { bands: number; rows: number } {
  for (let r = numHashes; r >= 1; r--) {
    const b = Math.floor(numHashes / r);
    if (candidateProbability(threshold, b, r) >= recall) return { bands: b, rows: r };
  }
  return { bands: numHashes, rows: 1 };
}

/** Seeds of the MinHash functions, from the project's seeded generator. */
export function hashSeeds(numHashes: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  return Uint32Array.from({ length: numHashes }, () => Math.floor(rng.next() * 2 ** 32) >>> 0);
}

/** MinHash signature of a shingle set: per function, the smallest hash over the set (0xffffffff for an empty set). */
export function minhashSignature(set: Uint32Array, seeds: Uint32Array): Uint32Array {
  const sig = new Uint32Array(seeds.length).fill(0xffffffff);
  for (let i = 0; i < seeds.length; i++) {
    const s = seeds[i];
    let m = 0xffffffff;
    for (let j = 0; j < set.length; j++) {
      const h = fmix32(set[j] ^ s);
      if (h < m) m = h;
    }
    sig[i] = m;
  }
  return sig;
}

/** Union-find with path halving; the root of a set is its smallest index, so groups read in file order. */
class DisjointSets {
  private parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(x: number): number {
    while (this.parent[x] !== x) x = this.parent[x] = this.parent[this.parent[x]];
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/**
 * Near-duplicate groups among `texts` (each row's prompt and response
 * joined). Rows without a word are never grouped. Deterministic for a seed.
 */
export function nearDuplicateGroups(texts: string[], opts: NearDuplicateOptions = {}): NearDuplicateResult {
  const threshold = opts.threshold ?? 0.8;
  if (!(threshold > 0 && threshold <= 1)) throw new Error(`near-duplicate threshold ${threshold} must be in (0, 1]`);
  const numHashes = opts.numHashes ?? 128;
  const k = opts.shingleSize ?? 3;
  const { bands, rows } = chooseBands(threshold, numHashes);
  const seeds = hashSeeds(bands * rows, opts.seed ?? 1);
  const n = texts.length;
  const sets: Uint32Array[] = [];
  const buckets = new Map<string, number[]>(); // band number + its r values → rows
  for (let i = 0; i < n; i++) {
    if (opts.onProgress && i % 256 === 0) opts.onProgress(i, n);
    const set = shingleSet(texts[i], k);
    sets.push(set);
    if (set.length === 0) continue;
    const sig = minhashSignature(set, seeds);
    for (let b = 0; b < bands; b++) {
      const key = `${b}:${sig.subarray(b * rows, (b + 1) * rows).join(',')}`;
      const bucket = buckets.get(key);
      if (bucket) bucket.push(i);
      else buckets.set(key, [i]);
    }
  }
  opts.onProgress?.(n, n);

  // every pair that shares a bucket, checked once
  const seen = new Set<number>();
  const pairs: NearDuplicatePair[] = [];
  for (const bucket of buckets.values()) {
    for (let x = 0; x < bucket.length; x++) {
      for (let y = x + 1; y < bucket.length; y++) {
        const a = bucket[x];
        const b = bucket[y];
        const id = a * n + b; // a < b: rows enter buckets in order
        if (seen.has(id)) continue;
        seen.add(id);
        const j = jaccard(sets[a], sets[b]);
        if (j >= threshold) pairs.push({ a, b, jaccard: j });
      }
    }
  }
  pairs.sort((p, q) => p.a - q.a || p.b - q.b);

  const ds = new DisjointSets(n);
  for (const p of pairs) ds.union(p.a, p.b);
  const members = new Map<number, Set<number>>();
  for (const p of pairs) {
    const r = ds.find(p.a);
    if (!members.has(r)) members.set(r, new Set());
    members.get(r)!.add(p.a).add(p.b);
  }
  const groups = [...members.values()].map((s) => [...s].sort((a, b) => a - b)).sort((g, h) => g[0] - h[0]);
  return { groups, pairs, bands, rowsPerBand: rows, candidates: seen.size };
}
