/**
 * Downloading model files from the Hugging Face Hub (or any CORS URL) on the
 * page: streamed with byte progress and cancellable (fetch + ReadableStream +
 * AbortController), and a ranged read of just the header (safetensors: 8
 * bytes of length, then the JSON header; llama2.c: 7 int32) so the page can
 * show parameters and memory before the full download. Training memory comes
 * from each entry's published shape and dtype (engine/memory_model.ts).
 * Nothing here touches the GPU; the bytes go to the worker.
 */
import catalogue from '../../../models/catalogue.json';
import { headerLength, parseHeader } from '../../engine/io/safetensors';
import { predictTrainingMemory, type MemoryEstimate, type MemoryQuery, type ModelShape } from '../../engine/memory_model';
import type { ModelSummary } from '../../worker/protocol';

export interface CatalogueFile {
  path: string;
  url?: string;
  role?: 'model' | 'tokenizer';
}

export interface CatalogueEntry {
  id: string;
  name: string;
  repo: string;
  format: 'hf' | 'llama2c';
  files: CatalogueFile[];
  sizeBytes: number;
  params: string;
  licence: string;
  /** a folder of the page (public/) with the same files under their last path part: loads with no network */
  bundled?: string;
  /** how the checkpoint stores its weights: BF16/F16 matrices stay 16-bit on the GPU */
  dtype: 'F32' | 'BF16' | 'F16';
  /** the published config (HF config.json, or the llama2.c header): what the memory model needs */
  shape: ModelShape;
  note: string;
  recommended: { preset: string; template: string; lr: number; rank: number; maxLength: number; batchSize: number };
}

export const CATALOGUE: CatalogueEntry[] = catalogue.models as CatalogueEntry[];

/** The training settings GPU memory depends on. */
export type MemorySettings = Pick<MemoryQuery, 'rank' | 'batchSize' | 'maxLength' | 'optimizer'>;

/** The memory-model query for training an entry with these settings. */
export function entryQuery(e: CatalogueEntry, s: MemorySettings): MemoryQuery {
  return { config: e.shape, weightBytes: e.dtype === 'F32' ? 4 : 2, rank: s.rank, batchSize: s.batchSize, maxLength: s.maxLength, optimizer: s.optimizer };
}

/** The memory-model query for training the loaded model (a catalogue entry or the user's own files), or a GGUF not loaded yet (its header's GgufPeek). */
export function loadedQuery(m: Pick<ModelSummary, 'shape' | 'weightBytes'>, s: MemorySettings): MemoryQuery {
  return { config: m.shape, weightBytes: m.weightBytes, rank: s.rank, batchSize: s.batchSize, maxLength: s.maxLength, optimizer: s.optimizer };
}

/** GPU memory to train an entry with LoRA at its recommended settings (the figure its row shows). */
export function recommendedEstimate(e: CatalogueEntry): MemoryEstimate {
  const r = e.recommended;
  return predictTrainingMemory(entryQuery(e, { rank: r.rank, batchSize: r.batchSize, maxLength: r.maxLength, optimizer: 'adamw' }));
}

export const fileUrl = (repo: string, f: CatalogueFile) => f.url ?? `https://huggingface.co/${repo}/resolve/main/${f.path}`;
/** The name the loader expects (the Hub path's last part). */
export const baseName = (p: string) => p.split('/').pop()!;
/** Where the page's own copy of a file lives (relative to the page, so any hosting path works). */
export const bundledUrl = (e: CatalogueEntry, f: CatalogueFile) => `${import.meta.env.BASE_URL}${e.bundled}${baseName(f.path)}`;

export class HttpError extends Error {}

async function checked(url: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new HttpError(`Could not reach ${new URL(url).host} (offline, or blocked): ${(e as Error).message}`);
  }
  if (!res.ok) throw new HttpError(`${url} answered ${res.status} ${res.statusText}${res.status === 401 || res.status === 403 ? ' (a gated model? accept its licence on the Hub first)' : ''}`);
  return res;
}

