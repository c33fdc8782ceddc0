/**
 * Model choice: the catalogue (Hub downloads with progress, cancel, a header
 * peek and the IndexedDB cache) or local files (an HF folder, a llama2.c
 * pair, or a GGUF: its header read first, then loaded on request and cached
 * as its Blob). Loading itself happens in the worker. Each load asks for
 * the frozen bits the registered policy picks for the model (train.svelte.ts
 * registers the Frozen weights choice at the page's settings:
 * memory.svelte.ts loadBits); a model already loaded can be reloaded at them.
 */
import { checkRoom } from './storage.svelte';
import { deleteCachedModel, isQuotaError, listCachedModels, QUOTA_MESSAGE, readModelBlob, readModelFiles, saveModelBlob, saveModelFiles, type CachedModel } from '../../worker/db';
import type { FrozenBits } from '../../engine/frozen';
import type { FileBytes, GgufPeek, ModelFiles, ModelSummary } from '../../worker/protocol';
import { EngineError, modelTransfer } from '../engine';
import { baseName, bundledUrl, CATALOGUE, fetchBytes, fileUrl, peekHeader, type CatalogueEntry, type HeaderPeek } from '../lib/hub';
import { entrySizes, filesBasis, type ModelBasis } from '../lib/model_basis';
import { engine, onPush } from './app.svelte';

export interface EntryStatus {
  peek?: HeaderPeek;
  peekError?: string;
  download?: { done: number; total: number };
  error?: string;
}

/** A GGUF dropped or picked: what its header says (read in the worker), shown before it is loaded. */
export interface GgufChoice {
  file: File;
  peek: GgufPeek | null;
  /** the header could not be read: truncated, corrupt, an unsupported architecture or type */
  error: string | null;
}

export const models = $state({
  loaded: null as ModelSummary | null,
  /** catalogue id or `local:<name>`: the key of the IndexedDB cache, for resuming */
  loadedId: null as string | null,
  busy: null as string | null,
  /** the load's progress as the worker reports it (a GGUF's bytes read, then the upload) */
  progress: null as { label: string; done: number; total: number } | null,
  gguf: null as GgufChoice | null,
  error: null as string | null,
  notice: null as string | null,
  entries: {} as Record<string, EntryStatus>,
  cached: [] as CachedModel[],
  storage: null as { usage: number; quota: number } | null,
});

const listeners = new Set<(m: ModelSummary) => void>();
/** Called after each successful model load (the dataset re-tokenizes with the new tokenizer). */
export function onModelLoaded(l: (m: ModelSummary) => void): void {
  listeners.add(l);
}

/** Picks the frozen bits a load asks for, from what the page knows of the model (null: nothing; undefined bits: as stored). */
export type BitsPolicy = (basis: ModelBasis | null) => FrozenBits | undefined;
let bitsPolicy: BitsPolicy = () => undefined;
/** Sets how loads pick their frozen bits (train.svelte.ts: the Frozen weights choice at the page's settings). */
export function decideLoadBits(p: BitsPolicy): void {
  bitsPolicy = p;
}

const downloads = new Map<string, AbortController>();

export async function refreshCache(): Promise<void> {
  try {
    models.cached = await listCachedModels();
    const est = await navigator.storage?.estimate?.();
    if (est) models.storage = { usage: est.usage ?? 0, quota: est.quota ?? 0 };
  } catch (e) {
    models.notice = `The model cache is unavailable (${(e as Error).message}); models will be downloaded each time.`;
  }
}

export const isCached = (id: string) => models.cached.some((c) => c.id === id);

/** The reactive status of a catalogue entry (read back through the proxy: `??=` would hand out the raw object). */
function status(id: string): EntryStatus {
  if (!models.entries[id]) models.entries[id] = {};
  return models.entries[id];
}

export async function peek(e: CatalogueEntry): Promise<void> {
  const s = status(e.id);
  s.peekError = undefined;
  try {
    s.peek = await peekHeader(e);
  } catch (err) {
    s.peekError = (err as Error).message;
  }
}

// the worker freed the previous model and then could not upload the new one: none is loaded
onPush((e) => {
  if (e.type !== 'model-unloaded') return;
  models.loaded = null;
  models.loadedId = null;
});

