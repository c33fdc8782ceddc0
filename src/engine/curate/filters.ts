/**
 * The filters users of data-curation tools expect before choosing rows:
 * a length range (tokens of prompt + response, as training sees them), an
 * answer shorter than its prompt (often a truncated or lazy reply), and
 * exact duplicates (the data pipeline's own test: stats.ts duplicateRows,
 * the first of each repeated row kept). Each dropped row says why.
 */
import { duplicateRows, locationKey, locationOf, type RowLocation } from '../data';
import type { CurateRow } from './rows';

export interface FilterOptions {
  /** tokens of prompt + response; needed for minTokens/maxTokens */
  tokensOf?: (row: CurateRow, i: number) => number;
  minTokens?: number;
  maxTokens?: number;
  /** drop rows whose response has fewer characters than their prompt */
  answerShorterThanPrompt?: boolean;
  /** drop rows that repeat an earlier row exactly (default true) */
  exactDuplicates?: boolean;
}

export type DropReason = 'too short' | 'too long' | 'answer shorter than prompt' | 'exact duplicate';

export interface FilterResult {
  /** indices of the rows kept, ascending */
  kept: number[];
  /** rows dropped: `row` is the index into the input rows (RowLocation's own `index` is a JSON-array position) */
  dropped: (RowLocation & { row: number; reason: DropReason })[];
}


export function filterRows(rows: readonly CurateRow[], opts: FilterOptions): FilterResult {
  const dups = opts.exactDuplicates === false ? new Set<string>() : new Set(duplicateRows([...rows]).map((r) => locationKey(r)));
  if ((opts.minTokens !== undefined || opts.maxTokens !== undefined) && !opts.tokensOf) throw new Error('a token-length range needs tokensOf');
  const kept: number[] = [];
  const dropped: FilterResult['dropped'] = [];
  rows.forEach((r, i) => {
    let reason: DropReason | null = null;
    const n = opts.tokensOf && (opts.minTokens !== undefined || opts.maxTokens !== undefined) ? opts.tokensOf(r, i) : 0;
    if (opts.minTokens !== undefined && n < opts.minTokens) reason = 'too short';
    else if (opts.maxTokens !== undefined && n > opts.maxTokens) reason = 'too long';
    else if (opts.answerShorterThanPrompt && r.response.length < r.prompt.length) reason = 'answer shorter than prompt';
    else if (dups.has(locationKey(r))) reason = 'exact duplicate';
    if (reason) dropped.push({ ...locationOf(r), row: i, reason });
    else kept.push(i);
  });
  return { kept, dropped };
}
