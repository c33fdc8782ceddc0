/**
 * The judge-scored quality filter in the worker (issue 24 part 1): the loaded
 * judge (worker/judge.ts) scores the dataset's training rows 1–5 with
 * src/engine/curate/quality.ts (an AlpaGasus-style rubric, a likelihood-based
 * score read after "Score:", unscored when no digit is among its top tokens),
 * and "train on the rows scoring ≥ N" sets a subset on the prepared dataset
 * as the diversity curation's subsets do (subset.ts row keys; the runs table
 * names it by its description).
 *
 * Scores are cached here per (judge, row text) for the worker's life, so a
 * second pass, another threshold or Stop-then-score-again reads only the rows
 * not read before. (The page may back the cache with IndexedDB later: the
 * engine's ScoreCache is any Map-like store.)
 */
import { modelQualityJudge, rowsScoringAtLeast, scoreRows, type CurateRow, type RowScore } from '../engine/curate';
import { rowLabel } from '../engine/data';
import { sourcesOf, trainingRows } from './curate';
import { requireJudge } from './judge';
import type { QualityView, SubsetInfo } from './protocol';
import { requireDataset, type PreparedSplit } from './session';
import { rowKey, sameFiles, subsetSamples, type CurateSources } from './subset';

interface Scored {
  sources: CurateSources;
  judgeId: string;
  judgeName: string;
  rows: CurateRow[];
  sourceOf: number[];
  scores: RowScore[];
}

const cache = new Map<string, RowScore>();
let last: Scored | null = null;
let scoring: AbortController | null = null;

const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1).trimEnd()}…` : text);

/** Scores every training row with the loaded judge; rows scored before (same judge, same text) cost no forward. */
export async function runScoring(progress: (label: string, done: number, total: number) => void): Promise<QualityView> {
  if (scoring) throw new Error('The judge is already scoring the rows.');
  const j = requireJudge();
  const d = requireDataset();
  const sources = sourcesOf(d);
  const ctrl = new AbortController();
  scoring = ctrl;
  try {
    progress('Reading the training rows', 0, 1);
    const { rows, sourceOf } = await trainingRows(d, sources);
    if (rows.length === 0) throw new Error('There are no training rows to score.');
    const judgeId = `${j.summary.name} · ${j.summary.weightFormat}`;
    const t0 = performance.now();
    const r = await scoreRows(modelQualityJudge(j.model, j.tokenizer, { id: judgeId }), rows, {
      cache,
      signal: ctrl.signal,
      onProgress: (done, total) => progress('Scoring the rows with the judge', done, total),
    });
    last = { sources, judgeId, judgeName: j.summary.name, rows, sourceOf, scores: r.scores };
    return view(last, r.read, r.cached, (performance.now() - t0) / 1000);
  } catch (e) {
    if (ctrl.signal.aborted) throw new Error('Scoring stopped: the rows scored so far are kept, so scoring again reads only the rest.');
    throw e;
  } finally {
    scoring = null;
  }
}

export function stopScoring(): void {
  scoring?.abort();
}

function view(s: Scored, read: number, cached: number, seconds: number): QualityView {
  const names = s.sources.files.map((f) => f.name);
  const label = (i: number) => rowLabel(s.rows[i]) + (names.length > 1 ? ` of ${names[s.sourceOf[i]]}` : '');
  return {
    judge: s.judgeName,
    rows: s.scores.map((x, i) => ({ label: label(i), prompt: short(s.rows[i].prompt, 160), response: short(s.rows[i].response, 160), score: x.score, reply: x.reply, reason: x.reason ?? null })),
    read,
    cached,
    seconds,
  };
}

function current(d: PreparedSplit): Scored {
  if (!last || !d.sources || !sameFiles(last.sources, d.sources)) throw new Error('Score the rows with the judge on this dataset first.');
  return last;
}

/** Trains on the rows of the last scoring that scored ≥ minScore (the dataset's subset from now on). */
export function setScoreSubset(minScore: number): SubsetInfo {
  if (!(Number.isInteger(minScore) && minScore >= 1 && minScore <= 5)) throw new Error(`The threshold must be a whole score from 1 to 5 (got ${minScore}).`);
  const d = requireDataset();
  const s = current(d);
  const rows = rowsScoringAtLeast(s.scores, minScore);
  if (rows.length === 0) throw new Error(`No row scores ≥ ${minScore}: lower the threshold.`);
  const keys = new Set(rows.map((i) => rowKey(s.sourceOf[i], s.rows[i])));
  const samples = subsetSamples(d.train, sourcesOf(d).mixed, keys);
  if (samples.length !== keys.size) throw new Error(`${keys.size - samples.length} of the subset's rows are no longer training rows (the held-out share, seed or mix changed): score the rows again.`);
  const unscored = s.scores.filter((x) => x.score === null).length;
  const info: SubsetInfo = {
    rows: samples.length,
    of: s.rows.length,
    mixed: rows.filter((i) => s.sourceOf[i] > 0).length,
    kind: 'judge',
    description: `${samples.length} of ${s.rows.length} scoring ≥ ${minScore} by the judge ${s.judgeName}${unscored ? ` (${unscored} unscored left out)` : ''}`,
  };
  d.subset = { keys, samples, info };
  d.report.subset = info;
  return info;
}
