/**
 * Curating the training rows (issue 15 item 3) as the page sees it: the
 * settings of the panel, the worker's last curation (protocol.ts
 * CurateView) and which subset would train. The worker computes; this only
 * asks and keeps the answer. Whether training uses the subset is the
 * worker's word: the dataset report's `subset` (dataset.svelte.ts).
 */
import type { CurateRunOptions, CurateView, SubsetChoice, SubsetInfo } from '../../worker/protocol';
import { download } from '../lib/format';
import { engine } from './app.svelte';
import { dataset, setSubset } from './dataset.svelte';
import { models, onModelLoaded } from './model.svelte';

export const curate = $state({
  threshold: 0.8,
  pickN: 50,
  clusters: 8,
  minTokens: null as number | null,
  maxTokens: null as number | null,
  dropShortAnswers: false,
  exactDuplicates: true,
  /** "Keep one of each": the subset takes only the first row of each near-duplicate group */
  onePerGroup: false,
  view: null as CurateView | null,
  /** the near-duplicate threshold the view was made with */
  viewThreshold: 0.8,
  /** what the view was made of: it is shown only while the page still has these */
  madeOf: null as string | null,
  busy: null as { label: string; done: number; total: number } | null,
  error: null as string | null,
});

/** the file the view was made of (its bytes, by identity: a new pick of the same name is a new file) */
let viewFile: Uint8Array | null = null;

/** The files, split and model a curation depends on (Max length and template do not change the rows). */
function madeOfNow(): string | null {
  if (!dataset.file || !models.loadedId || !dataset.report) return null;
  const f = dataset.file;
  const mix = dataset.mix ? `${dataset.mix.name}:${dataset.mix.bytes.length}:${dataset.mixRatio}` : '';
  return [models.loadedId, f.name, f.bytes.length, dataset.validationFraction, dataset.seed, mix].join('|');
}

/** The view, if it is of the dataset and model loaded now. */
export function currentView(): CurateView | null {
  const now = madeOfNow();
  return curate.view && now !== null && curate.madeOf === now && dataset.file?.bytes === viewFile ? curate.view : null;
}

export const choice = (): SubsetChoice => ({ onePerGroup: curate.onePerGroup });

/** The subset the panel's choice makes (the pick, or the filtered rows with or without one of each group). */
export function chosenSubset(v: CurateView): SubsetInfo {
  return curate.onePerGroup ? v.subsets.onePerGroup : v.subsets.all;
}

function options(pick: boolean): CurateRunOptions {
  const filters = {
    ...(curate.minTokens !== null && curate.minTokens > 0 ? { minTokens: curate.minTokens } : {}),
    ...(curate.maxTokens !== null && curate.maxTokens > 0 ? { maxTokens: curate.maxTokens } : {}),
    answerShorterThanPrompt: curate.dropShortAnswers,
    exactDuplicates: curate.exactDuplicates,
  };
  return { threshold: curate.threshold, select: pick ? curate.pickN : null, clusters: curate.clusters > 0 ? curate.clusters : null, filters };
}

/** What is wrong with the settings, or null. */
export function settingsProblem(pick: boolean): string | null {
  if (!(curate.threshold > 0 && curate.threshold <= 1)) return 'The near-duplicate threshold must be above 0 and at most 1.';
  if (!Number.isInteger(curate.clusters) || curate.clusters < 1) return 'Clusters must be a whole number of at least 1.';
  if (curate.minTokens !== null && curate.maxTokens !== null && curate.minTokens > curate.maxTokens) return `Min tokens (${curate.minTokens}) is above max tokens (${curate.maxTokens}).`;
  if (pick && (!Number.isInteger(curate.pickN) || curate.pickN < 1)) return 'N must be a whole number of at least 1.';
  return null;
}

/** Runs the curation in the worker (`pick`: with a k-center pick of N); a subset already training follows the new result. */
export async function runCuration(pick: boolean): Promise<void> {
  const problem = settingsProblem(pick);
  if (problem) return void (curate.error = problem);
  curate.error = null;
  curate.busy = { label: 'Starting', done: 0, total: 1 };
  const madeOf = madeOfNow();
  try {
    const asked = options(pick);
    const r = await engine().call({ type: 'curate-run', options: asked }, 'curated', {
      onEvent: (e) => e.type === 'progress' && (curate.busy = { label: e.label, done: e.done, total: e.total }),
    });
    curate.view = r.view;
    curate.viewThreshold = asked.threshold;
    curate.madeOf = madeOf;
    viewFile = dataset.file?.bytes ?? null;
    if (dataset.report?.subset) await useSubset(true);
  } catch (e) {
    curate.error = (e as Error).message;
  } finally {
    curate.busy = null;
  }
}

export function stopCuration(): void {
  void engine().request({ type: 'curate-stop' });
}

export async function keepOneOfEach(on: boolean): Promise<void> {
  curate.onePerGroup = on;
  if (dataset.report?.subset && currentView()) await useSubset(true);
}

/** Train on the chosen subset (true) or on every training row. */
export async function useSubset(on: boolean): Promise<void> {
  curate.error = null;
  try {
    const r = await engine().call({ type: 'curate-subset', choice: on ? choice() : null }, 'subset');
    setSubset(r.subset);
  } catch (e) {
    curate.error = (e as Error).message;
  }
}

export async function downloadSubset(): Promise<void> {
  curate.error = null;
  try {
    const r = await engine().call({ type: 'curate-export', choice: choice() }, 'subset-jsonl');
    download(r.name, r.text, 'application/jsonl');
  } catch (e) {
    curate.error = (e as Error).message;
  }
}

// a new model (or the same one again) embeds differently: its worker has no curation yet
onModelLoaded(() => {
  curate.view = null;
  curate.madeOf = null;
});
