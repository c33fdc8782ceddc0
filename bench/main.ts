/**
 * npm run bench [-- --json] [-- --only inference|kernels|dispatches|throughput [--layers N] [--vocab V]|real-shapes [--models a,b] [--layers N]
 *                 |memory [--models a,b|none] [--quantized qwen2.5-1.5b,qwen2.5-0.5b-weights,smollm2-135m-q4_1-weights|none]
 *                         [--layers 2,4] [--batch B] [--len T] [--steps S] [--live 256,192,...]]
 * (throughput runs only when asked: a SmolLM2-135M-shaped model on SwiftShader takes minutes)
 * Prints each figure with its ratio against a baseline measured in the same
 * process (machines are noisy; absolute numbers only mean something beside
 * their baseline). With --json the last stdout line is a JSON array of rows.
 */
import { parseArgs } from 'node:util';
import { initGpu } from '../src/engine/gpu/device';
import { loadModelPath } from '../src/engine/io/node_load';
import { LlamaModel } from '../src/engine/model';
import { benchInference } from './inference';
import { benchKernels } from './kernels';
import { benchDispatches } from './dispatches';
import { benchThroughput } from './throughput';
import { benchRealShapes } from './real_shapes';
import { benchMemory } from './memory';
import { benchMemoryQuantized, QUANTIZED_SUITES, type QuantizedSuite } from './memory_quantized';
import type { RealModelId } from '../test/helpers/real_checkpoints';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, only: { type: 'string' }, model: { type: 'string' }, layers: { type: 'string' }, vocab: { type: 'string' }, models: { type: 'string' }, batch: { type: 'string' }, len: { type: 'string' }, steps: { type: 'string' }, live: { type: 'string' }, quantized: { type: 'string' } } });
const list = (v: string | undefined) => v?.split(',').map(Number);

async function main() {
  const info = await initGpu();
  const log = (s: string) => (values.json ? console.error(s) : console.log(s));
  log(`backend: tfjs webgpu on ${info.vendor} ${info.architecture} (${info.description})${info.software ? ' [software, CPU-emulated]' : ''}`);
  const rows: Record<string, unknown>[] = [];
  if (!values.only || values.only === 'inference') {
    const path = values.model ?? new URL('../../shared/models/stories260K-hf', import.meta.url).pathname;
    const model = LlamaModel.fromLoaded(await loadModelPath(path));
    for (const r of await benchInference(model, 'stories260K')) {
      log(`inference ${r.name} [${r.mode}] ${r.shape}: prefill ${r.prefill_tokens_per_s.toFixed(1)} tok/s, decode ${r.decode_tokens_per_s.toFixed(2)} tok/s`);
      rows.push({ ...r });
    }
    const [ref, fused] = rows.slice(-2) as unknown as { prefill_tokens_per_s: number; decode_tokens_per_s: number }[];
    log(`  fused/reference: prefill ${(fused.prefill_tokens_per_s / ref.prefill_tokens_per_s).toFixed(2)}x, decode ${(fused.decode_tokens_per_s / ref.decode_tokens_per_s).toFixed(2)}x`);
    model.dispose();
  }
  if (values.only === 'real-shapes') {
    for (const r of await benchRealShapes({ models: values.models?.split(','), layers: values.layers ? Number(values.layers) : undefined })) {
      log(JSON.stringify(r));
      rows.push(r);
    }
  }
  if (values.only === 'memory') {
    const none = (v: string | undefined) => v === 'none';
    const rows_ = none(values.models) ? [] : await benchMemory({
      models: values.models?.split(',') as RealModelId[] | undefined,
      layers: list(values.layers),
      batch: values.batch ? Number(values.batch) : undefined,
      len: values.len ? Number(values.len) : undefined,
      steps: values.steps ? Number(values.steps) : undefined,
      liveLengths: list(values.live),
      log,
    });
    for (const r of rows_) rows.push({ ...r });
    const suites = none(values.quantized) ? [] : (values.quantized?.split(',') as QuantizedSuite[] | undefined);
    for (const s of suites ?? []) if (!QUANTIZED_SUITES.includes(s)) throw new Error(`--quantized: "${s}" is not one of ${QUANTIZED_SUITES.join(', ')}, none`);
    const quant = suites?.length === 0 ? [] : await benchMemoryQuantized({
      suites,
      layers: list(values.layers),
      batch: values.batch ? Number(values.batch) : undefined,
      len: values.len ? Number(values.len) : undefined,
      steps: values.steps ? Number(values.steps) : undefined,
      log,
    });
    for (const r of quant) rows.push({ ...r });
  }
  if (values.only === 'throughput') {
    for (const r of await benchThroughput({ smolLayers: values.layers ? Number(values.layers) : undefined, smolVocab: values.vocab ? Number(values.vocab) : undefined, log })) rows.push({ ...r });
  }
  if (!values.only || values.only === 'dispatches') {
    for (const r of await benchDispatches(log)) rows.push({ ...r });
  }
  if (!values.only || values.only === 'kernels') {
    for (const r of await benchKernels()) {
      log(`${r.name} ${r.shape}: ours ${r.ours_ms.toFixed(1)} ms vs ${r.baseline} ${r.baseline_ms.toFixed(1)} ms = ${r.speedup.toFixed(2)}x; peak ${(r.ours_peak_bytes / 1e6).toFixed(2)} MB vs ${(r.baseline_peak_bytes / 1e6).toFixed(2)} MB; max |diff| ${r.max_abs_diff.toExponential(2)}`);
      rows.push({ ...r });
    }
  }
  if (values.json) console.log(JSON.stringify(rows));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
