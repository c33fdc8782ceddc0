/**
 * Seeded shuffle and train/validation split. Deterministic for a given seed
 * in every JS engine (the engine's mulberry32 `Rng` + Fisher–Yates), so the
 * browser and the CLI hold out the same rows.
 */
import { Rng } from '../rng';

/** A shuffled copy of `items` (Fisher–Yates, seeded). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rng = new Rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface SplitOptions {
  seed: number;
  /** fraction of rows held out, e.g. 0.1; ignored when validationCount is given */
  validationFraction?: number;
  validationCount?: number;
}

/**
 * Shuffle, then hold out the first `validation` rows. A positive fraction
 * holds out at least one row, and at least one row is always left to train
 * on (when there are two or more).
 */
export function splitTrainValidation<T>(items: readonly T[], opts: SplitOptions): { train: T[]; validation: T[] } {
  const n = items.length;
  let k = opts.validationCount ?? Math.round(n * (opts.validationFraction ?? 0));
  if (opts.validationCount === undefined && (opts.validationFraction ?? 0) > 0) k = Math.max(1, k);
  k = Math.max(0, Math.min(k, n - 1));
  const order = shuffled(items, opts.seed);
  return { validation: order.slice(0, k), train: order.slice(k) };
}
