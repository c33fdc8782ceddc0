/**
 * The engine worker and what the page knows about the GPU. Push events from
 * the worker (training steps, a lost device) are routed to the state modules
 * that asked for them through `onPush`.
 */
import type { GpuInfo } from '../../engine/gpu/device';
import type { Event, GpuMemoryReport } from '../../worker/protocol';
import { EngineClient } from '../engine';

export const gpu = $state({
  info: null as GpuInfo | null,
  error: null as string | null,
  kind: null as 'no-webgpu' | 'error' | null,
  /** set when the device was lost; a new worker gets a new device */
  lost: null as string | null,
  /** device-accounted GPU memory, pushed by the worker while a model is loaded */
  memory: null as GpuMemoryReport | null,
});

let client: EngineClient | null = null;
const pushListeners = new Set<(e: Event) => void>();

export function onPush(l: (e: Event) => void): void {
  pushListeners.add(l);
}

function connect(): EngineClient {
  const c = new EngineClient();
  c.onEvent((e) => {
    if (e.id !== 0) return;
    if (e.type === 'device-lost') gpu.lost = e.message;
    if (e.type === 'gpu-memory') gpu.memory = e.memory;
    for (const l of pushListeners) l(e);
  });
  return c;
}

export function engine(): EngineClient {
  client ??= connect();
  return client;
}

/** Probes WebGPU in the worker (which starts tfjs on it). */
export async function probe(): Promise<boolean> {
  gpu.error = null;
  gpu.kind = null;
  const e = await engine().request({ type: 'probe' }).catch((err: Error) => ({ type: 'error' as const, id: 0, message: err.message, kind: 'error' as const }));
  if (e.type === 'gpu') {
    gpu.info = e.info;
    return true;
  }
  if (e.type === 'error') {
    gpu.error = e.message;
    gpu.kind = e.kind;
  }
  return false;
}

/** A fresh worker (and GPU device), e.g. after the device was lost. Everything loaded is gone. */
export async function restartEngine(): Promise<boolean> {
  client?.terminate();
  client = connect();
  gpu.lost = null;
  gpu.memory = null;
  return probe();
}

export const ready = () => gpu.info !== null && gpu.lost === null;
