/**
 * The judge-scored quality filter (issue 24 part 1), page side: the judge
 * loaded in the Judge panel (judge.svelte.ts) scores the training rows 1–5
 * in the worker (worker/quality.ts); the page keeps the scores, draws the
 * histogram with the unscored count, lists the rows below the threshold with
 * the judge's reply, and asks the worker to train on the rows scoring ≥ N
 * (a subset like the curation's: the runs table names it).
 */
import type { QualityView } from '../../worker/protocol';
import { engine } from './app.svelte';
import { dataset, setSubset } from './dataset.svelte';
import { judge } from './judge.svelte';

export const quality = $state({
  view: null as QualityView | null,
  /** "train on the rows scoring ≥ minScore" */
  minScore: 4,
  busy: null as { label: string; done: number; total: number } | null,
  error: null as string | null,
});

/** the dataset file the view was scored on (its bytes, by identity: a new pick of the same name is a new file) */
let viewFile: Uint8Array | null = null;

/** The view, if it is of the dataset file loaded now. */
export function currentQuality(): QualityView | null {
  return quality.view && dataset.file?.bytes === viewFile ? quality.view : null;
}

/** How many rows score ≥ minScore (what "Train on the rows scoring ≥ N" trains on). */
export function keptRows(v: QualityView, minScore: number): number {
  return v.rows.filter((r) => r.score !== null && r.score >= minScore).length;
}

/** Rows per score 1..5 and unscored. */
export function histogram(v: QualityView): { counts: [number, number, number, number, number]; unscored: number } {
  const counts: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  let unscored = 0;
  for (const r of v.rows) {
    if (r.score === null) unscored++;
    else counts[r.score - 1]++;
  }
  return { counts, unscored };
}

/** What keeps "Score the rows" from running, or null. */
export function scoreBlocker(): string | null {
  if (!judge.loaded) return 'Load a judge model first (the Judge panel): an instruct model, e.g. SmolLM2-135M-Instruct.';
  if (!dataset.report) return 'Load a dataset first.';
  return null;
}

export async function scoreRows(): Promise<void> {
  quality.error = null;
  quality.busy = { label: 'Starting', done: 0, total: 1 };
  const file = dataset.file?.bytes ?? null;
  try {
    const r = await engine().call({ type: 'quality-run' }, 'quality', {
      onEvent: (e) => e.type === 'progress' && (quality.busy = { label: e.label, done: e.done, total: e.total }),
    });
    quality.view = r.view;
    viewFile = file;
  } catch (e) {
    quality.error = (e as Error).message;
  } finally {
    quality.busy = null;
  }
}

export function stopScoring(): void {
  void engine().request({ type: 'quality-stop' });
}

/** Train on the rows scoring ≥ quality.minScore. */
export async function useScoreSubset(): Promise<void> {
  quality.error = null;
  try {
    const r = await engine().call({ type: 'quality-subset', minScore: quality.minScore }, 'subset');
    setSubset(r.subset);
  } catch (e) {
    quality.error = (e as Error).message;
  }
}
