/**
 * Will training fit? The memory model's estimate (src/engine/memory_model.ts)
 * for a catalogue entry at the chosen training settings, checked against the
 * adapter's buffer limits (from the worker's GPU info) and a GPU-memory
 * budget. No browser API reports how much memory the GPU has, so the budget
 * is the user's to set (kept in localStorage); the default suits a laptop.
 */
import { checkFit, predictTrainingMemory, suggestFit, type FitReport, type MemoryEstimate, type MemoryLimits } from '../../engine/memory_model';
import { entryQuery, type CatalogueEntry } from '../lib/hub';
import { gpu } from './app.svelte';
import { train } from './train.svelte';

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
  /** the largest batch size (or, at batch size 1, max length) that fits; null when these settings fit or nothing does */
  suggestion: { batchSize: number; maxLength: number; estimate: MemoryEstimate } | null;
}

/** The estimate for training `e` with the page's current settings, and whether it fits. */
export function entryFit(e: CatalogueEntry): EntryFit {
  const { rank, batchSize, maxLength, optimizer } = train.settings;
  const query = entryQuery(e, { rank, batchSize, maxLength, optimizer });
  const limits = memoryLimits();
  const estimate = predictTrainingMemory(query);
  const fit = checkFit(estimate, limits);
  return { estimate, fit, limits, suggestion: fit.fits ? null : suggestFit(query, limits) };
}

/** Takes a suggestion into the training settings. */
export function applySuggestion(s: { batchSize: number; maxLength: number }): void {
  train.settings.batchSize = s.batchSize;
  train.settings.maxLength = s.maxLength;
}
