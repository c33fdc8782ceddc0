/**
 * The playground's IndexedDB (via `idb`), used by the page (model file cache,
 * run names, votes) and by the worker (training runs). One schema, one place.
 *
 *   files    key `${modelId}/${file}` → { modelId, file, bytes }   model files (a GGUF: its Blob, stored once, read by slices)
 *   models   key modelId → CachedModel                               what is cached
 *   runs     key run id → RunRecord                                  every training run: settings, dataset summary, loss history, name
 *   runData  key run id → SavedRunData                               its samples and checkpoint (adapter + optimizer), to resume or compare
 *   votes    auto key → Vote                                         blind votes between base and runs
 *
 * Version 1 kept one run, in a store `runs` under the keys 'meta' and 'data';
 * version 2's upgrade turns that run into run 1 (migrateV1Run).
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { TemplateId } from '../engine/data';
import type { DatasetReport, EvalPoint, HeldOutPrompt, McScore, RunRecord, StepPoint, TrainSettings, TrainState, Vote } from './protocol';

export interface CachedModel {
  id: string;
  name: string;
  format: 'hf' | 'llama2c' | 'gguf';
  files: string[];
  bytes: number;
  savedAt: number;
}

/** Everything needed to go on training after a reload, or to load the run's adapter (structured-clonable). */
export interface SavedRunData {
  settings: unknown;
  datasetName: string;
  template: string;
  report: unknown;
  train: unknown[];
  validation: unknown[];
  /** runs saved before HeldOutPrompt kept the instruction alone (worker/prompts.ts heldOutPrompt reads both) */
  heldOutPrompts: (HeldOutPrompt | string)[];
  checkpoint: unknown;
  steps: unknown[];
  evals: unknown[];
}

/** What version 1 kept beside its one run's data (key 'meta'). */
interface V1RunInfo {
  modelId: string;
  modelName: string;
  datasetName: string;
  step: number;
  totalSteps: number;
  savedAt: number;
}

interface Schema extends DBSchema {
  files: { key: string; value: { modelId: string; file: string; bytes: Uint8Array | Blob } };
  models: { key: string; value: CachedModel };
  runs: { key: number; value: RunRecord };
  runData: { key: number; value: SavedRunData };
  votes: { key: number; value: Vote };
}

let db: Promise<IDBPDatabase<Schema>> | null = null;

export function openStore(): Promise<IDBPDatabase<Schema>> {
  db ??= openDB<Schema>('lima-playground', 2, {
    async upgrade(d, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        d.createObjectStore('files');
        d.createObjectStore('models');
      }
      let v1: { meta?: V1RunInfo; data?: SavedRunData } = {};
      if (oldVersion === 1) {
        // version 1's `runs` held one run under string keys: read it, then remake the store keyed by run id
        const old = (tx as unknown as IDBPTransaction<unknown, string[], 'versionchange'>).objectStore('runs');
        v1 = { meta: (await old.get('meta')) as V1RunInfo | undefined, data: (await old.get('data')) as SavedRunData | undefined };
        d.deleteObjectStore('runs' as StoreNames<Schema>);
      }
      d.createObjectStore('runs');
      d.createObjectStore('runData');
      d.createObjectStore('votes', { autoIncrement: true });
      if (v1.meta && v1.data) {
        await tx.objectStore('runs').put(migrateV1Run(v1.meta, v1.data), 1);
        await tx.objectStore('runData').put(v1.data, 1);
      }
    },
    blocking() {
      // another tab (or a test) wants a newer version or to delete the database: let it
      const open = db;
      db = null;
      void open?.then((d) => d.close());
    },
  });
  return db;
}

