/**
 * Model choice: the catalogue (Hub downloads with progress, cancel, a header
 * peek and the IndexedDB cache) or local files (an HF folder or a llama2.c
 * pair). Loading itself happens in the worker.
 */
import { deleteCachedModel, isQuotaError, listCachedModels, QUOTA_MESSAGE, readModelFiles, saveModelFiles, type CachedModel } from '../../worker/db';
import type { FileBytes, ModelFiles, ModelSummary } from '../../worker/protocol';
import { EngineError } from '../engine';
import { baseName, bundledUrl, CATALOGUE, fetchBytes, fileUrl, peekHeader, type CatalogueEntry, type HeaderPeek } from '../lib/hub';
import { engine } from './app.svelte';

export interface EntryStatus {
  peek?: HeaderPeek;
  peekError?: string;
  download?: { done: number; total: number };
  error?: string;
}

export const models = $state({
  loaded: null as ModelSummary | null,
  /** catalogue id or `local:<name>`: the key of the IndexedDB cache, for resuming */
  loadedId: null as string | null,
  busy: null as string | null,
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

async function send(files: ModelFiles, id: string): Promise<void> {
  models.busy = `Loading ${files.name} onto the GPU…`;
  models.error = null;
  try {
    const transfer = files.format === 'hf' ? files.files.map((f) => f.bytes.buffer) : [files.model.bytes.buffer, files.tokenizer.bytes.buffer];
    const r = await engine().call({ type: 'load-model', files, cacheId: id }, 'model', { transfer: transfer as ArrayBuffer[] });
    models.loaded = r.model;
    models.loadedId = id;
    for (const l of listeners) l(r.model);
  } catch (e) {
    models.error = e instanceof EngineError ? `Could not load the model: ${e.message}` : (e as Error).message;
    throw e;
  } finally {
    models.busy = null;
  }
}

function asModelFiles(format: 'hf' | 'llama2c', name: string, files: FileBytes[]): ModelFiles {
  if (format === 'hf') return { format, name, files };
  const tok = files.find((f) => /tok.*\.bin$/i.test(f.name)) ?? [...files].sort((a, b) => a.bytes.byteLength - b.bytes.byteLength)[0];
  const model = files.find((f) => f !== tok);
  if (!model || !tok) throw new Error('A llama2.c model needs two files: the checkpoint .bin and its tokenizer .bin.');
  return { format, name, model, tokenizer: tok };
}

/** Caches files in IndexedDB; a full quota is reported, not fatal. Copies, because the originals are transferred to the worker. */
async function cache(id: string, name: string, format: 'hf' | 'llama2c', files: FileBytes[]): Promise<void> {
  try {
    await saveModelFiles({ id, name, format }, files.map((f) => ({ name: f.name, bytes: f.bytes.slice() })));
  } catch (e) {
    models.notice = isQuotaError(e) ? QUOTA_MESSAGE : `Could not cache ${name}: ${(e as Error).message}`;
  }
  await refreshCache();
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
  await send(asModelFiles(e.format, e.repo === 'karpathy/tinyllamas' ? e.name : e.repo, files), e.id).catch(() => {});
}

export function cancelDownload(id: string): void {
  downloads.get(id)?.abort();
}

export async function deleteCached(id: string): Promise<void> {
  await deleteCachedModel(id);
  await refreshCache();
}

/** Local files: an HF folder's files (config.json, *.safetensors, tokenizer.json, …) or a llama2.c checkpoint + tokenizer.bin. */
export async function loadLocal(list: File[]): Promise<void> {
  models.error = null;
  models.notice = null;
  if (list.length === 0) return;
  const names = list.map((f) => f.name);
  const hf = names.includes('config.json') || names.some((n) => n.endsWith('.safetensors'));
  const bins = list.filter((f) => f.name.endsWith('.bin'));
  if (!hf && bins.length < 2) {
    models.error = `Not a model: pick an HF folder's files (config.json, model.safetensors, tokenizer.json, …) or a llama2.c .bin with its tokenizer .bin. Got: ${names.join(', ')}.`;
    return;
  }
  const folder = (list[0] as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0];
  const format = hf ? 'hf' : 'llama2c';
  const picked = hf ? list : bins;
  const files = await Promise.all(picked.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  const name = folder || (hf ? 'local model' : bins.sort((a, b) => b.size - a.size)[0].name.replace(/\.bin$/, ''));
  const id = `local:${name}`;
  await cache(id, name, format, files);
  await send(asModelFiles(format, name, files), id).catch(() => {});
}

/** Loads a model from the cache only (for resuming a saved run). */
export async function loadCachedById(id: string): Promise<boolean> {
  const hit = await readModelFiles(id);
  if (!hit) return false;
  await send(asModelFiles(hit.model.format, hit.model.name, hit.files), id);
  return true;
}