/** `bits`: the frozen bits to ask for regardless of the policy ('stored': none), as a resumed run needs its own base. */
async function send(files: ModelFiles, id: string, basis: ModelBasis | null, bits?: FrozenBits | 'stored'): Promise<void> {
  const frozenBits = bits === undefined ? bitsPolicy(basis) : bits === 'stored' ? undefined : bits;
  models.busy = `Loading ${files.name} onto the GPU${frozenBits && frozenBits < 16 ? ` at ${frozenBits} bits` : ''}…`;
  models.progress = null;
  models.error = null;
  try {
    const r = await engine().call({ type: 'load-model', files, cacheId: id, ...(frozenBits ? { frozenBits } : {}) }, 'model', {
      transfer: modelTransfer(files),
      onEvent: (e) => {
        if (e.type !== 'progress') return;
        models.busy = `${e.label}…`;
        models.progress = { label: e.label, done: e.done, total: e.total };
      },
    });
    models.loaded = r.model;
    models.loadedId = id;
    for (const l of listeners) l(r.model);
  } catch (e) {
    const still = models.loaded ? `${models.loaded.name} is still loaded, as it was.` : 'No model is loaded now.';
    models.error = e instanceof EngineError ? `Could not load ${files.name}: ${e.message}. ${still}` : (e as Error).message;
    throw e;
  } finally {
    models.busy = null;
    models.progress = null;
  }
}

function asModelFiles(format: 'hf' | 'llama2c', name: string, files: FileBytes[]): ModelFiles {
  if (format === 'hf') return { format, name, files };
  const tok = files.find((f) => /tok.*\.bin$/i.test(f.name)) ?? [...files].sort((a, b) => a.bytes.byteLength - b.bytes.byteLength)[0];
  const model = files.find((f) => f !== tok);
  if (!model || !tok) throw new Error('A llama2.c model needs two files: the checkpoint .bin and its tokenizer .bin.');
  return { format, name, model, tokenizer: tok };
}

/** Runs a write of about `bytes` bytes to the model cache, after a look at the room left; a full quota is reported, not fatal. */
async function keep(name: string, bytes: number, save: () => Promise<void>): Promise<void> {
  await checkRoom(`caching ${name}`, bytes);
  try {
    await save();
  } catch (e) {
    models.notice = isQuotaError(e) ? QUOTA_MESSAGE : `Could not cache ${name}: ${(e as Error).message}`;
  }
  await refreshCache();
}

/** Caches files in IndexedDB. Copies, because the originals are transferred to the worker. */
function cache(id: string, name: string, format: 'hf' | 'llama2c', files: FileBytes[]): Promise<void> {
  return keep(name, files.reduce((n, f) => n + f.bytes.byteLength, 0), () => saveModelFiles({ id, name, format }, files.map((f) => ({ name: f.name, bytes: f.bytes.slice() }))));
}

/**
 * Downloads (or reads from the cache) a catalogue model and loads it; `from:
 * 'bundled'` reads the page's own copy (public/models/, precached by the
 * service worker) instead of the Hub's.
 */
export async function loadEntry(e: CatalogueEntry, from: 'hub' | 'bundled' = 'hub'): Promise<void> {
  const s = status(e.id);
  s.error = undefined;
  models.notice = null;
  let files: FileBytes[];
  const hit = await readModelFiles(e.id).catch(() => null);
  if (hit) files = hit.files;
  else {
    const ctrl = new AbortController();
    downloads.set(e.id, ctrl);
    const sizes = new Map<string, { done: number; total: number }>();
    s.download = { done: 0, total: e.sizeBytes };
    try {
      files = [];
      for (const f of e.files) {
        const url = from === 'bundled' && e.bundled ? new URL(bundledUrl(e, f), document.baseURI).href : fileUrl(e.repo, f);
        const bytes = await fetchBytes(url, ctrl.signal, (done, total) => {
          sizes.set(f.path, { done, total });
          const all = [...sizes.values()];
          s.download = { done: all.reduce((n, x) => n + x.done, 0), total: Math.max(e.sizeBytes, all.reduce((n, x) => n + x.total, 0)) };
        });
        files.push({ name: baseName(f.path), bytes });
      }
    } catch (err) {
      s.error = (err as Error).name === 'AbortError' ? 'Download cancelled.' : (err as Error).message;
      return;
    } finally {
      downloads.delete(e.id);
      s.download = undefined;
    }
    await cache(e.id, e.name, e.format, files);
  }
  await send(asModelFiles(e.format, e.repo === 'karpathy/tinyllamas' ? e.name : e.repo, files), e.id, entryBasis(e)).catch(() => {});
}

/** What the catalogue row showed: the entry's published shape and dtype. */
const entryBasis = (e: CatalogueEntry): ModelBasis => ({ shape: e.shape, sizes: entrySizes(e) });

export function cancelDownload(id: string): void {
  downloads.get(id)?.abort();
}

export async function deleteCached(id: string): Promise<void> {
  await deleteCachedModel(id);
  await refreshCache();
}

