/**
 * Every training run, as kept in IndexedDB (worker/db.ts `runs`), and the
 * blind votes: the page reads them straight from IndexedDB, renames runs and
 * records votes there; the worker writes runs as they train and deletes them
 * (it may hold a run's adapter on the GPU). The worker pushes `runs-changed`
 * after each write.
 */
import { addVote, listRuns, listVotes, renameRun, setRunMc } from '../../worker/db';
import type { JudgeReport, McScore, RunRecord, Vote } from '../../worker/protocol';
import { download } from '../lib/format';
import { runRows, runsCsv, type BaselineRow } from '../lib/runs';
import { engine, onPush } from './app.svelte';

export const runs = $state({
  list: [] as RunRecord[],
  votes: [] as Vote[],
  error: null as string | null,
  /** a run being deleted (its row's buttons wait) */
  deleting: null as number | null,
  /** the multiple-choice benchmark: a picked file (null: the built-in stories set), its base-model score, progress */
  mc: {
    file: null as { name: string; bytes: Uint8Array } | null,
    template: false,
    busy: null as { label: string; done: number; total: number } | null,
    base: null as McScore | null,
    skipped: 0,
  },
});

export const BUILTIN_MC = { name: 'stories-mc.jsonl (built-in, 60 items)', url: `${import.meta.env.BASE_URL}demo/stories-mc.jsonl` };

export async function setMcFile(f: File | null): Promise<void> {
  runs.mc.file = f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : null;
}

/** Scores the base model and the given runs on the benchmark, one after the other on the same weights; keeps each run's score in IndexedDB. */
export async function scoreMc(runIds: number[]): Promise<void> {
  runs.error = null;
  runs.mc.busy = { label: 'Reading the benchmark', done: 0, total: 1 };
  try {
    let file = runs.mc.file;
    if (!file) {
      const res = await fetch(BUILTIN_MC.url);
      if (!res.ok) throw new Error(`${BUILTIN_MC.url}: ${res.status}`);
      file = { name: BUILTIN_MC.name, bytes: new Uint8Array(await res.arrayBuffer()) };
    }
    const r = await engine().call(
      { type: 'mc-eval', name: file.name, bytes: file.bytes.slice(), uses: ['base', ...runIds.map((id) => ({ run: id }))], template: runs.mc.template },
      'mc',
      { onEvent: (e) => e.type === 'progress' && (runs.mc.busy = { label: e.label, done: e.done, total: e.total }) },
    );
    runs.mc.base = r.scores[0];
    runs.mc.skipped = r.skipped;
    for (const [i, id] of runIds.entries()) await setRunMc(id, r.scores[i + 1]);
  } catch (e) {
    runs.error = `Multiple-choice benchmark: ${(e as Error).message}`;
  } finally {
    runs.mc.busy = null;
  }
  await refreshRuns();
}

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

/** `judged`: the model judge's results this page holds (judge.svelte.ts), for the judge-vs-base columns; `baseline`: the in-context row, when shown. */
export function exportCsv(judged: JudgeReport[] = [], baseline: BaselineRow | null = null): void {
  download('lima-runs.csv', runsCsv(runRows(runs.list, runs.votes, judged), baseline), 'text/csv');
}

onPush((e) => {
  if (e.type === 'runs-changed') void refreshRuns();
});
