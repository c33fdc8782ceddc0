import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';

describe('WebGPU device', () => {
  it('starts tfjs on a WebGPU adapter (fails, never skips, without one)', async () => {
    const info = await initGpu();
    console.log('adapter:', JSON.stringify({ vendor: info.vendor, arch: info.architecture, desc: info.description, software: info.software }));
    expect(tf.getBackend()).toBe('webgpu');
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5], [6]]));
    expect(Array.from(await y.data())).toEqual([17, 39]);
  });
});