/** Version 1's one saved run as run 1. */
export function migrateV1Run(meta: V1RunInfo, data: SavedRunData): RunRecord {
  const report = data.report as DatasetReport;
  const steps = data.steps as StepPoint[];
  const done = meta.totalSteps > 0 && meta.step >= meta.totalSteps;
  return {
    id: 1,
    name: 'Run 1',
    modelId: meta.modelId,
    modelName: meta.modelName,
    datasetName: meta.datasetName,
    dataset: { format: report?.format ?? null, train: data.train.length, validation: data.validation.length, mixed: report?.mixed ?? 0, template: data.template as TemplateId },
    settings: data.settings as TrainSettings,
    state: (done ? 'done' : 'paused') as TrainState,
    step: meta.step,
    totalSteps: meta.totalSteps,
    steps,
    evals: data.evals as EvalPoint[],
    saved: true,
    createdAt: meta.savedAt,
    savedAt: meta.savedAt,
  };
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

/** The files of a cached HF or llama2.c model (null when it is not cached, or is a GGUF: readModelBlob). */
export async function readModelFiles(id: string): Promise<{ model: CachedModel & { format: 'hf' | 'llama2c' }; files: { name: string; bytes: Uint8Array }[] } | null> {
  const d = await openStore();
  const model = await d.get('models', id);
  if (!model || model.format === 'gguf') return null;
  const files: { name: string; bytes: Uint8Array }[] = [];
  for (const f of model.files) {
    const rec = await d.get('files', `${id}/${f}`);
    if (!rec || !(rec.bytes instanceof Uint8Array)) return null;
    files.push({ name: f, bytes: rec.bytes });
  }
  return { model: { ...model, format: model.format }, files };
}

/**
 * Caches a GGUF as the Blob it is (a dropped File): IndexedDB keeps the one
 * copy on disk, and reading it back gives a Blob the worker reads by slices,
 * so the model is never in memory whole.
 */
export async function saveModelBlob(m: Omit<CachedModel, 'files' | 'bytes' | 'savedAt' | 'format'>, name: string, blob: Blob): Promise<void> {
  const d = await openStore();
  const tx = d.transaction(['files', 'models'], 'readwrite');
  await tx.objectStore('files').put({ modelId: m.id, file: name, bytes: blob }, `${m.id}/${name}`);
  await tx.objectStore('models').put({ ...m, format: 'gguf', files: [name], bytes: blob.size, savedAt: Date.now() }, m.id);
  await tx.done;
}

/** A cached GGUF: its file name and Blob (null when it is not cached, or not a GGUF). */
export async function readModelBlob(id: string): Promise<{ model: CachedModel; name: string; blob: Blob } | null> {
  const d = await openStore();
  const model = await d.get('models', id);
  if (model?.format !== 'gguf') return null;
  const rec = await d.get('files', `${id}/${model.files[0]}`);
  return rec?.bytes instanceof Blob ? { model, name: rec.file, blob: rec.bytes } : null;
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

/**
 * Writes a run's record (and, with `data`, its checkpoint). The name is the
 * stored one when there is one: the page renames runs while the worker saves them.
 */
export async function saveRun(record: RunRecord, data?: SavedRunData): Promise<RunRecord> {
  const d = await openStore();
  const tx = d.transaction(['runs', 'runData'], 'readwrite');
  const before = await tx.objectStore('runs').get(record.id);
  const merged: RunRecord = { ...record, name: before?.name ?? record.name, createdAt: before?.createdAt ?? record.createdAt, saved: record.saved || !!data || !!before?.saved };
  // a benchmark score the page stored holds until the run trains on from the step it was scored at
  const mc = record.mc ?? before?.mc;
  if (mc && before?.step === record.step) merged.mc = mc;
  else delete merged.mc;
  if (data) await tx.objectStore('runData').put(data, record.id);
  await tx.objectStore('runs').put(merged, record.id);
  await tx.done;
  return merged;
}

/** Every run, oldest first. */
export async function listRuns(): Promise<RunRecord[]> {
  return (await openStore()).getAll('runs');
}

export async function readRun(id: number): Promise<RunRecord | null> {
  return (await (await openStore()).get('runs', id)) ?? null;
}

export async function readRunData(id: number): Promise<SavedRunData | null> {
  return (await (await openStore()).get('runData', id)) ?? null;
}

/** The id the next run gets: one above every id ever listed (ids of deleted runs are not reused while a later one exists). */
export async function nextRunId(): Promise<number> {
  const keys = await (await openStore()).getAllKeys('runs');
  return keys.reduce((m, k) => Math.max(m, k), 0) + 1;
}

/** Changes fields of a run's record in one transaction (nothing when the run is gone). */
async function updateRun(id: number, patch: Partial<RunRecord>): Promise<void> {
  const d = await openStore();
  const tx = d.transaction('runs', 'readwrite');
  const r = await tx.store.get(id);
  if (r) await tx.store.put({ ...r, ...patch }, id);
  await tx.done;
}

export const renameRun = (id: number, name: string): Promise<void> => updateRun(id, { name });

export const setRunMc = (id: number, mc: McScore): Promise<void> => updateRun(id, { mc });

/** Deletes a run, its checkpoint and the votes it took part in. */
export async function deleteRun(id: number): Promise<void> {
  const d = await openStore();
  const tx = d.transaction(['runs', 'runData', 'votes'], 'readwrite');
  await tx.objectStore('runs').delete(id);
  await tx.objectStore('runData').delete(id);
  let c = await tx.objectStore('votes').openCursor();
  while (c) {
    if (c.value.a === id || c.value.b === id) await c.delete();
    c = await c.continue();
  }
  await tx.done;
}

export async function addVote(v: Vote): Promise<void> {
  await (await openStore()).add('votes', v);
}

export async function listVotes(): Promise<Vote[]> {
  return (await openStore()).getAll('votes');
}
