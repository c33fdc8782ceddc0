/**
 * Will training fit? The memory model's estimate (src/engine/memory_model.ts)
 * for a catalogue entry (or a GGUF's header) at the chosen training
 * settings, checked against the adapter's buffer limits (from the worker's
 * GPU info) and a GPU-memory budget. No browser API reports how much memory the GPU has, so the budget
 * is the user's to set (kept in localStorage); the default suits a laptop.
 * Every estimate here is at the Save memory choice resolved for that model
 * (lib/save_memory.ts): with Auto, a run that fits only with activation
 * checkpointing shows as fitting, and the run gets checkpointing; and at
 * the Frozen weights choice resolved for that model (lib/frozen_bits.ts):
 * with Auto, the most bits that fit, which the load then asks for. The
 * loaded model's figures are at the bits it was loaded with.
 */
import { checkFit, suggestFit, type FitReport, type MemoryEstimate, type MemoryLimits, type MemoryQuery } from '../../engine/memory_model';
import type { FrozenBits } from '../../engine/frozen';
import type { FrozenSizes, ModelSummary, ResolvedTrainSettings, TrainSettings } from '../../worker/protocol';
import { decideFrozenBits, readFrozenChoice, residencyBytes, tableResidencies, tryResidency, uploadBits, type FrozenChoice, type FrozenDecision, type FrozenTry, type Residency } from '../lib/frozen_bits';
import { entryQuery, loadedQuery, type CatalogueEntry } from '../lib/hub';
import { entrySizes, type ModelBasis } from '../lib/model_basis';
import { decideSaveMemory, type SaveMemoryDecision } from '../lib/save_memory';
import { gpu } from './app.svelte';
import { models } from './model.svelte';

export const DEFAULT_BUDGET_GIB = 4;
const KEY = 'lima.gpuBudgetGiB';
const FROZEN_KEY = 'lima.frozenBits';
/** WebGPU's default limits, for when the adapter is not known yet */
const DEFAULT_BINDING = 128 * 2 ** 20;
const DEFAULT_BUFFER = 256 * 2 ** 20;

function storedBudget(): number {
  const v = Number(globalThis.localStorage?.getItem(KEY));
  return v > 0 ? v : DEFAULT_BUDGET_GIB;
}

export const memory = $state({ budgetGiB: storedBudget(), frozenBits: readFrozenChoice(globalThis.localStorage?.getItem(FROZEN_KEY) ?? undefined) as FrozenChoice });

export function setBudget(gib: number): void {
  if (!(gib > 0)) return;
  memory.budgetGiB = gib;
  globalThis.localStorage?.setItem(KEY, String(gib));
}

/** The Frozen weights choice (kept in localStorage like the budget); it applies at the next load. */
export function setFrozenBits(choice: FrozenChoice): void {
  memory.frozenBits = choice;
  globalThis.localStorage?.setItem(FROZEN_KEY, String(choice));
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
  /** the Frozen weights choice resolved for this model (the estimate is at its bits); null for the loaded model (at the bits it has) */
  frozen: FrozenDecision | null;
  sizes: FrozenSizes | null;
  /** the estimate at each frozen-bits choice (lib/frozen_bits.ts tableResidencies), for the page's table; empty for the loaded model */
  table: FrozenTry[];
}

/** The estimate for a memory query at the settings' Save memory choice, and whether it fits. */
function fitOf(base: MemoryQuery, s: TrainSettings, frozen: FrozenDecision | null = null, sizes: FrozenSizes | null = null): EntryFit {
  const limits = memoryLimits();
  const save = frozen?.save ?? decideSaveMemory(s.saveMemory, base, limits);
  const query = { ...base, weightBytes: frozen?.weightBytes ?? base.weightBytes, checkpointing: save.checkpointing };
  const estimate = save.checkpointing ? save.with : save.without;
  const fit = checkFit(estimate, limits);
  const table = sizes ? tableResidencies(sizes).map((r) => tryResidency(r, sizes, base, s.saveMemory, limits)) : [];
  return { estimate, fit, limits, save, suggestion: fit.fits ? null : suggestFit(query, limits), frozen, sizes, table };
}

/** The estimate for a model not loaded yet, at the Frozen weights choice (`choice`, default the page's) resolved for it. */
function basisFit(base: MemoryQuery, sizes: FrozenSizes, s: TrainSettings, choice: FrozenChoice = memory.frozenBits): EntryFit {
  return fitOf(base, s, decideFrozenBits(choice, sizes, base, s.saveMemory, memoryLimits()), sizes);
}

/** The estimate for training catalogue entry `e` with these settings (the page's), and whether it fits. */
export function entryFit(e: CatalogueEntry, s: TrainSettings, choice?: FrozenChoice): EntryFit {
  return basisFit(entryQuery(e, s), entrySizes(e), s, choice);
}

/** The same for the model on the GPU now, at the bits it was loaded with; null when none is loaded. */
export function loadedFit(s: TrainSettings): EntryFit | null {
  return models.loaded ? fitOf(loadedQuery(models.loaded, s), s) : null;
}

/** The same for a model known by its shape and sizes alone (a GGUF's header, an HF folder's files, before it is loaded). */
export function shapeFit(m: Pick<ModelSummary, 'shape' | 'frozenSizes'>, s: TrainSettings, choice?: FrozenChoice): EntryFit {
  return basisFit(loadedQuery({ shape: m.shape, weightBytes: m.frozenSizes.stored.bytes }, s), m.frozenSizes, s, choice);
}

/** The frozenBits a load of this model asks for at the page's choice and settings (undefined: as stored). */
export function loadBits(basis: ModelBasis | null, s: TrainSettings): FrozenBits | undefined {
  if (memory.frozenBits !== 'auto') return memory.frozenBits;
  if (!basis) return undefined;
  return uploadBits(shapeFit({ shape: basis.shape, frozenSizes: basis.sizes }, s).frozen!.residency);
}

/** How the loaded model sits on the GPU (its load's residency). */
export const loadedResidency = (m: ModelSummary): Residency => m.frozenBits ?? 'stored';

/**
 * The Frozen weights choice resolved for the loaded model, when it differs
 * from how the model was loaded (in bytes a weight): what a reload would give.
 * null when nothing would change or no model is loaded.
 */
export function pendingReload(s: TrainSettings): FrozenDecision | null {
  const m = models.loaded;
  if (!m) return null;
  const d = shapeFit(m, s).frozen!;
  return residencyBytes(m.frozenSizes, d.residency) !== residencyBytes(m.frozenSizes, loadedResidency(m)) ? d : null;
}

/** The settings a run starts with: Save memory resolved for the loaded model and the budget, and the bits its frozen base has on the GPU (the run and its recipe record them). */
export function resolveRunSettings(s: TrainSettings): ResolvedTrainSettings {
  // set every time: settings restored from a run may carry another model's
  const frozenBits = models.loaded ? quantizedBits(models.loaded) : undefined;
  return { ...s, gradientCheckpointing: loadedFit(s)?.save.checkpointing ?? s.saveMemory === 'on', memoryBudgetBytes: memoryLimits().budgetBytes, frozenBits };
}

/** TrainConfig.frozenBits of a loaded model: 4 or 8 when its frozen matrices are mostly Q4_* or Q8_0 blocks (asked for, or a GGUF's own), else absent (16-bit or f32). */
export function quantizedBits(m: Pick<ModelSummary, 'weightFormat'>): FrozenBits | undefined {
  const main = m.weightFormat.split(' + ')[0];
  return main.startsWith('Q4') ? 4 : main.startsWith('Q8') ? 8 : undefined;
}
