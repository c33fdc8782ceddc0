/**
 * Next-token sampling on one row of logits (host side; the row is V floats).
 * Order as in HF transformers' logits processors: repetition penalty,
 * temperature, top-k, top-p; temperature 0 is greedy (first maximum, as
 * llama2.c's argmax).
 */
import type { Rng } from './rng';

export interface SamplingOptions {
  /** 0 = greedy */
  temperature: number;
  /** keep the k most likely tokens; 0 = off */
  topK: number;
  /** keep the smallest set whose probability reaches p; 1 = off */
  topP: number;
  /** CTRL-style penalty (Keskar et al. 2019) on tokens already in the context; 1 = off */
  repetitionPenalty: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Penalises tokens seen in `context`: positive logits divided, negative multiplied (HF's rule). */
export function applyRepetitionPenalty(logits: Float32Array, context: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(context)) {
    if (id < 0 || id >= logits.length) continue;
    logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
  }
}

/** Picks the next token. Mutates `logits`. */
export function sampleToken(logits: Float32Array, opts: SamplingOptions, rng: Rng, context: number[] = []): number {
  applyRepetitionPenalty(logits, context, opts.repetitionPenalty);
  if (opts.temperature <= 0) return argmax(logits);
  const V = logits.length;
  // candidates sorted by logit, descending (stable by id for equal logits)
  let idx = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  if (opts.topK > 0 && opts.topK < V) idx = idx.slice(0, opts.topK);
  const maxL = logits[idx[0]];
  let probs = idx.map((i) => Math.exp((logits[i] - maxL) / opts.temperature));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (opts.topP < 1) {
    let cum = 0;
    let keep = probs.length;
    for (let j = 0; j < probs.length; j++) {
      cum += probs[j];
      if (cum >= opts.topP) {
        keep = j + 1;
        break;
      }
    }
    idx = idx.slice(0, keep);
    probs = probs.slice(0, keep);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  const r = rng.next();
  let cum = 0;
  for (let j = 0; j < probs.length; j++) {
    cum += probs[j];
    if (r < cum) return idx[j];
  }
  return idx[idx.length - 1];
}
