/**
 * Where a forward's GPU time goes, per program (`npx tsx bench/program_times.ts [B] [T]`):
 * one stories260K `hidden` forward of B × T tokens (default 128 × 32, the
 * curation embedding's batch), timed by tfjs's timestamp queries
 * (backend.time), each query matched to the program that ran it by wrapping
 * runWebGPUProgram. Absolute times, no baseline (figures in BENCHMARKS.md,
 * issue 15); SwiftShader supports timestamp-query.
 */
import * as tf from '@tensorflow/tfjs';
import { getBackend } from '../src/engine/gpu/device';
import { loadStories260K } from '../test/helpers/stories';

const { model } = await loadStories260K();
const B = Number(process.argv[2] ?? 128);
const T = Number(process.argv[3] ?? 32);
const grid = new Int32Array(B * T).map((_, i) => 3 + ((i * 37) % 500));
model.adapterEnabled = false;
const forward = () => model.hidden(tf.tensor2d(grid, [B, T], 'int32'));
const warm = forward(); // compile the shaders first
await warm.data();
warm.dispose();

type Timed = { kernelMs: number; getExtraProfileInfo: () => string };
const backend = getBackend() as unknown as { runWebGPUProgram: (p: { shaderKey?: string }, ...rest: unknown[]) => unknown; time: (f: () => void) => Promise<Timed> };
const run = backend.runWebGPUProgram;
const keys: string[] = [];
backend.runWebGPUProgram = function (this: unknown, program, ...rest) {
  keys.push(String(program.shaderKey ?? 'tfjs op'));
  return run.call(this, program, ...rest);
};
const info = await backend.time(() => forward().dispose());
backend.runWebGPUProgram = run;
const ms = info.getExtraProfileInfo().split(', ').map((s) => Number(s.split(': ').pop()));
const byKey = new Map<string, { n: number; ms: number }>();
keys.forEach((k, i) => {
  const e = byKey.get(k) ?? { n: 0, ms: 0 };
  e.n++;
  e.ms += ms[i] ?? 0;
  byKey.set(k, e);
});
console.log(`${B} × ${T} tokens: ${info.kernelMs.toFixed(0)} ms of kernels in ${keys.length} dispatches`);
for (const [k, e] of [...byKey].sort((a, b) => b[1].ms - a[1].ms)) console.log(`${e.ms.toFixed(0).padStart(7)} ms ${String(e.n).padStart(4)}×  ${k}`);
process.exit(0);
