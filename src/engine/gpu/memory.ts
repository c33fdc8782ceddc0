/**
 * GPU memory as the device sees it: every GPUBuffer created minus every one
 * destroyed. device.ts installs the counter on the GPUDevice before tfjs gets
 * it, so nothing allocates around it (our kernels allocate through tfjs too).
 *
 * Why not `tf.memory().numBytesInGPU`: that counts only the buffers tensors
 * hold. tfjs's WebGPU backend does not destroy a disposed tensor's buffer: it
 * keeps it in a pool keyed by exact byte size and usage, for a later tensor
 * of the same size, and never frees the pool. Those pooled buffers are device
 * memory all the same, so they are in `live` here (they are never destroyed,
 * so counting creates and destroys gives them for free). After a run, `live`
 * is what the process really holds; `numBytesAllocatedInGPU` agrees with it
 * (see test/gpu/memory.test.ts).
 *
 * What else is in `live`, besides tensors and the pool:
 *   - upload staging: a tensor's first upload writes into a fresh buffer
 *     mapped at creation (no copy), or, when the pool hands back an unmapped
 *     one, through a MAP_WRITE staging buffer that tfjs destroys after the
 *     next queue submit (briefly live, then gone);
 *   - readback staging: `data()` copies into a MAP_READ buffer that goes back
 *     to the pool, one per distinct size read, for good;
 *   - uniform buffers (a few dozen bytes per program launch, pooled).
 * pool.ts bounds the pool (tfjs's own never shrinks) and empties it on demand.
 * Bytes are the sizes asked of createBuffer (tfjs asks 4 bytes per element,
 * uniforms rounded up to their alignment); a driver may round its allocation up further.
 *
 * tfjs uploads a new tensor lazily, at the first program that reads it, so
 * "resident after loading" needs `uploadTensors()` first.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export interface GpuMemory {
  /** bytes in buffers created and not yet destroyed (tfjs's pool included) */
  live: number;
  /** how many such buffers */
  buffers: number;
  /** highest `live` since the last resetGpuPeak() (or since the device was created) */
  peak: number;
  /** highest `live` since the device was created */
  devicePeak: number;
}

const counts: GpuMemory = { live: 0, buffers: 0, peak: 0, devicePeak: 0 };
const spans = new Set<{ start: number; max: number }>();
const tracked = new WeakSet<GPUDevice>();

function created(size: number): void {
  counts.live += size;
  counts.buffers += 1;
  counts.peak = Math.max(counts.peak, counts.live);
  counts.devicePeak = Math.max(counts.devicePeak, counts.live);
  for (const s of spans) s.max = Math.max(s.max, counts.live);
}

function destroyed(size: number): void {
  counts.live -= size;
  counts.buffers -= 1;
}

/**
 * Wraps `device.createBuffer` and each new buffer's `destroy` so every byte
 * the device holds is counted. Call once, before anything allocates (device.ts).
 */
export function trackGpuMemory(device: GPUDevice): void {
  if (tracked.has(device)) return;
  tracked.add(device);
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create(descriptor);
    const size = Number(buffer.size);
    created(size);
    const destroy = buffer.destroy.bind(buffer);
    let alive = true; // destroy() may be called twice; count it once
    buffer.destroy = () => {
      if (alive) {
        alive = false;
        destroyed(size);
      }
      return destroy();
    };
    return buffer;
  };
}

/** The device's buffers now (zeros before initGpu). */
export function gpuMemory(): GpuMemory {
  return { ...counts };
}

/** Starts a new `peak` window at the current live bytes. */
export function resetGpuPeak(): void {
  counts.peak = counts.live;
}

/**
 * A window on live bytes from now on, for one piece of work; several may be
 * open at once (they do not touch the global peak). Call end() when done.
 */
export interface GpuSpan {
  /** live bytes when the span began */
  readonly start: number;
  /** bytes live now minus at the start: what the work left resident */
  resident(): number;
  /** highest live bytes since the start, minus the start: the work's peak on top of what was there */
  peakAbove(): number;
  end(): void;
}

export function gpuSpan(): GpuSpan {
  const s = { start: counts.live, max: counts.live };
  spans.add(s);
  return {
    start: s.start,
    resident: () => counts.live - s.start,
    peakAbove: () => s.max - s.start,
    end: () => void spans.delete(s),
  };
}

/** Runs `work` and returns its value with the bytes it left resident on the device. */
export function measureResident<T>(work: () => T): { value: T; bytes: number } {
  const before = counts.live;
  const value = work();
  return { value, bytes: counts.live - before };
}

const backend = () => tf.backend() as WebGPUBackend;

/**
 * Moves every tensor reachable from `roots` (own properties, arrays, Maps,
 * Sets; private fields included, ES #private excluded) onto the GPU now.
 * tfjs otherwise keeps a new tensor's values on the CPU until a program first
 * reads it, so the model's weights would show up at the first forward pass.
 * Returns the bytes of the buffers those tensors hold (uploaded now or before).
 */
export function uploadTensors(...roots: unknown[]): number {
  const b = backend();
  const seen = new Set<unknown>();
  let bytes = 0;
  const visit = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 8) return;
    seen.add(v);
    if (v instanceof tf.Tensor) {
      if (v.isDisposed) return;
      const data = b.tensorMap.get(v.dataId);
      if (!data) return;
      if (data.resource == null && data.values != null) b.uploadToGPU(v.dataId);
      const res = b.tensorMap.get(v.dataId)?.resource;
      if (res && 'size' in res) bytes += Number(res.size);
      return;
    }
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
    if (Array.isArray(v)) {
      if (v.length && typeof v[0] !== 'object') return; // token ids and the like
      for (const x of v) visit(x, depth + 1);
    } else if (v instanceof Map || v instanceof Set) {
      for (const x of v.values()) visit(x, depth + 1);
    } else {
      for (const x of Object.values(v)) visit(x, depth + 1);
    }
  };
  for (const r of roots) visit(r, 0);
  return bytes;
}
