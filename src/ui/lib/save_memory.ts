/**
 * "Save memory: recompute activations during backward", the page's choice of
 * auto, on or off, resolved to TrainConfig.gradientCheckpointing for one model
 * at the page's settings. With checkpointing on, each layer keeps only its
 * input in the forward and is recomputed just before its backward: one more
 * forward pass per step (roughly a third more time; BENCHMARKS.md measured
 * 39–44% more on SwiftShader, where the recompute is most of a step's
 * arithmetic) for far less activation memory, with the same gradients
 * (test/gpu/model_backward.test.ts). Auto turns it on
 * exactly when the memory model (src/engine/memory_model.ts) says the run
 * would not fit without it and checkpointing makes it smaller.
 * Pure: no Svelte, no GPU, so the unit tests call it as it is.
 */
import { checkFit, predictWithinBudget, type FitReport, type MemoryEstimate, type MemoryLimits, type MemoryQuery } from '../../engine/memory_model';
import type { SaveMemory, TrainSettings } from '../../worker/protocol';

export const SAVE_MEMORY_DEFAULT: SaveMemory = 'auto';

export const SAVE_MEMORY_CHOICES: { value: SaveMemory; label: string }[] = [
  { value: 'auto', label: 'Auto' },
  { value: 'on', label: 'On' },
  { value: 'off', label: 'Off' },
];

export interface SaveMemoryDecision {
  choice: SaveMemory;
  /** what the run gets: TrainConfig.gradientCheckpointing */
  checkpointing: boolean;
  /** auto chose on: the run does not fit without it */
  auto: boolean;
  /** the estimate without checkpointing, and how it fits: why auto chose what it did */
  without: MemoryEstimate;
  withoutFit: FitReport;
  /** the estimate with checkpointing, and how it fits */
  with: MemoryEstimate;
  withFit: FitReport;
}

/** Decides checkpointing for a memory query (its own `checkpointing` is ignored). */
export function decideSaveMemory(choice: SaveMemory, query: MemoryQuery, limits: MemoryLimits): SaveMemoryDecision {
  // as the run will: its loss chunk sized to the budget
  const without = predictWithinBudget({ ...query, checkpointing: false }, limits.budgetBytes);
  const withCk = predictWithinBudget({ ...query, checkpointing: true }, limits.budgetBytes);
  const withoutFit = checkFit(without, limits);
  // needed and it helps: a run over the budget gets smaller; one buffer over the device's limit
  // only if checkpointing makes that buffer smaller (it does not today: one layer is still recomputed whole)
  const helps = (withoutFit.overBudget && withCk.total < without.total) || (withoutFit.overBuffer && withCk.largestBuffer.bytes < without.largestBuffer.bytes);
  const auto = choice === 'auto' && !withoutFit.fits && helps;
  return { choice, checkpointing: choice === 'on' || auto, auto, without, withoutFit, with: withCk, withFit: checkFit(withCk, limits) };
}

/** The choice as the boolean the Trainer takes. */
export function resolveSaveMemory(choice: SaveMemory, query: MemoryQuery, limits: MemoryLimits): boolean {
  return decideSaveMemory(choice, query, limits).checkpointing;
}

/** Settings saved by a run from before the choice existed (IndexedDB) read as 'auto'. */
export function withSaveMemory(s: Omit<TrainSettings, 'saveMemory'> & { saveMemory?: unknown }): TrainSettings {
  const known = SAVE_MEMORY_CHOICES.some((c) => c.value === s.saveMemory);
  return { ...s, saveMemory: known ? (s.saveMemory as SaveMemory) : SAVE_MEMORY_DEFAULT };
}
