/**
 * A bound on tfjs's buffer pool, so device memory stops growing over an epoch.
 *
 * tfjs's WebGPU backend never destroys a disposed tensor's buffer: its
 * BufferManager keeps it in a pool keyed by exact byte size (and usage) and
 * hands it back only for a later buffer of that same size. A training step
 * allocates a few hundred sizes, all proportional to the micro-batch's token
 * count; micro-batches of another length ask for other sizes, so every new
 * length adds a whole step's worth of buffers to a pool that only grows
 * (measured: 616 → 1,561 MiB live over five steps whose own peak was 603).
 *
 * The rule here works in steps (the trainer calls `poolStep()` before each
 * optimizer step). A size is stale when no buffer of it was acquired since
 * the last step began. The bound is the most bytes the device held at any
 * step boundary: a step's own footprint, pool included (tfjs's pool needs
 * more than the step's peak of bytes in use, since each size keeps as many
 * buffers as were ever alive at once). On a pool miss that would take the
 * device over the bound, stale buffers are destroyed first (those whose size
 * was used longest ago first) until the new one fits. So:
 *   - steps of the same shapes never miss after the first and never evict:
 *     reuse is exactly tfjs's;
 *   - a step of a new length evicts the old length's buffers as it needs
 *     room instead of adding to them: live bytes stay at the largest step's
 *     footprint (the memory model's peak), pool included;
 *   - buffers the current step uses are never evicted (that would thrash);
 *     a longer step than any before grows the footprint, and the bound.
 * Before the first step (loading, generation) the pool is tfjs's, unbounded.
 * Small buffers (uniforms, scalars, readback staging; under 64 KiB) and
 * upload staging never evict: they come and go by the dozen within a step.
 * Why not round sizes up to a few classes: tfjs reads a buffer back whole
 * (`getBufferData` copies buffer.size bytes), so a rounded buffer would give
 * a tensor more values than its shape; and rounding costs memory at the peak.
 *
 * `releasePooledBuffers` empties the pool (after disposing a model) and
 * restarts the high-water mark at what is in use then.
 * Written against tfjs-backend-webgpu 4.x's buffer_manager.js, whose pool is
 * private in its typings.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { gpuMemory } from './memory';

interface BufferManagerInternals {
  freeBuffers: Map<string, GPUBuffer[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer;
  releaseBuffer(buffer: GPUBuffer, reuse?: boolean): void;
}

/** tfjs's key for a pooled buffer (buffer_manager.js getBufferKey) */
const keyOf = (size: number, usage: number) => `${size}_${usage}`;

export interface PoolStats {
  /** bytes in pooled (free, reusable) buffers */
  pooled: number;
  /** the live bytes above which stale pooled buffers are evicted (Infinity before the first step) */
  bound: number;
  /** pooled buffers destroyed to stay under it */
  evicted: number;
  evictedBytes: number;
}

interface PoolState {
  m: BufferManagerInternals;
  /** pooled buffers, oldest first (a Set keeps insertion order) */
  order: Set<GPUBuffer>;
  pooled: number;
  /** live bytes allowed before stale buffers are evicted (Infinity until the first step) */
  bound: number;
  /** steps begun; each key remembers the step that last acquired it */
  step: number;
  lastUse: Map<string, number>;
  /** no stale buffer is pooled (skip the scan until a step begins or a stale one is released) */
  exhausted: boolean;
  /** false: tfjs's own unbounded pool (benchmarks' baseline) */
  on: boolean;
  evicted: number;
  evictedBytes: number;
}

let state: PoolState | null = null;

/** misses below this size never evict */
const SMALL_BYTES = 64 * 1024;

const stale = (s: PoolState, buf: GPUBuffer) => (s.lastUse.get(keyOf(Number(buf.size), buf.usage)) ?? -1) < s.step;

/** Destroys stale pooled buffers, least recently used sizes first, until `size` more bytes fit under the bound. */
function makeRoom(s: PoolState, size: number): void {
  if (!s.on || s.exhausted || gpuMemory().live + size <= s.bound) return;
  const candidates = [...s.order].filter((b) => stale(s, b));
  candidates.sort((a, b) => (s.lastUse.get(keyOf(Number(a.size), a.usage)) ?? -1) - (s.lastUse.get(keyOf(Number(b.size), b.usage)) ?? -1));
  for (const buf of candidates) {
    if (gpuMemory().live + size <= s.bound) return;
    const bytes = Number(buf.size);
    const list = s.m.freeBuffers.get(keyOf(bytes, buf.usage))!;
    list.splice(list.indexOf(buf), 1);
    s.order.delete(buf);
    s.m.numFreeBuffers -= 1;
    s.m.numBytesAllocated -= bytes;
    s.pooled -= bytes;
    s.evicted += 1;
    s.evictedBytes += bytes;
    buf.destroy();
  }
  s.exhausted = true; // every stale buffer is gone
}