/** Downloads a whole file, reporting bytes as they arrive. */
export async function fetchBytes(url: string, signal: AbortSignal, onBytes: (done: number, total: number) => void): Promise<Uint8Array> {
  const res = await checked(url, { signal });
  const total = Number(res.headers.get('content-length')) || 0;
  if (!res.body) {
    const b = new Uint8Array(await res.arrayBuffer());
    onBytes(b.byteLength, b.byteLength);
    return b;
  }
  const reader = res.body.getReader();
  let out = new Uint8Array(total || 1 << 20);
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.byteLength > out.byteLength) {
      const grown = new Uint8Array(Math.max(out.byteLength * 2, n + value.byteLength));
      grown.set(out.subarray(0, n));
      out = grown;
    }
    out.set(value, n);
    n += value.byteLength;
    onBytes(n, total);
  }
  return n === out.byteLength ? out : out.slice(0, n);
}

/** Bytes [start, end] of a file and the file's total size (from Content-Range). */
async function fetchRange(url: string, start: number, end: number, signal?: AbortSignal): Promise<{ bytes: Uint8Array; total: number }> {
  const res = await checked(url, { headers: { Range: `bytes=${start}-${end}` }, signal });
  const range = res.headers.get('content-range'); // "bytes 0-7/1044992"
  let bytes = new Uint8Array(await res.arrayBuffer());
  let total: number;
  if (res.status === 200) {
    total = bytes.byteLength; // the server ignored Range and sent it all
    bytes = bytes.slice(start, end + 1);
  } else if (range) total = Number(range.split('/')[1]);
  else {
    // Content-Range not exposed to us (CORS): ask for the size
    const head = await checked(url, { method: 'HEAD', signal });
    total = Number(head.headers.get('x-linked-size') ?? head.headers.get('content-length'));
  }
  return { bytes, total };
}

export interface HeaderPeek {
  params: number;
  /** bytes of the weights on the GPU: 16-bit matrices stay 16-bit (frozen.ts), the rest is f32 */
  gpuBytes: number;
  fileBytes: number;
  dtype: string;
}

/** Reads a safetensors header with two ranged reads: the 8-byte length, then the JSON. */
export async function peekSafetensors(url: string, signal?: AbortSignal): Promise<HeaderPeek> {
  const first = await fetchRange(url, 0, 7, signal);
  const n = headerLength(first.bytes, 'model.safetensors');
  const head = await fetchRange(url, 0, 8 + n - 1, signal);
  const h = parseHeader(head.bytes, first.total, 'model.safetensors');
  let params = 0;
  let gpuBytes = 0;
  const dtypes = new Set<string>();
  for (const [name, t] of h.tensors) {
    if (name.includes('rotary_emb')) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    params += n;
    const packed = (t.dtype === 'BF16' || t.dtype === 'F16') && t.shape.length === 2 && t.shape[1] % 2 === 0;
    gpuBytes += n * (packed ? 2 : 4);
    dtypes.add(t.dtype);
  }
  return { params, gpuBytes, fileBytes: first.total, dtype: [...dtypes].join('/') };
}

/** llama2.c header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (<0: untied), seq_len. */
export async function peekLlama2c(url: string, signal?: AbortSignal): Promise<HeaderPeek> {
  const { bytes, total } = await fetchRange(url, 0, 27, signal);
  const v = new DataView(bytes.buffer, bytes.byteOffset, 28);
  const [dim, hidden, layers, heads, kvHeads, vocabRaw] = Array.from({ length: 6 }, (_, i) => v.getInt32(i * 4, true));
  const vocab = Math.abs(vocabRaw);
  const kvDim = (dim * kvHeads) / heads;
  const perLayer = 2 * dim + 2 * dim * dim + 2 * dim * kvDim + 3 * dim * hidden;
  const params = vocab * dim * (vocabRaw < 0 ? 2 : 1) + layers * perLayer + dim;
  return { params, gpuBytes: params * 4, fileBytes: total, dtype: 'F32' };
}

export function peekHeader(e: CatalogueEntry, signal?: AbortSignal): Promise<HeaderPeek> {
  if (e.format === 'hf') return peekSafetensors(fileUrl(e.repo, e.files.find((f) => f.path.endsWith('.safetensors'))!), signal);
  return peekLlama2c(fileUrl(e.repo, e.files.find((f) => f.role === 'model')!), signal);
}
