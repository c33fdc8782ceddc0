/**
 * What a user did in the page beside the runs (issue 24 part 2): the judge's
 * results, Compare's history and the token-shift answers are kept in
 * IndexedDB (worker/db.ts, version 3) by their own modules as they happen;
 * this one restores them on start and forgets a deleted run's records on the
 * page (IndexedDB's go with the run: db.ts deleteRun).
 */
import { keptUnavailable } from '../../worker/db';
import { forgetRunComparisons, restoreHistory } from './compare.svelte';
import { forgetRunJudged, restoreJudged } from './judge.svelte';
import { refreshRuns, remove, runs } from './runs.svelte';
import { forgetRunShift, restoreShift } from './shift.svelte';

export const kept = $state({
  /** why the records could not be restored or kept (a failed upgrade, an unreadable store), or null */
  error: null as string | null,
});

/** Reads the kept records back (the history first: the shift is placed on its comparison). */
export async function restoreKept(): Promise<void> {
  try {
    await refreshRuns(); // the judge results name runs by their steps: the list first
    await restoreHistory();
    await restoreJudged();
    await restoreShift();
    kept.error = keptUnavailable;
  } catch (e) {
    kept.error = `Could not read back the kept judge results, comparisons and token shifts: ${(e as Error).message}`;
  }
}

/** Deletes a run everywhere (runs.svelte.ts remove) and its judge results, comparisons and token shift on the page. */
export async function removeRun(id: number): Promise<void> {
  await remove(id);
  if (runs.list.some((r) => r.id === id)) return; // not deleted: runs.error says why
  forgetRunComparisons(id);
  forgetRunJudged(id);
  forgetRunShift(id);
}
