/**
 * Curation in the worker (issue 15 item 3): the loaded dataset's training
 * rows (mixed-in ones included, each marked by its file) go through
 * src/engine/curate's curateRows (filters → near-duplicates → prompt
 * embeddings → map and clusters → k-center pick); the page gets what it
 * draws (protocol.ts CurateView), and can then train on the subset or
 * download it. The validation split is left as it is, so runs trained on
 * different subsets are scored on the same held-out rows.
 *
 * The last curation is kept here (its rows and indices); a subset is set on
 * the prepared dataset by row keys (subset.ts), so it outlives a
 * re-tokenization of the same files.
 */
import { curateRows, readCurateRows, type CurateResult, type CurateRow, type CurateStage } from '../engine/curate';
import { rowLabel, rowsLabel } from '../engine/data';
import type { LlamaModel } from '../engine/model';
import { embeddingCache } from './embeddings';
import type { CurateRunOptions, CurateView, SubsetChoice, SubsetInfo } from './protocol';
import { requireDataset, requireSession, type PreparedSplit } from './session';
import { rowKey, sameFiles, subsetIndices, subsetInfo, subsetSamples, type Curation, type CurateSources } from './subset';

interface Curated {
  sources: CurateSources;
  model: LlamaModel;
  rows: CurateRow[];
  /** each row's file: 0 the dataset, 1 the one mixed in */
  sourceOf: number[];
  result: CurateResult;
  curation: Curation;
}

let last: Curated | null = null;
let running = false;
let stopRequested = false;

const STAGE_LABEL: Record<CurateStage, string> = {
  'near-duplicates': 'Finding near-duplicates (MinHash)',
  embedding: 'Embedding prompts with the base model',
  map: 'Drawing the map (PCA, k-means)',
  selection: 'Picking diverse rows (k-center)',
};

export const isCurating = () => running;

export function stopCuration(): void {
  if (running) stopRequested = true;
}

export function sourcesOf(d: PreparedSplit): CurateSources {
  if (!d.sources) throw new Error('This dataset came back with a restored run, without its file: load the file again to curate it.');
  return d.sources;
}

/** The training rows of each file, in file order (the dataset's, then the mixed-in file's). */
export async function trainingRows(d: PreparedSplit, sources: CurateSources): Promise<{ rows: CurateRow[]; sourceOf: number[] }> {
  const training = new Set(d.train.map((s) => rowKey(sources.mixed.has(s) ? 1 : 0, s)));
  const rows: CurateRow[] = [];
  const sourceOf: number[] = [];
  for (const [i, f] of sources.files.entries()) {
    const read = await readCurateRows(f.bytes, f.format ? { format: f.format, fieldMap: f.fieldMap } : {});
    for (const r of read.rows) {
      if (!training.has(rowKey(i, r))) continue;
      rows.push(r);
      sourceOf.push(i);
    }
  }
  return { rows, sourceOf };
}

export async function runCuration(o: CurateRunOptions, progress: (label: string, done: number, total: number) => void): Promise<CurateView> {
  if (running) throw new Error('A curation is already running.');
  const s = requireSession();
  const d = requireDataset();
  const sources = sourcesOf(d);
  running = true;
  stopRequested = false;
  try {
    progress('Reading the training rows', 0, 1);
    const { rows, sourceOf } = await trainingRows(d, sources);
    if (rows.length === 0) throw new Error('There are no training rows to curate.');
    const result = await curateRows(rows, s.model, s.tokenizer, {
      nearDuplicateThreshold: o.threshold,
      select: o.select ?? undefined,
      clusters: o.clusters ?? undefined,
      filters: o.filters,
      onProgress: (stage, done, total) => progress(STAGE_LABEL[stage], done, total),
      cancelled: () => stopRequested,
      embeddingCache: embeddingCache(s.model),
    });
    const curation: Curation = { ...result, picked: o.select !== null, rows: rows.length };
    last = { sources, model: s.model, rows, sourceOf, result, curation };
    return view(last, o);
  } catch (e) {
    if (stopRequested) throw new Error('Curation stopped: nothing was changed.');
    throw e;
  } finally {
    running = false;
  }
}

