/**
 * Will training fit? The memory model's estimate (src/engine/memory_model.ts)
 * for a catalogue entry (or a GGUF's header) at the chosen training
 * settings, checked against the adapter's buffer limits (from the worker's
 * GPU info) and a GPU-memory budget. No browser API reports how much memory the GPU has, so the budget
 * is the user's to set (kept in localStorage); the default suits a laptop.
 * Every estimate here is at the Save memory choice resolved for that model
 * (lib/save_memory.ts): with Auto, a run that fits only with activation
 * checkpointing shows as fitting, and the run gets checkpointing.
 */
import { checkFit, suggestFit, type FitReport, type MemoryEstimate, type MemoryLimits, type MemoryQuery } from '../../engine/memory_model';
import type { ModelSummary, ResolvedTrainSettings, TrainSettings } from '../../worker/protocol';
import { entryQuery, loadedQuery, type CatalogueEntry } from '../lib/hub';
import { decideSaveMemory, type SaveMemoryDecision } from '../lib/save_memory';
import { gpu } from './app.svelte';
import { models } from './model.svelte';

export const DEFAULT_BUDGET_GIB = 4;
const KEY = 'lima.gpuBudgetGiB';
/** WebGPU's default limits, for when the adapter is not known yet */
const DEFAULT_BINDING = 128 * 2 ** 20;
const DEFAULT_BUFFER = 256 * 2 ** 20;

function storedBudget(): number {
  const v = Number(globalThis.localStorage?.getItem(KEY));
  return v > 0 ? v : DEFAULT_BUDGET_GIB;
}

export const memory = $state({ budgetGiB: storedBudget() });

export function setBudget(gib: number): void {
  if (!(gib > 0)) return;
  memory.budgetGiB = gib;
  globalThis.localStorage?.setItem(KEY, String(gib));
}

export function memoryLimits(): MemoryLimits {
  const l = gpu.info?.limits;
  return {
    budgetBytes: memory.budgetGiB * 2 ** 30,
    maxStorageBufferBindingSize: l?.maxStorageBufferBindingSize || DEFAULT_BINDING,
    maxBufferSize: l?.maxBufferSize || DEFAULT_BUFFER,
  };
}

export interface EntryFit {
  estimate: MemoryEstimate;
  fit: FitReport;
  limits: MemoryLimits;
  /** the Save memory choice resolved: whether the estimate is with checkpointing, and why */
  save: SaveMemoryDecision;
  /** the largest batch size (or, at batch size 1, max length) that fits; null when these settings fit or nothing does */
  suggestion: { batchSize: number; maxLength: number; estimate: MemoryEstimate } | null;
}

/** The estimate for a memory query at the settings' Save memory choice, and whether it fits. */
function fitOf(base: MemoryQuery, s: TrainSettings): EntryFit {
  const limits = memoryLimits();
  const save = decideSaveMemory(s.saveMemory, base, limits);
  const query = { ...base, checkpointing: save.checkpointing };
  const estimate = save.checkpointing ? save.with : save.without;
  const fit = checkFit(estimate, limits);
  return { estimate, fit, limits, save, suggestion: fit.fits ? null : suggestFit(query, limits) };
}

/** The estimate for training catalogue entry `e` with these settings (the page's), and whether it fits. */
export function entryFit(e: CatalogueEntry, s: TrainSettings): EntryFit {
  return fitOf(entryQuery(e, s), s);
}

/** The same for the model on the GPU now; null when none is loaded. */
export function loadedFit(s: TrainSettings): EntryFit | null {
  return models.loaded ? fitOf(loadedQuery(models.loaded, s), s) : null;
}

/** The same for a model known by its shape alone (a GGUF's header, before it is loaded). */
export function shapeFit(m: Pick<ModelSummary, 'shape' | 'weightBytes'>, s: TrainSettings): EntryFit {
  return fitOf(loadedQuery(m, s), s);
}

/** The settings a run starts with: Save memory resolved for the loaded model and the budget. */
export function resolveRunSettings(s: TrainSettings): ResolvedTrainSettings {
  return { ...s, gradientCheckpointing: loadedFit(s)?.save.checkpointing ?? s.saveMemory === 'on', memoryBudgetBytes: memoryLimits().budgetBytes };
}