/**
 * Local files: an HF folder's files (config.json, *.safetensors,
 * tokenizer.json, …), a llama2.c checkpoint + tokenizer.bin, or one .gguf
 * (its header is read; loading waits for loadGguf).
 */
export async function loadLocal(list: File[]): Promise<void> {
  models.error = null;
  models.notice = null;
  if (list.length === 0) return;
  const names = list.map((f) => f.name);
  const hf = names.includes('config.json') || names.some((n) => n.endsWith('.safetensors'));
  const ggufs = list.filter((f) => /\.gguf$/i.test(f.name));
  if (!hf && ggufs.length > 0) {
    if (ggufs.length > 1) models.error = `Pick one .gguf at a time. Got: ${ggufs.map((f) => f.name).join(', ')}.`;
    else await chooseGguf(ggufs[0]);
    return;
  }
  const bins = list.filter((f) => f.name.endsWith('.bin'));
  if (!hf && bins.length < 2) {
    models.error = `Not a model: pick an HF folder's files (config.json, model.safetensors, tokenizer.json, …), a llama2.c .bin with its tokenizer .bin, or a .gguf. Got: ${names.join(', ')}.`;
    return;
  }
  const folder = (list[0] as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0];
  const format = hf ? 'hf' : 'llama2c';
  const picked = hf ? list : bins;
  const files = await Promise.all(picked.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  const name = folder || (hf ? 'local model' : bins.sort((a, b) => b.size - a.size)[0].name.replace(/\.bin$/, ''));
  const id = `local:${name}`;
  await cache(id, name, format, files);
  const model = asModelFiles(format, name, files);
  await send(model, id, filesBasis(model)).catch(() => {});
}

/** The cache key of a GGUF picked from disk (by its file name, as the other local models). */
const ggufId = (name: string) => `local:${name}`;

/** Shows what a GGUF's header says (parameters, tensor types, the memory estimate) before it is loaded; nothing is uploaded. */
export async function chooseGguf(file: File): Promise<void> {
  const choice: GgufChoice = { file, peek: null, error: null };
  models.gguf = choice;
  const current = () => models.gguf?.file === file; // a later choice replaces this one
  try {
    const r = await engine().call({ type: 'gguf-peek', file, name: file.name }, 'gguf-peek');
    if (current()) models.gguf!.peek = r.peek;
  } catch (e) {
    if (current()) models.gguf!.error = (e as Error).message;
  }
}

/** Loads the chosen GGUF (the worker reads the File by slices), then caches it as its Blob; a failed load is not cached. */
export async function loadGguf(): Promise<void> {
  const g = models.gguf;
  if (!g?.peek) return;
  const { file } = g;
  models.notice = null;
  try {
    await send({ format: 'gguf', name: file.name, file }, ggufId(file.name), { shape: g.peek.shape, sizes: g.peek.frozenSizes });
  } catch {
    return; // send told the page
  }
  if (models.gguf?.file === file) models.gguf = null;
  await keep(file.name, file.size, () => saveModelBlob({ id: ggufId(file.name), name: file.name }, file.name, file));
}

export function dismissGguf(): void {
  models.gguf = null;
}

/** Loads a model from the cache only (for resuming a saved run, or a cached local model's Load); `bits` overrides the policy's frozen bits. */
export async function loadCachedById(id: string, bits?: FrozenBits | 'stored'): Promise<boolean> {
  const gguf = await readModelBlob(id);
  if (gguf) {
    const peek = await engine()
      .call({ type: 'gguf-peek', file: gguf.blob, name: gguf.name }, 'gguf-peek')
      .then((r) => r.peek)
      .catch(() => null); // the load reads the header again and says what is wrong
    await send({ format: 'gguf', name: gguf.name, file: gguf.blob }, id, peek && { shape: peek.shape, sizes: peek.frozenSizes }, bits);
    return true;
  }
  const hit = await readModelFiles(id);
  if (!hit) return false;
  const files = asModelFiles(hit.model.format, hit.model.name, hit.files);
  const entry = CATALOGUE.find((e) => e.id === id);
  await send(files, id, entry ? entryBasis(entry) : filesBasis(files), bits);
  return true;
}

/** Loads the model on the GPU again from the cache, at the frozen bits the policy picks now; false when it is not cached. */
export async function reloadLoaded(): Promise<boolean> {
  const id = models.loadedId;
  if (!id) return false;
  models.error = null;
  models.notice = null;
  return loadCachedById(id).catch(() => true); // send told the page
}

/** A cached local model's Load button: errors are shown by send. */
export async function loadCached(id: string): Promise<void> {
  models.error = null;
  models.notice = null;
  await loadCachedById(id).catch(() => {});
}

