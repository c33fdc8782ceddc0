/**
 * The in-context baseline, page side (issue 15 item 2): k example exchanges
 * from the training split before each prompt, the base model answering
 * (worker/incontext.ts). Once set, "In-context (base + k examples)" is a pick
 * like base and the runs (picks.svelte.ts): in Compare, blind votes, the
 * judge and the runs table.
 */
import type { InContextSummary } from '../../worker/protocol';
import { engine } from './app.svelte';

export const incontext = $state({
  k: 3,
  choose: 'representative' as 'representative' | 'rows',
  /** row numbers as the user typed them ("3, 17, 40") */
  rowsText: '',
  busy: null as { label: string; done: number; total: number } | null,
  error: null as string | null,
  summary: null as InContextSummary | null,
  /** its last held-out loss (Compare's Held-out loss with it as a side) */
  heldout: null as { loss: number; perplexity: number; rows: number; examples: number } | null,
});

/** The pick's name in the selects and the table. */
export function inContextLabel(s: InContextSummary | null = incontext.summary): string {
  return s ? `In-context (base + ${s.rows.length} example${s.rows.length === 1 ? '' : 's'})` : 'In-context (base + k examples)';
}

/** Row numbers from "3, 17 40", or an error naming the first part that is not one. */
export function parseRowNumbers(text: string): number[] | string {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (parts.length === 0) return 'Type the row numbers of the examples, e.g. 3, 17, 40.';
  const bad = parts.find((p) => !/^\d+$/.test(p) || Number(p) < 1);
  if (bad !== undefined) return `"${bad}" is not a row number (whole numbers from 1).`;
  return parts.map(Number);
}

/** Sets the baseline in the worker; `maxNewTokens` (Compare's) sizes the room left for prompts. */
export async function setBaseline(maxNewTokens: number): Promise<void> {
  incontext.error = null;
  let choose: 'representative' | { rows: number[] } = 'representative';
  if (incontext.choose === 'rows') {
    const rows = parseRowNumbers(incontext.rowsText);
    if (typeof rows === 'string') {
      incontext.error = rows;
      return;
    }
    choose = { rows };
  }
  incontext.busy = { label: incontext.choose === 'rows' ? 'Reading the rows' : 'Embedding the training prompts', done: 0, total: 0 };
  try {
    const r = await engine().call({ type: 'incontext-set', k: incontext.k, choose, maxNewTokens }, 'incontext', {
      onEvent: (e) => e.type === 'progress' && (incontext.busy = { label: e.label, done: e.done, total: e.total }),
    });
    incontext.summary = r.summary;
    incontext.heldout = null; // other examples: the last score was another baseline's
  } catch (e) {
    incontext.error = (e as Error).message;
  } finally {
    incontext.busy = null;
  }
}

/** The worker forgets the baseline with a new model or dataset; so does the page. */
export function forgetBaseline(): void {
  incontext.summary = null;
  incontext.heldout = null;
}
