/**
 * A training checkpoint as files (for the CLI; the page stores the same
 * object in IndexedDB): `trainer_state.json` (config, step, history) and
 * `checkpoint.safetensors` (adapter A/B and AdamW moments, f32).
 */
import { readSafetensors, writeSafetensors, type WritableTensor } from '../io/safetensors';
import type { TrainCheckpoint } from './trainer';

export interface CheckpointFiles {
  'trainer_state.json': string;
  'checkpoint.safetensors': Uint8Array;
}

export function checkpointToFiles(c: TrainCheckpoint, extra: Record<string, unknown> = {}): CheckpointFiles {
  const tensors = new Map<string, WritableTensor>();
  for (const [k, v] of Object.entries(c.adapter)) {
    tensors.set(`adapter.${k}.A`, { shape: [v.a.length], data: v.a });
    tensors.set(`adapter.${k}.B`, { shape: [v.b.length], data: v.b });
  }
  c.optimizer.m.forEach((m, i) => tensors.set(`optimizer.m.${i}`, { shape: [m.length], data: m }));
  c.optimizer.v.forEach((v, i) => tensors.set(`optimizer.v.${i}`, { shape: [v.length], data: v }));
  const state = { version: c.version, config: c.config, step: c.step, trainSize: c.trainSize, optimizerSteps: c.optimizer.t, history: c.history, ...extra };
  return { 'trainer_state.json': JSON.stringify(state, null, 1), 'checkpoint.safetensors': writeSafetensors(tensors) };
}

export function checkpointFromFiles(files: CheckpointFiles): TrainCheckpoint & { extra: Record<string, unknown> } {
  const state = JSON.parse(files['trainer_state.json']);
  const { tensors } = readSafetensors(files['checkpoint.safetensors'], 'checkpoint.safetensors');
  const adapter: TrainCheckpoint['adapter'] = {};
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (const [name, t] of tensors) {
    let r = /^adapter\.(.+)\.([AB])$/.exec(name);
    if (r) {
      const e = (adapter[r[1]] ??= { a: new Float32Array(), b: new Float32Array() });
      if (r[2] === 'A') e.a = t.data;
      else e.b = t.data;
      continue;
    }
    r = /^optimizer\.([mv])\.(\d+)$/.exec(name);
    if (r) (r[1] === 'm' ? m : v)[Number(r[2])] = t.data;
  }
  const { version, config, step, trainSize, optimizerSteps, history, ...extra } = state;
  return { version, config, step, trainSize, history, adapter, optimizer: { t: optimizerSteps, m, v }, extra };
}
