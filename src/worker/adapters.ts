/**
 * Which adapter rides on the resident base weights for one completion or
 * held-out score (Compare: any two of base, run 1, run 2, …). No model
 * reload: the model's `adapter` is swapped for the call and put back after,
 * so the "home" adapter (the training run's, or an imported one) stays what
 * training, export and the rest see.
 *
 * A saved run's adapter is built from its IndexedDB checkpoint (A and B of
 * every target) into a LoraAdapter and uploaded; up to RESIDENT of them stay
 * on the GPU (a compare of run 1 vs run 2 swaps back and forth without
 * reading IndexedDB again), the least recently used one's buffers freed
 * beyond that.
 */
import { uploadTensors } from '../engine/gpu/memory';
import { LoraAdapter } from '../engine/lora';
import { loraConfigOf, type TrainCheckpoint } from '../engine/train/trainer';
import { readRun, readRunData } from './db';
import type { AdapterUse } from './protocol';
import { requireSession } from './session';
import { activeRun } from './training';

const RESIDENT = 2;
/** run id → its adapter on the GPU; Map order is use order, oldest first */
const resident = new Map<number, LoraAdapter>();

/** Frees a run's resident copy (it is being trained again, or deleted). */
export function forgetRunAdapter(id: number): void {
  resident.get(id)?.dispose();
  resident.delete(id);
}

/** Frees every resident copy (the base model is replaced). */
export function forgetAllRunAdapters(): void {
  for (const id of [...resident.keys()]) forgetRunAdapter(id);
}

/** A human name for a use, for messages. */
export function useLabel(use: AdapterUse): string {
  return use === 'base' ? 'the base model' : use === 'current' ? 'the current adapter' : use === 'incontext' ? 'the in-context baseline' : `run ${use.run}`;
}

async function runAdapter(id: number, progress: (label: string) => void): Promise<LoraAdapter> {
  const active = activeRun();
  if (active?.id === id) return active.adapter; // already on the GPU, current to its last step
  const hit = resident.get(id);
  if (hit) {
    resident.delete(id);
    resident.set(id, hit);
    return hit;
  }
  const s = requireSession();
  const record = await readRun(id);
  if (!record) throw new Error(`There is no run ${id}.`);
  if (record.modelId !== s.cacheId) throw new Error(`${record.name} was trained on ${record.modelName}, not on the model loaded now.`);
  progress(`Loading ${record.name}'s adapter`);
  const data = await readRunData(id);
  if (!data) throw new Error(`${record.name} has no saved adapter yet (it is saved at its first checkpoint).`);
  const ckpt = data.checkpoint as TrainCheckpoint;
  const adapter = new LoraAdapter(s.model.config, loraConfigOf(ckpt.config), { tensors: new Map(Object.entries(ckpt.adapter)) });
  uploadTensors(adapter);
  resident.set(id, adapter);
  while (resident.size > RESIDENT) forgetRunAdapter(resident.keys().next().value!);
  return adapter;
}

/**
 * Runs `f` with `use`'s adapter on the model (adapterEnabled off for base),
 * then puts the home adapter back. `f` gets whether an adapter is on.
 */
export async function withAdapter<T>(use: AdapterUse, f: (adapterOn: boolean) => Promise<T>, progress: (label: string) => void = () => {}): Promise<T> {
  const model = requireSession().model;
  const home = model.adapter;
  const homeEnabled = model.adapterEnabled;
  try {
    if (use === 'base') return await f(false);
    // the baseline's prefix goes into the prompt (worker/incontext.ts generateUse); a bare adapter-off score would be the base model under its name
    if (use === 'incontext') throw new Error('The in-context baseline has no score here (it answers prompts and has a held-out loss): pick the base model or a run.');
    if (use === 'current') {
      if (!home) throw new Error('There is no adapter yet: train one or import one.');
      return await f(true);
    }
    model.adapter = await runAdapter(use.run, progress);
    return await f(true);
  } finally {
    model.adapter = home;
    model.adapterEnabled = homeEnabled;
  }
}