/** "line 17", or "line 17 of mix.jsonl" when a second file is mixed in */
function labeller(c: Curated): { one: (i: number) => string; many: (rows: number[]) => string } {
  const names = c.sources.files.map((f) => f.name);
  const suffix = (src: number) => (names.length > 1 ? ` of ${names[src]}` : '');
  return {
    one: (i) => rowLabel(c.rows[i]) + suffix(c.sourceOf[i]),
    many: (rows) =>
      names
        .map((_, src) => rows.filter((i) => c.sourceOf[i] === src))
        .filter((r) => r.length > 0)
        .map((r) => rowsLabel(r.map((i) => c.rows[i]), 20) + suffix(c.sourceOf[r[0]]))
        .join('; '),
  };
}

const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1).trimEnd()}…` : text);

function view(c: Curated, o: CurateRunOptions): CurateView {
  const r = c.result;
  const label = labeller(c);
  const reasons = [...new Set(r.filters.dropped.map((x) => x.reason))];
  return {
    sources: c.sources.files.map((f) => f.name),
    rows: c.rows.length,
    dropped: reasons.map((reason) => {
      const rows = r.filters.dropped.filter((x) => x.reason === reason).map((x) => x.row);
      return { reason, rows: rows.length, label: label.many(rows) };
    }),
    groups: r.nearDuplicates.groups.map((g) => ({ size: g.length, label: label.many(g) })),
    points: r.map.map((p) => ({ x: p.x, y: p.y, cluster: p.cluster, source: c.sourceOf[p.row], label: label.one(p.row), prompt: short(c.rows[p.row].prompt, 140) })),
    clusters: r.clusters.map((k) => ({ size: k.size, label: label.one(k.representative), prompt: short(c.rows[k.representative].prompt, 160) })),
    explained: r.explained,
    distinctPrompts: r.distinctPrompts,
    select: o.select,
    radius: r.radius,
    subsets: { all: subsetInfo(c.curation, { onePerGroup: false }, c.sourceOf), onePerGroup: subsetInfo(c.curation, { onePerGroup: true }, c.sourceOf) },
    seconds: r.seconds,
  };
}

/** The last curation, if it was made of this dataset's files with this model. */
function current(d: PreparedSplit): Curated {
  const s = requireSession();
  if (!last || !d.sources || last.model !== s.model || !sameFiles(last.sources, d.sources)) throw new Error('Run the curation (Find near-duplicates / map) on this dataset first.');
  return last;
}

/** Trains on the last curation's subset from now on (null: on every training row). */
export function setSubset(choice: SubsetChoice | null): SubsetInfo | null {
  const d = requireDataset();
  if (choice === null) {
    sourcesOf(d); // a restored run's rows are all it has
    d.subset = null;
    delete d.report.subset;
    return null;
  }
  const c = current(d);
  const rows = subsetIndices(c.curation, choice);
  const keys = new Set(rows.map((i) => rowKey(c.sourceOf[i], c.rows[i])));
  const samples = subsetSamples(d.train, sourcesOf(d).mixed, keys);
  if (samples.length !== keys.size) throw new Error(`${keys.size - samples.length} of the subset's rows are no longer training rows (the held-out share, seed or mix changed): run the curation again.`);
  if (samples.length === 0) throw new Error('The subset is empty: loosen the filters.');
  const info = subsetInfo(c.curation, choice, c.sourceOf);
  d.subset = { keys, samples, info };
  d.report.subset = info;
  return info;
}

/** The subset as JSONL: each row as it was in its file (CurateRow.value), in file order (the dataset's rows, then the mixed-in file's). */
export function exportSubset(choice: SubsetChoice): { name: string; text: string; rows: number } {
  const d = requireDataset();
  const c = current(d);
  const rows = subsetIndices(c.curation, choice);
  const base = d.name.replace(/\.(jsonl|json|txt)$/i, '').replace(/[^\w.-]+/g, '-');
  return { name: `${base}-subset-${rows.length}.jsonl`, text: rows.map((i) => JSON.stringify(c.rows[i].value) + '\n').join(''), rows: rows.length };
}
