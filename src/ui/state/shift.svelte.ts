/**
 * "What changed, token by token" in Compare (URIAL's token distribution
 * shift, engine/eval/token_shift.ts): for the last comparison of the base
 * model against a run, the worker scores the run's answer under both (the ids
 * generation used, worker/token_shift.ts). This module says when that can
 * run and why not, asks for it, and keeps the result and the running list of
 * the most-shifted tokens over every answer analysed on the page. Each
 * result is kept in IndexedDB (worker/db.ts `shifts`) with the comparison it
 * belongs to, and the latest is restored on reload.
 */
import { addKept, listKept } from '../../worker/db';
import type { ShiftPiece } from '../../worker/protocol';
import { engine } from './app.svelte';
import { compare, comparisonKept, promptOf, runIdsOf, useOf, type Pick } from './compare.svelte';
import { train } from './train.svelte';

export interface ShiftView {
  /** compare.history.length when it was made: it belongs to that comparison */
  comparison: number;
  pick: Pick;
  name: string;
  pieces: ShiftPiece[];
  /** the end of the shown answer no whole token covers (a stop string cut inside one) */
  cut: string;
  /** the comparison's key in IndexedDB, to find it again after a reload (its place in the history moves when runs are deleted) */
  comparisonKey?: number;
}

/** A kept token-shift answer: the view, and the most-shifted list as it stood. */
interface KeptShiftValue {
  view: ShiftView;
  topShifted: { text: string; count: number }[];
  answers: number;
}

export const shift = $state({
  busy: null as string | null,
  error: null as string | null,
  result: null as ShiftView | null,
  topShifted: [] as { text: string; count: number }[],
  /** answers counted in topShifted */
  answers: 0,
});

/** The last comparison's tuned side (0 = pick a), or why there is nothing to analyse. */
function tunedOfLast(): { side: 0 | 1 } | { reason: string } {
  const last = compare.history.at(-1);
  if (!last || compare.error) return { reason: 'Run a comparison of the base model and a run first.' };
  if (!last.b) return { reason: 'Only the base model answered: train or import an adapter first.' };
  if (last.a.pick === last.b.pick) return { reason: 'Both sides are the same model: compare the base model with a run.' };
  if (last.a.pick === 'incontext' || last.b.pick === 'incontext') return { reason: "The in-context baseline answers a longer prompt (its examples first): the shift compares the base model and a run on the same prompt." };
  if (last.a.pick !== 'base' && last.b.pick !== 'base') return { reason: 'One side must be the base model: the shift is measured against it.' };
  const side = last.a.pick === 'base' ? 1 : 0;
  if (!(side ? last.b : last.a).text) return { reason: 'The tuned answer is empty: there is no token to analyse.' };
  return { side };
}

/** Why the button is off now (null: it can run). */
export function shiftBlocker(): string | null {
  if (compare.running) return 'Wait for both answers.';
  if (train.state === 'running' || train.state === 'pausing') return 'Pause training to analyse an answer.';
  const t = tunedOfLast();
  if ('reason' in t) return t.reason;
  if (compare.blind && !compare.voted) return 'Vote first: naming the tuned side would give the blind test away.';
  return null;
}

/** The result, if it is for the comparison on screen. */
export function shownShift(): ShiftView | null {
  const r = shift.result;
  return r && !compare.running && r.comparison === compare.history.length ? r : null;
}

export async function analyseShift(): Promise<void> {
  const last = compare.history.at(-1);
  const t = tunedOfLast();
  if (!last || !last.b || 'reason' in t) return;
  const tuned = t.side ? last.b : last.a;
  shift.error = null;
  shift.busy = 'Scoring the answer…';
  const comparison = compare.history.length;
  try {
    const r = await engine().call({ type: 'token-shift', prompt: promptOf(last), raw: last.raw, uses: [useOf(last.a.pick), useOf(last.b.pick)] }, 'token-shift-result', {
      onEvent: (e) => e.type === 'progress' && (shift.busy = `${e.label}…`),
    });
    await comparisonKept();
    shift.result = { comparison, pick: tuned.pick, name: tuned.name, pieces: r.pieces, cut: r.cut, ...(last.key !== undefined ? { comparisonKey: last.key } : {}) };
    shift.topShifted = r.topShifted;
    shift.answers = r.answers;
    const value = $state.snapshot({ view: shift.result, topShifted: shift.topShifted, answers: shift.answers }) as KeptShiftValue;
    try {
      await addKept('shifts', { runs: runIdsOf(tuned.pick), at: Date.now(), value });
    } catch (e) {
      shift.error = `The token shift is shown but not kept for the next visit: ${(e as Error).message}`;
    }
  } catch (e) {
    shift.error = (e as Error).message;
  } finally {
    shift.busy = null;
  }
}

/** The latest kept token shift, at start, placed on its comparison in the restored history (restoreHistory first). */
export async function restoreShift(): Promise<void> {
  const last = (await listKept<KeptShiftValue>('shifts')).at(-1)?.record.value;
  if (!last || shift.result) return;
  const at = compare.history.findIndex((c) => c.key !== undefined && c.key === last.view.comparisonKey);
  shift.result = { ...last.view, comparison: at + 1 }; // not found: 0, shown with no comparison
  shift.topShifted = last.topShifted;
  shift.answers = last.answers;
}

/** Drops a deleted run's shift from the page, and re-places the shown one in the shortened history. */
export function forgetRunShift(id: number): void {
  const r = shift.result;
  if (!r) return;
  if (runIdsOf(r.pick).includes(id)) {
    shift.result = null;
    return;
  }
  const at = compare.history.findIndex((c) => c.key !== undefined && c.key === r.comparisonKey);
  if (at >= 0) r.comparison = at + 1;
}

/** Integer percentages of `counts` that add up to exactly 100 (largest remainder), all 0 when the total is 0. */
export function percents(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return counts.map(() => 0);
  const exact = counts.map((c) => (c * 100) / total);
  const out = exact.map(Math.floor);
  let left = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((p, q) => q[0] - p[0] || p[1] - q[1]);
  for (const [, i] of order) if (left-- > 0) out[i]++;
  return out;
}

export interface ShiftCounts {
  n: number;
  unshifted: number;
  marginal: number;
  shifted: number;
  /** positions in the answer's first quarter (⌈n/4⌉), and the shifted tokens among them */
  firstQuarter: number;
  shiftedInFirstQuarter: number;
}

export function shiftCounts(pieces: ShiftPiece[]): ShiftCounts {
  const n = pieces.length;
  const firstQuarter = Math.ceil(n / 4);
  const c = { n, unshifted: 0, marginal: 0, shifted: 0, firstQuarter, shiftedInFirstQuarter: 0 };
  pieces.forEach((p, i) => {
    c[p.shift]++;
    if (p.shift === 'shifted' && i < firstQuarter) c.shiftedInFirstQuarter++;
  });
  return c;
}
