/** Checks for the CLI's `gpu_bytes` (device-accounted GPU memory, src/engine/gpu/memory.ts). */
import fs from 'node:fs';
import { expect } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors';

/** Parameters stored in one safetensors file (tied embeddings are stored once, as the model counts them). */
export function safetensorsParams(file: string): number {
  const st = readSafetensors(new Uint8Array(fs.readFileSync(file)), file);
  return [...st.tensors.values()].reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** gpu_bytes: four integers; f32 weights take at least 4 bytes a parameter, and less than 3× that. */
export function expectGpuBytes(g: Record<string, unknown>, params: number, adapter: 'none' | 'some'): void {
  expect(Object.keys(g).sort()).toEqual(['adapter', 'device_peak', 'peak', 'weights']);
  for (const v of Object.values(g)) expect(Number.isInteger(v) && (v as number) >= 0, JSON.stringify(g)).toBe(true);
  const { weights, adapter: a, peak, device_peak } = g as Record<string, number>;
  expect(weights).toBeGreaterThanOrEqual(params * 4);
  expect(weights).toBeLessThan(params * 4 * 3);
  if (adapter === 'none') expect(a).toBe(0);
  else expect(a).toBeGreaterThan(0);
  expect(peak).toBeGreaterThan(0); // activations at least
  expect(device_peak).toBeGreaterThanOrEqual(weights + a);
  // the device's highest is the work's peak on top of weights + adapter, give or take what came before the model
  expect(device_peak).toBeLessThanOrEqual(weights + a + peak + 64 * 1024);
}
