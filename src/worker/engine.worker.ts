/// <reference lib="webworker" />
/**
 * The engine worker: owns WebGPU, the model and training. Speaks protocol.ts.
 */
import { NoWebGPUError, initGpu } from '../engine/gpu/device';
import type { Event, Request } from './protocol';

const post = (e: Event) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(e);

self.onmessage = async (msg: MessageEvent<Request>) => {
  const req = msg.data;
  try {
    switch (req.type) {
      case 'probe': {
        const info = await initGpu();
        post({ type: 'gpu', id: req.id, info });
        break;
      }
    }
  } catch (e) {
    post({ type: 'error', id: req.id, message: (e as Error).message, kind: e instanceof NoWebGPUError ? 'no-webgpu' : 'error' });
  }
};
