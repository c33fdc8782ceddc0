/**
 * The training run as the page sees it: settings (from a preset plus the
 * advanced fold), the worker's state, the loss history and the fixed-prompt
 * samples. A run saved in IndexedDB is offered for resuming after a reload.
 */
import { deleteRun, readRunInfo } from '../../worker/db';
import type { EvalPoint, SavedRunInfo, SaveMemory, StepPoint, TrainSettings, TrainState } from '../../worker/protocol';
import { withSaveMemory } from '../lib/save_memory';
import { PRESETS } from '../presets';
import { engine, gpu, onPush, restartEngine } from './app.svelte';
import { dataset, prepare, restoredDataset } from './dataset.svelte';
import { resolveRunSettings } from './memory.svelte';
import { loadCachedById, models } from './model.svelte';

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
  saved: null as SavedRunInfo | null,
  busy: null as string | null,
});

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
  if (dataset.reportMaxLength !== train.settings.maxLength) await prepare();
  // Save memory resolved now, for the loaded model at the budget: the worker gets a plain gradientCheckpointing
  await act({ type: 'train-start', settings: resolveRunSettings($state.snapshot(train.settings) as TrainSettings) });
}

export const pause = () => act({ type: 'train-pause' });
export const resume = () => act({ type: 'train-resume' });
export const stop = () => act({ type: 'train-stop' });

export async function refreshSaved(): Promise<void> {
  train.saved = await readRunInfo().catch(() => null);
}

/**
 * Goes on with the run saved in IndexedDB: after a reload, an error or a lost
 * device (which needs a new worker). Loads the run's model from the cache first.
 */
export async function resumeSaved(): Promise<void> {
  const saved = train.saved ?? (await readRunInfo());
  if (!saved) return;
  train.error = null;
  train.busy = `Restoring the run at step ${saved.step}…`;
  try {
    if (gpu.lost || train.state === 'error') {
      if (!(await restartEngine())) throw new Error(gpu.error ?? 'no GPU');
      models.loaded = null;
    }
    if (!models.loaded || models.loadedId !== saved.modelId) {
      if (!(await loadCachedById(saved.modelId))) throw new Error(`The run's model (${saved.modelName}) is no longer cached: load it again, then press Resume.`);
    }
    const r = await engine().call({ type: 'train-restore' }, 'restored');
    const settings = withSaveMemory(r.settings); // a run saved before the Save memory choice: auto
    train.settings = settings;
    train.preset = PRESETS.find((p) => Object.entries(p.settings).every(([k, v]) => JSON.stringify(settings[k as keyof TrainSettings]) === JSON.stringify(v)))?.id ?? 'custom';
    restoredDataset(r.report, r.template, r.settings.maxLength);
    await engine().call({ type: 'train-resume' }, 'done');
  } catch (e) {
    train.error = `Could not resume: ${(e as Error).message}`;
  } finally {
    train.busy = null;
  }
}

export async function discardSaved(): Promise<void> {
  await deleteRun();
  train.saved = null;
}
