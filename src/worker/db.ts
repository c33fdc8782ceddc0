/**
 * The playground's IndexedDB (via `idb`), used by the page (model file cache,
 * run names, votes) and by the worker (training runs). One schema, one place.
 *
 *   files    key `${modelId}/${file}` → { modelId, file, bytes }   model files (a GGUF: its Blob, stored once, read by slices)
 *   models   key modelId → CachedModel                               what is cached
 *   runs     key run id → RunRecord                                  every training run: settings, dataset summary, loss history, name
 *   runData  key run id → SavedRunData                               its samples and checkpoint (adapter + optimizer), to resume or compare
 *   votes    auto key → Vote                                         blind votes between base and runs
 *   judged   auto key → KeptJudgeResult                              the pairwise judge's results (version 3)
 *   comparisons auto key → KeptComparison                            Compare's history, oldest first (version 3)
 *   shifts   auto key → KeptShift                                    token-shift answers (version 3)
 *
 * The last three are the page's own records (src/ui/state: judge, compare,
 * shift), structured-clonable, typed loosely here so the worker needs no UI
 * types; each names the run ids it is about (`runs`), so deleteRun drops them
 * with the run.
 *
 * Version 1 kept one run, in a store `runs` under the keys 'meta' and 'data';
 * version 2's upgrade turns that run into run 1 (migrateV1Run). Version 3
 * adds the three stores and leaves the others as they are. An upgrade that
 * fails (the browser aborts it whole, so the database stays at its old
 * version) is not fatal: openStore opens the old version, so runs and votes
 * stay readable, and `keptUnavailable` says why the new records are not kept.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb';
import type { TemplateId } from '../engine/data';
import type { DatasetReport, EvalPoint, HeldOutPrompt, McScore, RunRecord, StepPoint, TrainSettings, TrainState, Vote } from './protocol';

/** A run's multiple-choice score as kept: with the step the run was at when scored (absent in scores kept before version 3's page; saveRun fills it). */
export interface StoredMcScore extends McScore {
  step?: number;
}

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

/** A page record kept beside the runs: the run ids it is about, and the page's value. */
export interface Kept<T = unknown> {
  /** run ids the record compares (deleteRun deletes it with any of them) */
  runs: number[];
  at: number;
  value: T;
}

/** The stores of page records (version 3). */
export type KeptStore = 'judged' | 'comparisons' | 'shifts';
export const KEPT_STORES: readonly KeptStore[] = ['judged', 'comparisons', 'shifts'];

interface Schema extends DBSchema {
  files: { key: string; value: { modelId: string; file: string; bytes: Uint8Array | Blob } };
  models: { key: string; value: CachedModel };
  runs: { key: number; value: RunRecord };
  runData: { key: number; value: SavedRunData };
  votes: { key: number; value: Vote };
  judged: { key: number; value: Kept };
  comparisons: { key: number; value: Kept };
  shifts: { key: number; value: Kept };
}

export const DB_NAME = 'lima-playground';
export const DB_VERSION = 3;

let db: Promise<IDBPDatabase<Schema>> | null = null;

/** Why the page records cannot be kept (the upgrade to version 3 failed), or null. */
export let keptUnavailable: string | null = null;

export function openStore(): Promise<IDBPDatabase<Schema>> {
  db ??= openCurrent().catch(async (e: unknown) => {
    // the upgrade aborted whole: the database is still at its old version; open that, read-only for the new stores
    keptUnavailable = `The saved data could not be upgraded (${(e as Error)?.message ?? e}): runs and votes are read as they were, but judge results, comparisons and token shifts are not kept this time.`;
    return openDB<Schema>(DB_NAME, undefined, { blocking: letGo });
  });
  return db;
}

/** Another tab (or a test) wants a newer version or to delete the database: let it. */
function letGo(): void {
  const open = db;
  db = null;
  void open?.then((d) => d.close());
}

function openCurrent(): Promise<IDBPDatabase<Schema>> {
  return openDB<Schema>(DB_NAME, DB_VERSION, {
    async upgrade(d, oldVersion, _newVersion, tx) {
      if (oldVersion >= 2) {
        upgradeToV3(d);
        return;
      }
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
      upgradeToV3(d);
      if (v1.meta && v1.data) {
        await tx.objectStore('runs').put(migrateV1Run(v1.meta, v1.data), 1);
        await tx.objectStore('runData').put(v1.data, 1);
      }
    },
    blocking: letGo,
  });
}

