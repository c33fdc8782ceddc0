/**
 * The playground's IndexedDB (via `idb`), used by the page (model file cache)
 * and by the worker (training checkpoints). One schema, one place.
 *
 *   files   key `${modelId}/${file}` → { modelId, file, bytes }     model files
 *   models  key modelId → CachedModel                                 what is cached
 *   runs    key 'meta' → SavedRunInfo, key 'data' → SavedRunData      the last training run
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { SavedRunInfo } from './protocol';

export interface CachedModel {
  id: string;
  name: string;
  format: 'hf' | 'llama2c';
  files: string[];
  bytes: number;
  savedAt: number;
}

/** Everything needed to go on training after a reload (structured-clonable). */
export interface SavedRunData {
  settings: unknown;
  datasetName: string;
  template: string;
  report: unknown;
  train: unknown[];
  validation: unknown[];
  heldOutPrompts: string[];
  checkpoint: unknown;
  steps: unknown[];
  evals: unknown[];
}

interface Schema extends DBSchema {
  files: { key: string; value: { modelId: string; file: string; bytes: Uint8Array } };
  models: { key: string; value: CachedModel };
  runs: { key: string; value: SavedRunInfo | SavedRunData };
}

let db: Promise<IDBPDatabase<Schema>> | null = null;

export function openStore(): Promise<IDBPDatabase<Schema>> {
  db ??= openDB<Schema>('lima-playground', 1, {
    upgrade(d) {
      d.createObjectStore('files');
      d.createObjectStore('models');
      d.createObjectStore('runs');
    },
  });
  return db;
}

/** Whether an error is the browser saying the storage quota is full. */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string })?.name ?? '';
  return name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message ?? ''));
}

export const QUOTA_MESSAGE =
  'The browser refused to store more (storage quota exceeded). Delete cached models below, or allow this site more storage; the model still runs, but will be downloaded again next time.';

export async function saveModelFiles(m: Omit<CachedModel, 'files' | 'bytes' | 'savedAt'>, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  const d = await openStore();
  const tx = d.transaction(['files', 'models'], 'readwrite');
  for (const f of files) await tx.objectStore('files').put({ modelId: m.id, file: f.name, bytes: f.bytes }, `${m.id}/${f.name}`);
  await tx.objectStore('models').put({ ...m, files: files.map((f) => f.name), bytes: files.reduce((n, f) => n + f.bytes.byteLength, 0), savedAt: Date.now() }, m.id);
  await tx.done;
}

export async function readModelFiles(id: string): Promise<{ model: CachedModel; files: { name: string; bytes: Uint8Array }[] } | null> {
  const d = await openStore();
  const model = await d.get('models', id);
  if (!model) return null;
  const files: { name: string; bytes: Uint8Array }[] = [];
  for (const f of model.files) {
    const rec = await d.get('files', `${id}/${f}`);
    if (!rec) return null;
    files.push({ name: f, bytes: rec.bytes });
  }
  return { model, files };
}

export async function listCachedModels(): Promise<CachedModel[]> {
  return (await openStore()).getAll('models');
}

export async function deleteCachedModel(id: string): Promise<void> {
  const d = await openStore();
  const model = await d.get('models', id);
  const tx = d.transaction(['files', 'models'], 'readwrite');
  for (const f of model?.files ?? []) await tx.objectStore('files').delete(`${id}/${f}`);
  await tx.objectStore('models').delete(id);
  await tx.done;
}

export async function saveRun(meta: SavedRunInfo, data: SavedRunData): Promise<void> {
  const d = await openStore();
  const tx = d.transaction('runs', 'readwrite');
  await tx.store.put(data, 'data');
  await tx.store.put(meta, 'meta');
  await tx.done;
}

export async function readRunInfo(): Promise<SavedRunInfo | null> {
  return ((await (await openStore()).get('runs', 'meta')) as SavedRunInfo | undefined) ?? null;
}

export async function readRunData(): Promise<SavedRunData | null> {
  return ((await (await openStore()).get('runs', 'data')) as SavedRunData | undefined) ?? null;
}

export async function deleteRun(): Promise<void> {
  const d = await openStore();
  await d.clear('runs');
}
