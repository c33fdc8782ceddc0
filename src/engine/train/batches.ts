/**
 * Turning tokenized samples into padded or packed micro-batches.
 *
 * A sample is {ids, labels} with labels aligned to ids (−100 = not trained).
 * Position t predicts token t+1, so the target of position t is labels[t+1].
 *
 * Unpacked: one sample per row, rows padded to a length bucket (a multiple of
 * `bucket`, so tfjs compiles few shader variants), segment id 1 on real tokens
 * and 0 on padding. Packed: the same samples laid end to end into as few rows
 * as fit (first-fit), each sample with its own segment id and positions
 * restarting at 0, so attention never crosses samples and the loss equals the
 * unpacked one.
 */
import type { TokenizedSample } from '../data/tokenize';

export const IGNORE = -100;

export interface MicroBatch {
  rows: number; // B
  length: number; // T
  ids: Int32Array; // (B, T), 0 on padding
  positions: Int32Array; // (B, T)
  segments: Int32Array; // (B, T) 0 = padding
  /** flat indices b·T + t of positions that have a target, and those targets */
  targetIndex: Int32Array;
  targets: Int32Array;
  /** number of trained tokens */
  tokens: number;
}

export function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** What a batch reads of a sample: its ids and labels (labels[t] is position t−1's target, or IGNORE). */
export type BatchRow = Pick<TokenizedSample, 'ids' | 'labels'>;

function fill(rows: BatchRow[][], length: number): MicroBatch {
  const B = rows.length;
  const ids = new Int32Array(B * length);
  const positions = new Int32Array(B * length);
  const segments = new Int32Array(B * length);
  const ti: number[] = [];
  const tg: number[] = [];
  rows.forEach((row, b) => {
    let off = 0;
    row.forEach((s, k) => {
      const n = s.ids.length;
      for (let t = 0; t < n; t++) {
        const at = b * length + off + t;
        ids[at] = s.ids[t];
        positions[at] = t;
        segments[at] = k + 1;
        const target = t + 1 < n ? s.labels[t + 1] : IGNORE;
        if (target !== IGNORE) {
          ti.push(at);
          tg.push(target);
        }
      }
      off += n;
    });
  });
  return { rows: B, length, ids, positions, segments, targetIndex: Int32Array.from(ti), targets: Int32Array.from(tg), tokens: tg.length };
}

/** One row per sample, padded to a multiple of `bucket` (at most maxLength). */
export function padBatch(samples: BatchRow[], maxLength: number, bucket = 32): MicroBatch {
  const longest = Math.max(...samples.map((s) => s.ids.length));
  return fill(samples.map((s) => [s]), Math.min(maxLength, roundUp(longest, bucket)));
}

/** The same samples packed first-fit into rows of length maxLength (or less when they all fit in a shorter bucket). */
export function packBatch(samples: TokenizedSample[], maxLength: number, bucket = 32): MicroBatch {
  const rows: { used: number; items: TokenizedSample[] }[] = [];
  for (const s of samples) {
    const row = rows.find((r) => r.used + s.ids.length <= maxLength);
    if (row) {
      row.used += s.ids.length;
      row.items.push(s);
    } else rows.push({ used: s.ids.length, items: [s] });
  }
  const longest = Math.max(...rows.map((r) => r.used));
  return fill(rows.map((r) => r.items), Math.min(maxLength, roundUp(longest, bucket)));
}

/** Number of trained tokens in samples (targets that are not −100). */
export function countTargets(samples: TokenizedSample[]): number {
  let n = 0;
  for (const s of samples) for (let t = 1; t < s.ids.length; t++) if (s.labels[t] !== IGNORE) n++;
  return n;
}
