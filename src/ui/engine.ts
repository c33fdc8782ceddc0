/** Page-side handle on the engine worker: typed requests, promise replies. */
import type { Event, Request } from '../worker/protocol';

type Pending = { resolve: (e: Event) => void; reject: (e: Error) => void };

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
      this.pending.delete(e.id);
      p.resolve(e);
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(e.message || 'engine worker crashed'));
      this.pending.clear();
    };
  }

  /** Sends a request and resolves with its reply event. */
  request<R extends Request>(req: Omit<R, 'id'>): Promise<Event> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  onEvent(l: (e: Event) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