/**
 * Puts the bound on the backend's pool (device.ts calls it once tfjs runs).
 * Wraps BufferManager.acquireBuffer and releaseBuffer; tfjs's own logic runs
 * unchanged inside them.
 */
export function boundBufferPool(backend: WebGPUBackend): void {
  const m = backend.bufferManager as unknown as BufferManagerInternals;
  if (state?.m === m) return;
  const s: PoolState = { m, order: new Set(), pooled: 0, bound: Infinity, step: 0, lastUse: new Map(), exhausted: false, on: true, evicted: 0, evictedBytes: 0 };
  state = s;
  const acquire = m.acquireBuffer.bind(m);
  const release = m.releaseBuffer.bind(m);
  m.acquireBuffer = (size, usage, mappedAtCreation = false, reuse = true) => {
    const key = keyOf(size, usage);
    const free = reuse ? m.freeBuffers.get(key) : undefined;
    const hit = !!free && free.length > 0;
    s.lastUse.set(key, s.step);
    // staging buffers (reuse = false) die at the next submit, and small ones (uniforms, scalars,
    // readbacks) come and go by the dozen: neither is worth evicting a step's buffers for
    if (!hit && reuse && size >= SMALL_BYTES) makeRoom(s, size);
    const buffer = acquire(size, usage, mappedAtCreation, reuse);
    if (hit) {
      s.order.delete(buffer);
      s.pooled -= size;
    }
    return buffer;
  };
  m.releaseBuffer = (buffer, reuse = true) => {
    release(buffer, reuse);
    const list = m.freeBuffers.get(keyOf(Number(buffer.size), buffer.usage));
    if (reuse && list && list[list.length - 1] === buffer) {
      s.order.add(buffer);
      s.pooled += Number(buffer.size);
      if (stale(s, buffer)) s.exhausted = false;
    }
  };
}

/**
 * A training step begins: sizes not used since the previous one become
 * stale, and the bound becomes the most the device has held at a boundary.
 */
export function poolStep(): void {
  const s = state;
  if (!s) return;
  const live = gpuMemory().live;
  s.bound = s.bound === Infinity ? live : Math.max(s.bound, live);
  s.step += 1;
  s.exhausted = false;
}

/** Turns the bound off (tfjs's own pool, which only grows) or back on; for measuring what it saves. */
export function setPoolBounded(on: boolean): void {
  if (state) state.on = on;
}

/** The pool now (zeros before boundBufferPool). */
export function poolStats(): PoolStats {
  const s = state;
  return s ? { pooled: s.pooled, bound: s.bound, evicted: s.evicted, evictedBytes: s.evictedBytes } : { pooled: 0, bound: Infinity, evicted: 0, evictedBytes: 0 };
}

/**
 * Submits tfjs's recorded commands now. A tensor disposed after a command
 * that reads or writes it was recorded keeps its buffer out of the pool until
 * the next submit (tfjs submits every 15 dispatches), so work that frees a
 * layer's temporaries and allocates the next layer's at once would get fresh
 * buffers for part of them, and more the deeper the model. Submitting between
 * layers hands each layer the buffers of the one before.
 */
export function submitPending(): void {
  const b = tf.backend() as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void };
  b.ensureCommandEncoderReady(); // submitQueue finishes the current encoder, which may not exist yet
  b.endComputePassEncoder();
  b.submitQueue();
}

/**
 * Destroys every buffer in tfjs's pool: call after disposing a model or
 * adapter to hand that memory back (and to measure the next one's upload as
 * new bytes). The bound is lifted until the next step begins, so a smaller
 * model that follows cannot pool up to the old one's footprint.
 * Returns the bytes released.
 */
export function releasePooledBuffers(): number {
  const backend = tf.backend() as WebGPUBackend;
  // a pooled buffer may still be written by a recorded, unsubmitted command: submit first
  submitPending();
  const m = backend.bufferManager as unknown as BufferManagerInternals;
  let bytes = 0;
  for (const list of m.freeBuffers.values()) {
    for (const buf of list) {
      bytes += Number(buf.size);
      buf.destroy();
    }
    // empty each list but keep its key: releaseBuffer() ignores every release while the map is empty
    list.length = 0;
  }
  m.numFreeBuffers = 0;
  m.numBytesAllocated -= bytes;
  if (state?.m === m) {
    state.order.clear();
    state.pooled = 0;
    state.bound = Infinity;
    state.step += 1;
  }
  return bytes;
}