/** Version 3: the page's records, beside the runs (runs, runData and votes are left as they are). */
function upgradeToV3(d: IDBPDatabase<Schema>): void {
  for (const name of KEPT_STORES) if (!d.objectStoreNames.contains(name)) d.createObjectStore(name, { autoIncrement: true });
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

/**
 * About how many bytes a stored value takes: typed arrays and Blobs by their
 * size, strings at two bytes a character, numbers at eight, the rest summed
 * (IndexedDB's own overhead and compression are not counted: a guide, not a bill).
 */
export function approxBytes(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (typeof Blob !== 'undefined' && v instanceof Blob) return v.size;
  if (typeof v === 'string') return 2 * v.length;
  if (typeof v === 'number' || typeof v === 'boolean') return 8;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + approxBytes(x), 0);
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).reduce((n: number, x) => n + approxBytes(x), 0);
  return 0;
}

/** What this site keeps, by what: the cached models and every run (its record and checkpoint), oldest run first. */
export async function storedBytes(): Promise<{ models: number; runs: { id: number; name: string; savedAt: number; bytes: number }[] }> {
  const d = await openStore();
  const models = (await d.getAll('models')).reduce((n, m) => n + m.bytes, 0);
  const runs: { id: number; name: string; savedAt: number; bytes: number }[] = [];
  for (const r of await d.getAll('runs')) runs.push({ id: r.id, name: r.name, savedAt: r.savedAt, bytes: approxBytes(r) + approxBytes(await d.get('runData', r.id)) });
  return { models, runs: runs.sort((a, b) => a.savedAt - b.savedAt) };
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
  // a benchmark score stays with the version of the run it was taken on: it keeps its step when the run trains on (the table says 'taken at step K')
  const mc = (record.mc ?? before?.mc) as StoredMcScore | undefined;
  if (mc) merged.mc = { ...mc, step: mc.step ?? before?.step ?? record.step } as StoredMcScore;
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

/** Keeps a run's multiple-choice score with the step the run is at now. */
export async function setRunMc(id: number, mc: McScore): Promise<void> {
  const d = await openStore();
  const tx = d.transaction('runs', 'readwrite');
  const r = await tx.store.get(id);
  if (r) await tx.store.put({ ...r, mc: { ...mc, step: r.step } as StoredMcScore }, id);
  await tx.done;
}

/** Deletes a run, its checkpoint, the votes it took part in and the page records about it (judge results, comparisons, token shifts). */
export async function deleteRun(id: number): Promise<void> {
  const d = await openStore();
  const kept = KEPT_STORES.filter((n) => d.objectStoreNames.contains(n));
  const tx = d.transaction(['runs', 'runData', 'votes', ...kept], 'readwrite');
  await tx.objectStore('runs').delete(id);
  await tx.objectStore('runData').delete(id);
  let c = await tx.objectStore('votes').openCursor();
  while (c) {
    if (c.value.a === id || c.value.b === id) await c.delete();
    c = await c.continue();
  }
  for (const name of kept) {
    let k = await tx.objectStore(name).openCursor();
    while (k) {
      if (k.value.runs.includes(id)) await k.delete();
      k = await k.continue();
    }
  }
  await tx.done;
}

async function keptStore(): Promise<IDBPDatabase<Schema> | null> {
  const d = await openStore();
  return d.objectStoreNames.contains('judged') ? d : null;
}

/** Keeps a page record; its key, or null when the records cannot be kept (keptUnavailable says why). */
export async function addKept<T>(store: KeptStore, record: Kept<T>): Promise<number | null> {
  const d = await keptStore();
  return d ? d.add(store, record as Kept) : null;
}

/** Replaces the record under `key` (a vote given after its comparison was kept). */
export async function putKept<T>(store: KeptStore, key: number, record: Kept<T>): Promise<void> {
  const d = await keptStore();
  if (d) await d.put(store, record as Kept, key);
}

export async function deleteKept(store: KeptStore, key: number): Promise<void> {
  const d = await keptStore();
  if (d) await d.delete(store, key);
}

/** Every kept record of a store with its key, oldest first ([] when none can be kept). */
export async function listKept<T>(store: KeptStore): Promise<{ key: number; record: Kept<T> }[]> {
  const d = await keptStore();
  if (!d) return [];
  const tx = d.transaction(store);
  const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
  await tx.done;
  return keys.map((key, i) => ({ key, record: values[i] as Kept<T> }));
}

export async function addVote(v: Vote): Promise<void> {
  await (await openStore()).add('votes', v);
}

export async function listVotes(): Promise<Vote[]> {
  return (await openStore()).getAll('votes');
}
