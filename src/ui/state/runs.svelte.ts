/**
 * Every training run, as kept in IndexedDB (worker/db.ts `runs`), and the
 * blind votes: the page reads them straight from IndexedDB, renames runs and
 * records votes there; the worker writes runs as they train and deletes them
 * (it may hold a run's adapter on the GPU). The worker pushes `runs-changed`
 * after each write.
 */
import { addVote, listRuns, listVotes, renameRun } from '../../worker/db';
import type { RunRecord, Vote } from '../../worker/protocol';
import { download } from '../lib/format';
import { runRows, runsCsv } from '../lib/runs';
import { engine, onPush } from './app.svelte';

export const runs = $state({
  list: [] as RunRecord[],
  votes: [] as Vote[],
  error: null as string | null,
  /** a run being deleted (its row's buttons wait) */
  deleting: null as number | null,
});

export async function refreshRuns(): Promise<void> {
  try {
    [runs.list, runs.votes] = await Promise.all([listRuns(), listVotes()]);
  } catch (e) {
    runs.error = `Could not read the saved runs: ${(e as Error).message}`;
  }
}

export function runName(id: number): string {
  return runs.list.find((r) => r.id === id)?.name ?? `Run ${id}`;
}

export async function rename(id: number, name: string): Promise<void> {
  const clean = name.trim();
  if (!clean) return;
  runs.error = null;
  try {
    await renameRun(id, clean);
  } catch (e) {
    runs.error = `Could not rename: ${(e as Error).message}`;
  }
  await refreshRuns();
}

/** Deletes a run everywhere (the caller has asked the user to confirm). */
export async function remove(id: number): Promise<void> {
  runs.error = null;
  runs.deleting = id;
  try {
    await engine().call({ type: 'run-delete', runId: id }, 'done');
  } catch (e) {
    runs.error = `Could not delete: ${(e as Error).message}`;
  } finally {
    runs.deleting = null;
  }
  await refreshRuns();
}

export async function recordVote(v: Vote): Promise<void> {
  try {
    await addVote(v);
  } catch (e) {
    runs.error = `Could not save the vote: ${(e as Error).message}`;
  }
  await refreshRuns();
}

export function exportCsv(): void {
  download('lima-runs.csv', runsCsv(runRows(runs.list, runs.votes)), 'text/csv');
}

onPush((e) => {
  if (e.type === 'runs-changed') void refreshRuns();
});
