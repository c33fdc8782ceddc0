/**
 * Room in the browser's storage (issue 24 part 2): before a write that may
 * not fit, navigator.storage.estimate() says how much this site uses of its
 * quota; when the write would pass it, the page says how much is used and by
 * what (cached models, runs, the rest) and offers to delete old runs
 * (components/StorageRoom.svelte, through kept.svelte.ts removeRun). The write is still tried: the estimate is
 * the browser's guess, and a refusal keeps what is already saved (an
 * IndexedDB transaction is all or nothing).
 */
import { storedBytes } from '../../worker/db';

export interface RoomWarning {
  /** what was about to be written, e.g. "caching stories260K" */
  what: string;
  needed: number;
  usage: number;
  quota: number;
  models: number;
  runs: { id: number; name: string; savedAt: number; bytes: number }[];
}

export const storage = $state({
  warning: null as RoomWarning | null,
  /** a run whose delete button was pressed once (a second press deletes it) */
  confirming: null as number | null,
  busy: false,
});

/** The browser's estimate of what this site uses and may use (null where the browser has none). */
async function estimate(): Promise<{ usage: number; quota: number } | null> {
  if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return null;
  const e = await navigator.storage.estimate();
  return e.quota ? { usage: e.usage ?? 0, quota: e.quota } : null;
}

/** Before writing about `bytes` bytes for `what`: whether it fits the estimate; when it may not, the warning is set. */
export async function checkRoom(what: string, bytes: number): Promise<boolean> {
  try {
    const e = await estimate();
    if (!e || e.usage + bytes <= e.quota) return true;
    const kept = await storedBytes();
    storage.warning = { what, needed: bytes, usage: e.usage, quota: e.quota, models: kept.models, runs: kept.runs };
    return false;
  } catch {
    return true; // no estimate: the write itself will say if it does not fit
  }
}

/** A run's delete button in the warning: the first press asks again (true: this press is the second, delete it). */
export function confirmDelete(id: number): boolean {
  if (storage.confirming === id) {
    storage.confirming = null;
    return true;
  }
  storage.confirming = id;
  return false;
}

/** After a run was deleted to make room: measures again; the warning goes once the write would fit. */
export async function remeasure(): Promise<void> {
  const w = storage.warning;
  if (!w) return;
  const e = await estimate();
  const kept = await storedBytes();
  storage.warning = e && e.usage + w.needed <= e.quota ? null : { ...w, ...(e ?? {}), models: kept.models, runs: kept.runs };
}

export function dismissRoom(): void {
  storage.warning = null;
  storage.confirming = null;
}
