/**
 * Where one training micro-batch's GPU time goes, per program, measured with
 * WebGPU timestamp queries through tf.time (needs the 'timestamp-query'
 * feature, which Dawn's SwiftShader has):
 *
 *   npx tsx bench/profile_step.ts [--batch 16] [--top 25]   (LIMA_KERNELS=tiled|simple to pin a flavour)
 *
 * stories260K on ../shared/data/tinystories-instruct-1k.jsonl, the first
 * micro-batch of the recipe's shuffled order, the fused forward + backward
 * that Trainer.step runs (fused_grads.ts: the chunked loss's gradient w.r.t. a
 * fresh LoRA adapter, r 8, all 7 linears, into one flat buffer), after one
 * warm-up run that compiles the pipelines. Prints the total, the slowest
 * programs (with output shape and dispatch) and a sum per program class
 * ("Object" is ours: kernels/ run through program.ts).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { openModel } from '../src/cli/common';
import { loadData } from '../src/cli/train';
import { splitTrainValidation } from '../src/engine/data';
import { padBatch } from '../src/engine/train/batches';
import { fusedMicroGrads } from '../src/engine/train/fused_grads';
import { defaultChunkRows } from '../src/engine/train/loss';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../src/engine/train/trainer';
import { kernelFlavor } from '../kernels/program';
import { timePrograms } from './program_profile';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '16' }, top: { type: 'string', default: '25' } } });
const { model, tokenizer } = await openModel(new URL('../../shared/models/stories260K-hf', import.meta.url).pathname);
const ds = await loadData(new URL('../../shared/data/tinystories-instruct-1k.jsonl', import.meta.url).pathname, tokenizer, 'plain', 512);
const { train, validation } = splitTrainValidation(ds.samples, { seed: 0, validationFraction: 0.1 });
const trainer = new Trainer(model, train, validation, { ...DEFAULT_TRAIN_CONFIG, batchSize: Number(values.batch) });
const batch = padBatch(trainer.samplesOfStep(0)[0], 512);
console.log(`micro-batch ${batch.rows} × ${batch.length} tokens (${batch.tokens} trained), kernel flavour '${kernelFlavor()}'`);

// the fused forward + backward the Trainer runs (fused_grads.ts): the loss sum, dA/dB written into G
const G = tf.zeros([trainer.adapter.layout.size]);
const chunkRows = defaultChunkRows(batch.tokens, model.config.vocabSize, trainer.lossChunkFloats);
const step = () => [fusedMicroGrads(model, batch, G, false, false, chunkRows)];
let out = step();
await Promise.all(out.map((t) => t.data()));
tf.dispose(out);

// every program named by its class, output shape and dispatch
const t0 = performance.now();
const info = await timePrograms(
  () => {
    out = step();
  },
  (p) => `${p.constructor.name} out ${JSON.stringify(p.outputShape)} dispatch ${JSON.stringify(p.dispatch)}`,
);
await Promise.all(out.map((t) => t.data()));
tf.dispose(out);
const wall = performance.now() - t0;
console.log(`GPU time ${(info.kernelMs / 1000).toFixed(2)} s over ${info.runs.length} programs (wall ${(wall / 1000).toFixed(2)} s)`);
const rows = info.runs;
for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, Number(values.top))) console.log(`${r.ms.toFixed(1).padStart(9)} ms  ${r.name}`);
const byClass = new Map<string, { n: number; ms: number }>();
for (const r of rows) {
  const k = r.name.split(' ')[0];
  const c = byClass.get(k) ?? { n: 0, ms: 0 };
  c.n++;
  c.ms += r.ms;
  byClass.set(k, c);
}
for (const [k, c] of [...byClass].sort((a, b) => b[1].ms - a[1].ms)) console.log(`${k.padEnd(28)} ${String(c.n).padStart(5)} programs ${(c.ms / 1000).toFixed(2).padStart(7)} s`);
process.exit(0);
