/**
 * The curated subset of the training rows (issue 15 item 3), as pure
 * functions: which rows a curation's choice keeps, how a run names them,
 * and which training samples they are.
 *
 * A row is known by its file (0 = the dataset, 1 = the one mixed in) and its
 * place in it (line, array position): the key survives a re-preparation of
 * the same files (a new Max length re-tokenizes every row), so a subset is
 * carried over as long as every one of its rows is still a training row.
 */
import { locationKey, type FieldMap, type FormatId, type RowLocation, type TokenizedSample } from '../engine/data';
import type { DropReason } from '../engine/curate';
import type { DatasetReport, SubsetChoice, SubsetInfo, SubsetKind } from './protocol';

/** The files a prepared dataset's rows came from, and which of its training samples were mixed in from the second. */
export interface CurateSources {
  files: { name: string; bytes: Uint8Array; format: FormatId | null; fieldMap: FieldMap }[];
  mixed: Set<TokenizedSample>;
}

/** Training on a subset: its row keys, their samples (in the training split's order) and how it is named. */
export interface TrainingSubset {
  keys: Set<string>;
  samples: TokenizedSample[];
  info: SubsetInfo;
}

export const rowKey = (source: number, at: RowLocation): string => `${source}|${locationKey(at)}`;

/** The training samples whose rows are in `keys`, in the split's order. */
export function subsetSamples(train: readonly TokenizedSample[], mixed: ReadonlySet<TokenizedSample>, keys: ReadonlySet<string>): TokenizedSample[] {
  return train.filter((s) => keys.has(rowKey(mixed.has(s) ? 1 : 0, s)));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether two preparations read the same files (names and bytes). */
export function sameFiles(a: CurateSources, b: CurateSources): boolean {
  return a.files.length === b.files.length && a.files.every((f, i) => f.name === b.files[i].name && sameBytes(f.bytes, b.files[i].bytes));
}

/** What a curation result holds that a choice reads (engine/curate CurateResult's indices). */
export interface Curation {
  filters: { kept: number[]; dropped: { reason: DropReason }[] };
  candidates: number[];
  selected: number[];
  nearDuplicates: { groups: number[][] };
  /** whether k-center picked `selected` (the run had a count) */
  picked: boolean;
  /** rows curated: every training row */
  rows: number;
}

/**
 * The rows a choice keeps, ascending (file order): the k-center pick when
 * the curation made one (it is taken from one of each near-duplicate group
 * already), else every row the filters kept, only the first of each
 * near-duplicate group when `onePerGroup`.
 */
export function subsetIndices(c: Curation, choice: SubsetChoice): number[] {
  const rows = c.picked ? c.selected : choice.onePerGroup ? c.candidates : c.filters.kept;
  return [...rows].sort((a, b) => a - b);
}

const REASON: Record<DropReason, (n: number) => string> = {
  'too short': (n) => `${n} too short`,
  'too long': (n) => `${n} too long`,
  'answer shorter than prompt': (n) => `${n} with an answer shorter than the prompt`,
  'exact duplicate': (n) => `${n} exact ${n === 1 ? 'duplicate' : 'duplicates'}`,
};

/** "50 diverse (k-center) of 950, near-duplicates removed (one of each of 12 groups), filters dropped 9 (9 exact duplicates)" */
export function describeSubset(c: Curation, choice: SubsetChoice, rows: number): string {
  const parts = [c.picked ? `${rows} diverse (k-center) of ${c.rows}` : `${rows} of ${c.rows}`];
  const groups = c.nearDuplicates.groups.length;
  if ((c.picked || choice.onePerGroup) && groups > 0) parts.push(`near-duplicates removed (one of each of ${groups} ${groups === 1 ? 'group' : 'groups'})`);
  const dropped = c.filters.dropped;
  if (dropped.length > 0) {
    const counts = new Map<DropReason, number>();
    for (const d of dropped) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
    parts.push(`filters dropped ${dropped.length} (${[...counts].map(([r, n]) => REASON[r](n)).join(', ')})`);
  }
  if (parts.length === 1 && rows === c.rows) parts.push('nothing removed');
  return parts.join(', ');
}

/** The subset a choice makes: its size, of how many, how many were mixed in, and its name. `sourceOf[i]`: row i's file. */
export function subsetInfo(c: Curation, choice: SubsetChoice, sourceOf: readonly number[]): SubsetInfo {
  const rows = subsetIndices(c, choice);
  return { rows: rows.length, of: c.rows, mixed: rows.filter((i) => sourceOf[i] > 0).length, description: describeSubset(c, choice, rows.length), kind: c.picked ? 'diverse' : 'filtered' };
}

/**
 * Keeps the previous preparation's subset on a new one of the same files
 * when every row of it is still a training row (sets `next.subset` and the
 * report's `subset`); otherwise the new preparation trains on every row, and
 * its report warns when the same files lost rows of the subset.
 */
export function carrySubset(
  old: { sources?: CurateSources; subset?: TrainingSubset | null } | null,
  next: { sources?: CurateSources; subset?: TrainingSubset | null; train: TokenizedSample[]; report: DatasetReport },
): void {
  next.subset = null;
  if (!old?.subset || !old.sources || !next.sources || !sameFiles(old.sources, next.sources)) return;
  const samples = subsetSamples(next.train, next.sources.mixed, old.subset.keys);
  const missing = old.subset.keys.size - samples.length;
  if (missing > 0) {
    next.report.warnings = [
      ...next.report.warnings,
      `The curated subset (${old.subset.info.description}) was dropped: ${missing} of its ${old.subset.keys.size} rows are no longer training rows (the Max length, held-out share or mix changed which rows are used). Training uses every training row; run the curation again to choose a subset.`,
    ];
    return;
  }
  next.subset = { ...old.subset, samples };
  next.report.subset = old.subset.info;
}

/**
 * A restored run's dataset: its saved training rows are the subset it
 * trained on when its record names one, so the report says so (the page
 * shows it) and a new run from here records it too. The full split was not
 * saved: to curate again, load the file.
 */
export function restoredSubset(d: { train: TokenizedSample[]; subset?: TrainingSubset | null; report: DatasetReport }, record: { dataset: { subset?: string; subsetKind?: SubsetKind; mixed: number } }): void {
  const { subset: _saved, ...report } = d.report;
  const description = record.dataset.subset;
  const kind = record.dataset.subsetKind;
  const info: SubsetInfo | null = description ? { rows: d.train.length, of: report.train, mixed: record.dataset.mixed, description, ...(kind ? { kind } : {}) } : null;
  d.report = info ? { ...report, subset: info } : report;
  d.subset = info ? { keys: new Set(), samples: d.train, info } : null;
}
