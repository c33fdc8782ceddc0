/**
 * The one typed protocol between the page and the engine worker. The page
 * never touches the GPU: it posts Requests and renders Events.
 * Every request carries an id; replies and progress events echo it.
 */
import type { GpuInfo } from '../engine/gpu/device';

export type Request =
  | { type: 'probe'; id: number };

export type Event =
  | { type: 'gpu'; id: number; info: GpuInfo }
  | { type: 'error'; id: number; message: string; kind: 'no-webgpu' | 'error' };

export type RequestOf<T extends Request['type']> = Extract<Request, { type: T }>;
