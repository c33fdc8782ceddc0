/**
 * The training run as the page sees it: settings (from a preset plus the
 * advanced fold), the worker's state, the loss history and the fixed-prompt
 * samples. Each start makes a new run (runs.svelte.ts lists them all); the
 * latest unfinished one is offered for resuming after a reload, and any
 * unfinished one can be resumed from the runs table.
 */
import type { EvalPoint, RunRecord, SaveMemory, StepPoint, TrainSettings, TrainState } from '../../worker/protocol';
import { withSaveMemory } from '../lib/save_memory';
import { PRESETS } from '../presets';
import { engine, gpu, onPush, restartEngine } from './app.svelte';
import { dataset, prepare, prepareAtLengthOf, restoredDataset } from './dataset.svelte';
import { loadBits, quantizedBits, resolveRunSettings } from './memory.svelte';
import { decideLoadBits, loadCachedById, models } from './model.svelte';
import { refreshRuns, runs } from './runs.svelte';

export const train = $state({
  preset: 'quick',
  settings: { ...PRESETS[0].settings } as TrainSettings,
  state: 'idle' as TrainState,
  message: null as string | null,
  error: null as string | null,
  steps: [] as StepPoint[],
  evals: [] as EvalPoint[],
  samples: [] as { step: number; samples: { prompt: string; text: string }[] }[],
  adapterParams: 0,
  /** the run training, or last trained, in the worker */
  runId: null as number | null,
  /** the run offered for resuming (the latest unfinished saved one) */
  saved: null as RunRecord | null,
  /** a run whose offer the user dismissed */
  dismissed: null as number | null,
  busy: null as string | null,
});

prepareAtLengthOf(() => train.settings.maxLength);
// a load's frozen bits: the Frozen weights choice resolved at these settings (Auto weighs the training run they describe)
decideLoadBits((basis) => loadBits(basis, train.settings));

export function applyPreset(id: string): void {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) return;
  train.preset = id;
  train.settings = { ...train.settings, ...p.settings } as TrainSettings;
}

/** Takes a memory suggestion (memory.svelte.ts) into the training settings. */
export function applySuggestion(s: { batchSize: number; maxLength: number }): void {
  train.settings.batchSize = s.batchSize;
  train.settings.maxLength = s.maxLength;
}

export function setSaveMemory(choice: SaveMemory): void {
  train.settings.saveMemory = choice;
}

onPush((e) => {
  switch (e.type) {
    case 'train-state':
      train.state = e.state;
      train.adapterParams = e.adapterParams || train.adapterParams;
      train.runId = e.runId;
      if (e.message) train.message = e.message;
      else if (e.state === 'running') train.message = null;
      if (e.state !== 'running' && e.state !== 'pausing') void refreshSaved();
      break;
    case 'train-step':
      train.steps.push(e.point);
      break;
    case 'train-eval':
      train.evals.push(e.point);
      break;
    case 'train-history':
      train.steps = e.steps;
      train.evals = e.evals;
      break;
    case 'train-samples':
      train.samples = [{ step: e.step, samples: e.samples }, ...train.samples].slice(0, 5);
      break;
    case 'device-lost':
      train.state = 'error';
      train.message = `The GPU device was lost (${e.message}). The run is saved up to its last checkpoint: press Resume to go on.`;
      break;
  }
});

async function act(req: Parameters<ReturnType<typeof engine>['call']>[0]): Promise<void> {
  train.error = null;
  try {
    await engine().call(req, 'done');
  } catch (e) {
    train.error = (e as Error).message;
  }
}

export async function start(): Promise<void> {
  train.samples = [];
  train.message = null;
  const subset = dataset.report?.subset;
  if (dataset.reportMaxLength !== train.settings.maxLength) await prepare();
  if (subset && !dataset.report?.subset) {
    // the rows were prepared again at the new Max length and some of the curated subset's rows are no longer used (the report's warning says which): do not train on all rows unasked
    train.error = `Not started: the curated subset (${subset.description}) was dropped when the rows were prepared at Max length ${train.settings.maxLength} (see the dataset's warnings). Curate again, or press Train to use every row.`;
    return;
  }
  // Save memory resolved now, for the loaded model at the budget: the worker gets a plain gradientCheckpointing
  await act({ type: 'train-start', settings: resolveRunSettings($state.snapshot(train.settings) as TrainSettings) });
}

export const pause = () => act({ type: 'train-pause' });
export const resume = () => act({ type: 'train-resume' });
export const stop = () => act({ type: 'train-stop' });

/** Re-reads the runs and picks the one to offer for resuming: the worker's own after an error, else the latest unfinished one. */
export async function refreshSaved(): Promise<void> {
  await refreshRuns();
  const resumable = runs.list.filter((r) => r.saved && r.state !== 'done' && r.id !== train.dismissed);
  train.saved = resumable.find((r) => r.id === train.runId) ?? resumable.sort((a, b) => b.savedAt - a.savedAt)[0] ?? null;
}

/**
 * Goes on with a run saved in IndexedDB (the offered one by default): after a
 * reload, an error or a lost device (which needs a new worker). Loads the
 * run's model from the cache first.
 */
export async function resumeSaved(id?: number): Promise<void> {
  if (id === undefined) await refreshSaved();
  const saved = id === undefined ? train.saved : runs.list.find((r) => r.id === id);
  if (!saved) return;
  train.error = null;
  train.busy = `Restoring ${saved.name} at step ${saved.step}…`;
  try {
    if (gpu.lost || train.state === 'error') {
      if (!(await restartEngine())) throw new Error(gpu.error ?? 'no GPU');
      models.loaded = null;
    }
    // the run goes on over the base it trained on: its model at its frozen bits (absent: unquantized, as stored)
    const runBits = saved.settings.frozenBits;
    if (!models.loaded || models.loadedId !== saved.modelId || quantizedBits(models.loaded) !== runBits) {
      if (!(await loadCachedById(saved.modelId, runBits ?? 'stored'))) throw new Error(`The run's model (${saved.modelName}) is no longer cached: load it again, then press Resume.`);
    }
    const r = await engine().call({ type: 'train-restore', runId: saved.id }, 'restored');
    const settings = withSaveMemory(r.settings); // a run saved before the Save memory choice: auto
    train.settings = settings;
    train.preset = PRESETS.find((p) => Object.entries(p.settings).every(([k, v]) => JSON.stringify(settings[k as keyof TrainSettings]) === JSON.stringify(v)))?.id ?? 'custom';
    restoredDataset(r.report, r.template, r.settings.maxLength);
    train.samples = [];
    await engine().call({ type: 'train-resume' }, 'done');
  } catch (e) {
    train.error = `Could not resume: ${(e as Error).message}`;
  } finally {
    train.busy = null;
  }
}

/** Hides the resume offer (the run stays in the runs table). */
export function dismissSaved(): void {
  train.dismissed = train.saved?.id ?? null;
  train.saved = null;
}
