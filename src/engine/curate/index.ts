/**
 * Curating a dataset for quality and diversity (LIMA, Zhou et al. 2023: 1,000
 * rows chosen for quality and spread over many topics beat many more rows):
 * filters → near-duplicate groups → one embedding per prompt → a 2-D map
 * and k-means clusters → "pick N diverse" by greedy k-center. One call for
 * the CLI and the worker; each step is its own file:
 *   filters.ts          length range, answer shorter than prompt, exact duplicates
 *   near_duplicates.ts  MinHash + LSH banding + exact Jaccard + union-find
 *   embed.ts            mean final hidden state over the prompt's tokens, batched
 *   pca.ts              2-D projection (power iteration with deflation)
 *   kmeans.ts           k-means++ seeding, Lloyd iterations
 *   kcenter.ts          greedy farthest-point selection
 *
 * Selection runs on the rows the filters keep, with each near-duplicate
 * group reduced to its first row ("keep one of each"); the map and clusters
 * show every row the filters keep.
 */
import { promptIds, type SegmentTokenizer } from '../data';
import type { LlamaModel } from '../model';
import { embedPrompts, type EmbeddingCache } from './embed';
import { filterRows, type FilterOptions, type FilterResult } from './filters';
import { kCenterGreedy } from './kcenter';
import { kMeans } from './kmeans';
import { nearDuplicateGroups, type NearDuplicateResult } from './near_duplicates';
import { pca } from './pca';
import type { CurateRow } from './rows';

export * from './embed';
export * from './filters';
export * from './kcenter';
export * from './kmeans';
export * from './near_duplicates';
export * from './pca';
export * from './quality';
export * from './rows';

export type CurateStage = 'near-duplicates' | 'embedding' | 'map' | 'selection';

export interface CurateOptions {
  /** Jaccard threshold for near-duplicates (default 0.8) */
  nearDuplicateThreshold?: number;
  /** rows to pick by k-center; absent: every candidate (filtered, one of each near-duplicate group), in file order */
  select?: number;
  /** k-means clusters (default min(8, rows)) */
  clusters?: number;
  filters?: Omit<FilterOptions, 'tokensOf'>;
  seed?: number;
  /** embedding batch size in padded tokens */
  batchTokens?: number;
  /** the model's prompt embeddings from before (embed.ts EmbeddingCache): read and filled */
  embeddingCache?: EmbeddingCache;
  onProgress?: (stage: CurateStage, done: number, total: number) => void;
  cancelled?: () => boolean;
}

export interface CurateResult {
  filters: FilterResult;
  /** near-duplicate groups as indices into the input rows */
  nearDuplicates: Omit<NearDuplicateResult, 'groups' | 'pairs'> & { groups: number[][] };
  /** rows selection chose from (input indices, ascending) */
  candidates: number[];
  /** chosen rows (input indices) in the order k-center picked them (file order without `select`) */
  selected: number[];
  /** covering radius of the selection in embedding space (0 without `select`: every candidate kept) */
  radius: number;
  /** per kept row (filters.kept order): its 2-D map position and k-means cluster */
  map: { row: number; x: number; y: number; cluster: number }[];
  /** share of the embeddings' variance the two map axes show */
  explained: [number, number];
  clusters: { size: number; representative: number; members: number[] }[];
  /** distinct prompt texts among the kept rows (each is embedded once) */
  distinctPrompts: number;
  seconds: { nearDuplicates: number; embedding: number; map: number; selection: number };
}

export async function curateRows(rows: readonly CurateRow[], model: LlamaModel, tok: SegmentTokenizer, opts: CurateOptions = {}): Promise<CurateResult> {
  const now = () => performance.now() / 1000;
  const seed = opts.seed ?? 1;
  const tokensOf = (r: CurateRow) => tok.encode(r.prompt).length + tok.encode(r.response).length;
  const filters = filterRows(rows, { ...opts.filters, tokensOf });
  const kept = filters.kept;

  let t = now();
  const nd = nearDuplicateGroups(kept.map((i) => `${rows[i].prompt}\n${rows[i].response}`), {
    threshold: opts.nearDuplicateThreshold,
    seed,
    onProgress: (d, n) => opts.onProgress?.('near-duplicates', d, n),
  });
  const groups = nd.groups.map((g) => g.map((j) => kept[j]));
  const later = new Set(groups.flatMap((g) => g.slice(1)));
  const candidates = kept.filter((i) => !later.has(i));
  const ndSeconds = now() - t;

  t = now();
  const emb = await embedPrompts(model, kept.map((i) => promptIds(tok, rows[i].prompt)), {
    batchTokens: opts.batchTokens,
    cache: opts.embeddingCache,
    onProgress: (d, n) => opts.onProgress?.('embedding', d, n),
    cancelled: opts.cancelled,
  });
  const embSeconds = now() - t;

  t = now();
  opts.onProgress?.('map', 0, 1);
  const proj = pca(emb, { components: 2, seed });
  const km = kMeans(emb, opts.clusters ?? Math.min(8, emb.length), { seed });
  const map = kept.map((row, j) => ({ row, x: proj.coords[j][0] ?? 0, y: proj.coords[j][1] ?? 0, cluster: km.assignments[j] }));
  const explained: [number, number] = [proj.variances[0] ?? 0, proj.variances[1] ?? 0].map((v) => (proj.total > 0 ? v / proj.total : 0)) as [number, number];
  const clusters = km.clusters.map((c) => ({ size: c.size, representative: kept[c.representative], members: c.members.map((j) => kept[j]) }));
  opts.onProgress?.('map', 1, 1);
  const mapSeconds = now() - t;

  t = now();
  const position = new Map(kept.map((row, j) => [row, j]));
  const candEmb = candidates.map((i) => emb[position.get(i)!]);
  // without a count every candidate is kept, in file order (k-center over all of them would cost O(n²·d) for nothing)
  const kc = opts.select !== undefined ? kCenterGreedy(candEmb, opts.select) : { indices: candidates.map((_, j) => j), radius: 0 };
  const selected = kc.indices.map((j) => candidates[j]);
  opts.onProgress?.('selection', 1, 1);
  const selSeconds = now() - t;

  return {
    filters,
    nearDuplicates: { groups, bands: nd.bands, rowsPerBand: nd.rowsPerBand, candidates: nd.candidates },
    candidates,
    selected,
    radius: kc.radius,
    map,
    explained,
    clusters,
    distinctPrompts: new Set(kept.map((i) => rows[i].prompt)).size,
    seconds: { nearDuplicates: ndSeconds, embedding: embSeconds, map: mapSeconds, selection: selSeconds },
  };
}
