/**
 * Dataset statistics for the data panel and the CLI: how many rows survive,
 * how long the sequences are (so maxLength can be chosen), how many were cut,
 * how many repeat, and how many tokens actually carry loss.
 */
import type { Sample } from './formats';
import { locationOf, type RowLocation } from './location';
import type { TokenizedSample } from './tokenize';

export interface LengthSummary {
  min: number;
  median: number;
  p90: number;
  max: number;
  mean: number;
}

export interface HistogramBucket {
  /** token lengths in [from, to) */
  from: number;
  to: number;
  count: number;
}

export interface DatasetStats {
  rowsUsable: number;
  rowsRejected: number;
  /** sequence length in tokens (after truncation) */
  length: LengthSummary;
  histogram: HistogramBucket[];
  /** samples cut at maxLength */
  truncated: number;
  /** rows whose normalized sample repeats an earlier row exactly */
  duplicates: number;
  /** tokens with a label, summed over samples, and per sample */
  responseTokens: number;
  responseTokensMean: number;
  /** samples where the prompt/reply boundary merged and was re-tokenized */
  boundaryMerges: number;
  /** usable rows with a system message, and how many of them the template left out of the prompt */
  systemMessages: number;
  systemLeftOut: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in [0, 100]). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: number[]): LengthSummary {
  if (values.length === 0) return { min: 0, median: 0, p90: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0],
    median: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    max: sorted[sorted.length - 1],
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
  };
}

/** `count` equal-width buckets covering [0, upTo]; the last bucket includes upTo. */
export function histogram(values: number[], upTo: number, count = 16): HistogramBucket[] {
  const width = Math.max(1, Math.ceil((upTo + 1) / count));
  const buckets: HistogramBucket[] = [];
  for (let from = 0; from <= upTo; from += width) buckets.push({ from, to: Math.min(from + width, upTo + 1), count: 0 });
  for (const v of values) buckets[Math.min(buckets.length - 1, Math.floor(v / width))].count++;
  return buckets;
}

/** Where the rows are whose normalized sample equals an earlier row's (exact match). */
export function duplicateRows(rows: (RowLocation & { sample: Sample })[]): RowLocation[] {
  const seen = new Set<string>();
  const dups: RowLocation[] = [];
  for (const r of rows) {
    const key = JSON.stringify(r.sample);
    if (seen.has(key)) dups.push(locationOf(r));
    else seen.add(key);
  }
  return dups;
}

export function computeStats(
  samples: TokenizedSample[],
  opts: { rowsRejected: number; duplicates: number; maxLength: number; buckets?: number; systemMessages?: number; systemLeftOut?: number },
): DatasetStats {
  const lengths = samples.map((s) => s.ids.length);
  const responseTokens = samples.reduce((n, s) => n + s.responseTokens, 0);
  return {
    rowsUsable: samples.length,
    rowsRejected: opts.rowsRejected,
    length: summarize(lengths),
    histogram: histogram(lengths, opts.maxLength, opts.buckets),
    truncated: samples.filter((s) => s.truncated).length,
    duplicates: opts.duplicates,
    responseTokens,
    responseTokensMean: samples.length ? responseTokens / samples.length : 0,
    boundaryMerges: samples.filter((s) => s.boundaryMerges > 0).length,
    systemMessages: opts.systemMessages ?? 0,
    systemLeftOut: opts.systemLeftOut ?? 0,
  };
}
