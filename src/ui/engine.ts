/** Page-side handle on the engine worker: typed requests, promise replies. */
import type { Event, ModelFiles, RequestBody } from '../worker/protocol';

type Pending = { resolve: (e: Event) => void; reject: (e: Error) => void; onEvent?: (e: Event) => void };

/** Events that report progress on a request rather than end it. */
const PROGRESS = new Set<Event['type']>(['progress', 'token', 'generated-side']);

export class EngineError extends Error {
  constructor(
    message: string,
    readonly kind: 'no-webgpu' | 'error',
  ) {
    super(message);
  }
}

export class EngineClient {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Set<(e: Event) => void>();

  constructor() {
    this.worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (m: MessageEvent<Event>) => {
      const e = m.data;
      for (const l of this.listeners) l(e);
      const p = this.pending.get(e.id);
      if (!p) return;
      if (PROGRESS.has(e.type)) return p.onEvent?.(e);
      this.pending.delete(e.id);
      p.resolve(e);
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || 'engine worker crashed'));
      this.pending.clear();
    };
  }

  /** Sends a request and resolves with its final reply event (which may be an `error` event). */
  request(req: RequestBody, opts: { onEvent?: (e: Event) => void; transfer?: Transferable[] } = {}): Promise<Event> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent: opts.onEvent });
      this.worker.postMessage({ ...req, id }, opts.transfer ?? []);
    });
  }

  /** Like request, but an `error` reply rejects with an EngineError and the reply type is checked. */
  async call<T extends Event['type']>(req: RequestBody, expect: T, opts: { onEvent?: (e: Event) => void; transfer?: Transferable[] } = {}): Promise<Extract<Event, { type: T }>> {
    const e = await this.request(req, opts);
    if (e.type === 'error') throw new EngineError(e.message, e.kind);
    if (e.type !== expect) throw new Error(`engine answered ${e.type}, expected ${expect}`);
    return e as Extract<Event, { type: T }>;
  }

  onEvent(l: (e: Event) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  terminate(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error('engine restarted'));
    this.pending.clear();
  }
}

/** The buffers a model load hands to the worker (transferred, not copied); a GGUF's Blob is cloned by reference, nothing to transfer. */
export function modelTransfer(files: ModelFiles): ArrayBuffer[] {
  const bytes = files.format === 'hf' ? files.files.map((f) => f.bytes) : files.format === 'llama2c' ? [files.model.bytes, files.tokenizer.bytes] : [];
  return bytes.map((b) => b.buffer as ArrayBuffer);
}
