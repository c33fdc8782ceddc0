/**
 * GPU memory counted at the device (src/engine/gpu/memory.ts), checked byte
 * for byte against what tfjs's buffer manager says it holds, pool included.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { getBackend, getDevice, initGpu } from '../../src/engine/gpu/device';
import { gpuMemory, gpuSpan, measureResident, resetGpuPeak, uploadTensors } from '../../src/engine/gpu/memory';
import { releasePooledBuffers } from '../../src/engine/gpu/pool';

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST; // what tfjs gives tensors
type Pool = { freeBuffers: Map<string, GPUBuffer[]> };
const pooled = (b: WebGPUBackend, bytes: number) => (b.bufferManager as unknown as Pool).freeBuffers.get(`${bytes}_${STORAGE()}`)?.length ?? 0;
/** tf.memory().numBytesInGPU: bytes in buffers that tensors (and pending uniforms) hold, pool excluded */
const tfjsInUse = (b: WebGPUBackend) => b.bufferManager.numBytesUsed;
const bufferOf = (b: WebGPUBackend, t: tf.Tensor) => b.tensorMap.get(t.dataId).resource as GPUBuffer;

/** Makes tfjs submit its queue, which is when it hands disposed tensors' buffers to the pool. */
async function flush(): Promise<void> {
  const x = tf.fill([5], 0);
  await x.data();
  x.dispose();
}

describe('GPU memory at the device', () => {
  let b: WebGPUBackend;
  beforeAll(async () => {
    await initGpu();
    b = getBackend();
  });

  it('agrees with tfjs: live bytes = every buffer its manager allocated, in use or pooled', async () => {
    const x = tf.fill([1000], 1);
    await x.data();
    x.dispose();
    await flush();
    const m = gpuMemory();
    console.log(`live ${m.live} B in ${m.buffers} buffers; tfjs: allocated ${b.bufferManager.numBytesAllocated} B, in tensors ${tfjsInUse(b)} B`);
    expect(m.live).toBe(b.bufferManager.numBytesAllocated);
    expect(m.buffers).toBe(b.bufferManager.getNumUsedBuffers() + b.bufferManager.getNumFreeBuffers());
    expect(m.live).toBeGreaterThan(tfjsInUse(b)); // the pool tfjs's own count misses
  });

  it('a tensor of N floats takes exactly 4N bytes; disposed, it stays on the device in the pool and is reused', async () => {
    for (const N of [3, 12345]) {
      // odd sizes: tfjs asks exactly 4 bytes per element, no rounding to 16
      const before = gpuMemory().live;
      const t = tf.fill([N], 1.5);
      const grew = gpuMemory().live - before;
      expect(Number(bufferOf(b, t).size)).toBe(4 * N);
      expect(grew).toBeGreaterThanOrEqual(4 * N);
      expect(grew).toBeLessThan(4 * N + 256); // plus at most a uniform buffer or two
      console.log(`fill([${N}]): buffer ${bufferOf(b, t).size} B, live +${grew} B`);
      const inTensors = tfjsInUse(b);
      const pooledBefore = pooled(b, 4 * N);
      t.dispose();
      await flush();
      expect(pooled(b, 4 * N)).toBe(pooledBefore + 1);
      // tfjs's own count drops (it also counts the launch's uniforms until the submit)
      expect(tfjsInUse(b)).toBeLessThanOrEqual(inTensors - 4 * N);
      expect(gpuMemory().live).toBeGreaterThanOrEqual(before + 4 * N); // still held
      // the same size again comes from the pool: no new bytes
      const atReuse = gpuMemory().live;
      const again = tf.fill([N], 2);
      expect(gpuMemory().live - atReuse).toBeLessThan(4 * N);
      expect(pooled(b, 4 * N)).toBe(pooledBefore);
      again.dispose();
      await flush();
    }
  });

  it('releasePooledBuffers hands the pool back to the device, and tfjs keeps pooling afterwards', async () => {
    const N = 4321;
    const t = tf.fill([N], 1);
    t.dispose();
    await flush();
    expect(pooled(b, 4 * N)).toBe(1);
    const before = gpuMemory().live;
    const released = releasePooledBuffers();
    expect(released).toBeGreaterThanOrEqual(4 * N);
    expect(gpuMemory().live).toBe(before - released);
    expect(pooled(b, 4 * N)).toBe(0);
    expect(gpuMemory().live).toBe(b.bufferManager.numBytesAllocated);
    expect(b.bufferManager.getNumFreeBuffers()).toBe(0);
    const u = tf.fill([N], 3);
    expect(Array.from((await u.data()).slice(0, 2))).toEqual([3, 3]);
    u.dispose();
    await flush();
    expect(pooled(b, 4 * N)).toBe(1);
    expect(gpuMemory().live).toBe(b.bufferManager.numBytesAllocated);
  });

  it('a buffer created and destroyed on the device directly returns live to where it was (destroy twice counts once)', () => {
    const m0 = gpuMemory();
    const buf = getDevice().createBuffer({ size: 1000, usage: GPUBufferUsage.STORAGE });
    expect(gpuMemory().live).toBe(m0.live + 1000);
    expect(gpuMemory().buffers).toBe(m0.buffers + 1);
    buf.destroy();
    buf.destroy();
    expect(gpuMemory().live).toBe(m0.live);
    expect(gpuMemory().buffers).toBe(m0.buffers);
  });

  it('peak follows live, keeps its high mark and resets; spans measure peak and resident bytes of one piece of work', () => {
    const device = getDevice();
    resetGpuPeak();
    const m0 = gpuMemory();
    expect(m0.peak).toBe(m0.live);
    const span = gpuSpan();
    const a = device.createBuffer({ size: 8192, usage: GPUBufferUsage.STORAGE });
    const c = device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE });
    a.destroy();
    expect(gpuMemory().peak).toBe(m0.live + 8192 + 4096);
    expect(span.peakAbove()).toBe(8192 + 4096);
    expect(span.resident()).toBe(4096);
    c.destroy();
    expect(span.resident()).toBe(0);
    span.end();
    expect(gpuMemory().peak).toBe(m0.live + 8192 + 4096);
    expect(gpuMemory().devicePeak).toBeGreaterThanOrEqual(gpuMemory().peak);
    resetGpuPeak();
    expect(gpuMemory().peak).toBe(gpuMemory().live);
    const r = measureResident(() => device.createBuffer({ size: 512, usage: GPUBufferUsage.STORAGE }));
    expect(r.bytes).toBe(512);
    r.value.destroy();
  });

  it('a new tensor stays on the CPU until used; uploadTensors puts it on the device now (mapped at creation: no staging)', () => {
    const N = 7777;
    const host = tf.tensor1d(new Float32Array(N).fill(0.25));
    const before = gpuMemory().live;
    expect(b.tensorMap.get(host.dataId).resource).toBeFalsy();
    const holder = { weights: [host], nested: new Map([['again', host]]), ids: [1, 2, 3] };
    const bytes = uploadTensors(holder);
    expect(bytes).toBe(4 * N);
    expect(gpuMemory().live - before).toBe(4 * N);
    expect(uploadTensors(holder)).toBe(4 * N); // already there: nothing new
    expect(gpuMemory().live - before).toBe(4 * N);
    host.dispose();
  });
});
