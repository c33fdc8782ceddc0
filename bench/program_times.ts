/**
 * Where a forward's GPU time goes, per program (`npx tsx bench/program_times.ts [B] [T]`):
 * one stories260K `hidden` forward of B × T tokens (default 128 × 32, the
 * curation embedding's batch), timed by tfjs's timestamp queries
 * (bench/program_profile.ts). Absolute times, no baseline (figures in BENCHMARKS.md,
 * issue 15); SwiftShader supports timestamp-query.
 */
import * as tf from '@tensorflow/tfjs';
import { loadStories260K } from '../test/helpers/stories';
import { timePrograms } from './program_profile';

const { model } = await loadStories260K();
const B = Number(process.argv[2] ?? 128);
const T = Number(process.argv[3] ?? 32);
const grid = new Int32Array(B * T).map((_, i) => 3 + ((i * 37) % 500));
model.adapterEnabled = false;
const forward = () => model.hidden(tf.tensor2d(grid, [B, T], 'int32'));
const warm = forward(); // compile the shaders first
await warm.data();
warm.dispose();

const info = await timePrograms(() => forward().dispose(), (p) => String(p.shaderKey ?? 'tfjs op'));
console.log(`${B} × ${T} tokens: ${info.kernelMs.toFixed(0)} ms of kernels in ${info.runs.length} dispatches`);
for (const e of info.byName) console.log(`${e.ms.toFixed(0).padStart(7)} ms ${String(e.count).padStart(4)}×  ${e.name}`);
process.exit(0);
