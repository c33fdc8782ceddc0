/**
 * The training loop's maths, on a tiny random model and real instruction data:
 * an SGD step equals adapter − gradient (checked against tfjs autograd of the
 * composed reference path and finite differences), gradient accumulation
 * equals the big batch, packing equals padding, resume equals uninterrupted,
 * and PEFT export has PEFT's exact keys and shapes.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import { readSafetensors } from '../../src/engine/io/safetensors';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { prepareDataset } from '../../src/engine/data';
import type { TokenizedSample } from '../../src/engine/data/tokenize';
import { LoraAdapter } from '../../src/engine/lora';
import { exportPeft, importPeft } from '../../src/engine/lora_io';
import { setKernelMode, kernelMode } from '../../src/engine/ops/mode';
import { padBatch } from '../../src/engine/train/batches';
import { DEFAULT_TRAIN_CONFIG, Trainer, type TrainConfig } from '../../src/engine/train/trainer';
import { writeTinyCheckpoint } from '../helpers/tiny_checkpoint';
import { sharedPath } from '../helpers/shared';
import { LINEAR_NAMES } from '../../src/engine/config';

let model: LlamaModel;
let samples: TokenizedSample[];

const base: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, maxLength: 96, warmup: 0, schedule: 'constant', maxGradNorm: 0, batchSize: 4, epochs: 1 };

/** An adapter with non-zero A and B (PEFT's init has B = 0, which makes dL/dA vanish). */
function randomAdapter(seed = 5, cfg = base): LoraAdapter {
  const a = new LoraAdapter(model.config, { rank: cfg.rank, alpha: cfg.alpha, dropout: cfg.dropout, rslora: cfg.rslora, targets: cfg.targets }, { seed });
  tf.tidy(() => a.variables().forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.05, 'float32', seed * 100 + i))));
  return a;
}

async function flat(vars: tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

function maxAbs(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((x, i) => x.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

/** Mean response-token loss through model.forward's full logits and logSoftmax: the plain tfjs reference. */
function referenceMeanLoss(batchSamples: TokenizedSample[]): tf.Scalar {
  const b = padBatch(batchSamples, base.maxLength);
  const logits = model.forward(tf.tensor2d(b.ids, [b.rows, b.length], 'int32'), {
    positions: tf.tensor2d(b.positions, [b.rows, b.length], 'int32'),
    segmentIds: tf.tensor2d(b.segments, [b.rows, b.length], 'int32'),
  });
  const rows = tf.gather(logits.reshape([b.rows * b.length, -1]), tf.tensor1d(b.targetIndex, 'int32'));
  const logp = tf.logSoftmax(rows);
  return logp.mul(tf.oneHot(tf.tensor1d(b.targets, 'int32'), model.config.vocabSize)).sum().neg().div(b.tokens) as tf.Scalar;
}

beforeAll(async () => {
  await initGpu();
  const { dir } = writeTinyCheckpoint({ arch: 'Qwen2ForCausalLM', heads: 4, kvHeads: 2, headDim: 8, hidden: 32 });
  const loaded = await loadHF(folderSource(dir));
  model = LlamaModel.fromLoaded(loaded);
  const tok = new TextTokenizer(loaded.tokenizer);
  // short rows so the tests stay quick on SwiftShader
  const lines = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').split('\n').slice(0, 12);
  const short = lines.map((l) => {
    const r = JSON.parse(l);
    return JSON.stringify({ instruction: r.instruction, response: r.response.split(' ').slice(0, 12).join(' ') });
  });
  const ds = await prepareDataset(short.join('\n'), { tokenizer: tok, template: 'plain', maxLength: base.maxLength });
  samples = ds.samples;
  expect(samples.length).toBe(12);
});

describe('training maths', () => {
  it('one SGD step with lr 1 equals adapter − ∇(mean response loss); gradient = tfjs autograd of the reference path = finite differences', async () => {
    const cfg: TrainConfig = { ...base, optimizer: 'sgd', lr: 1, batchSize: 4, shuffle: false };
    const adapter = randomAdapter(5, cfg);
    const before = await flat(adapter.variables());
    // reference gradient: composed ops, full logits, tfjs autograd
    const mode = kernelMode();
    setKernelMode('reference');
    model.adapter = adapter;
    const batch = samples.slice(0, 4);
    const { grads, value } = tf.variableGrads(() => referenceMeanLoss(batch), adapter.variables());
    const refGrads = await flat(adapter.variables().map((v) => grads[v.name]));
    const loss0 = (await value.data())[0];
    // finite differences on a few coordinates of A and B of the first and last layers (segments of the flat P)
    const P = adapter.params;
    const segs = adapter.segments();
    // float32 losses: a larger step keeps rounding noise (~1e-7 · loss / eps) small against the gradient
    const eps = 3e-2;
    let worst = 0;
    for (const si of [0, 1, segs.length - 2, segs.length - 1]) {
      const { offset, length } = segs[si];
      const seg = refGrads[0].subarray(offset, offset + length);
      const j = offset + seg.reduce((best, g, k, arr) => (Math.abs(g) > Math.abs(arr[best]) ? k : best), 0); // largest gradient: best signal/noise in f32
      const at = async (x: number) => {
        const d = Float32Array.from(before[0]);
        d[j] = x;
        tf.tidy(() => P.assign(tf.tensor1d(d)));
        const l = tf.tidy(() => referenceMeanLoss(batch));
        const r = (await l.data())[0];
        l.dispose();
        return r;
      };
      const fd = ((await at(before[0][j] + eps)) - (await at(before[0][j] - eps))) / (2 * eps);
      tf.tidy(() => P.assign(tf.tensor1d(before[0])));
      const rel = Math.abs(fd - refGrads[0][j]) / (Math.abs(fd) + 2e-4);
      console.log(`finite difference P[${j}] (segment ${si}): fd ${fd.toExponential(4)} autograd ${refGrads[0][j].toExponential(4)} rel ${rel.toExponential(2)}`);
      worst = Math.max(worst, rel);
    }
    expect(worst).toBeLessThan(2e-2);
    setKernelMode(mode);
    // the trainer's step (fused kernels, chunked loss)
    const trainer = new Trainer(model, samples, [], cfg, adapter);
    const rep = await trainer.step();
    expect(rep.loss).toBeCloseTo(loss0, 4);
    const after = await flat(adapter.variables());
    const expected = before.map((b, i) => b.map((x, j) => x - refGrads[i][j]));
    const d = maxAbs(after, expected);
    const gmax = Math.max(...refGrads.map((g) => Math.max(...g.map(Math.abs))));
    console.log(`SGD step: max |after − (before − grad)| = ${d.toExponential(2)} (max |grad| ${gmax.toExponential(2)}), loss ${rep.loss.toFixed(5)} vs reference ${loss0.toFixed(5)}`);
    expect(d).toBeLessThan(1e-4 * Math.max(1, gmax));
    adapter.dispose();
  });

  it('gradient accumulation (2 × 2) equals one batch of 4, and packing equals padding', async () => {
    const run = async (cfg: Partial<TrainConfig>) => {
      const c: TrainConfig = { ...base, optimizer: 'sgd', lr: 1, shuffle: false, maxSteps: 1, ...cfg };
      const adapter = randomAdapter(9, c);
      const t = new Trainer(model, samples, [], c, adapter);
      const rep = await t.step();
      const out = await flat(adapter.variables());
      adapter.dispose();
      return { rep, out };
    };
    const big = await run({ batchSize: 4, gradAccum: 1 });
    const acc = await run({ batchSize: 2, gradAccum: 2 });
    const packed = await run({ batchSize: 4, gradAccum: 1, packing: true, maxLength: 96 * 4 });
    const dAcc = maxAbs(big.out, acc.out);
    const dPack = maxAbs(big.out, packed.out);
    console.log(`accumulation vs big batch: max diff ${dAcc.toExponential(2)} (loss ${acc.rep.loss} vs ${big.rep.loss}); packed vs padded: ${dPack.toExponential(2)} (loss ${packed.rep.loss})`);
    expect(acc.rep.tokens).toBe(big.rep.tokens);
    expect(acc.rep.loss).toBeCloseTo(big.rep.loss, 5);
    expect(packed.rep.loss).toBeCloseTo(big.rep.loss, 5);
    expect(dAcc).toBeLessThan(1e-5);
    expect(dPack).toBeLessThan(1e-5);
  });

  it('a run resumed from a checkpoint continues exactly as an uninterrupted one (AdamW, cosine, dropout, shuffle)', async () => {
    const cfg: TrainConfig = { ...base, optimizer: 'adamw', lr: 5e-3, schedule: 'cosine', warmup: 1, maxGradNorm: 1, dropout: 0.1, batchSize: 4, epochs: 2, seed: 3 };
    const straight = new Trainer(model, samples, [], cfg);
    for (let i = 0; i < 4; i++) await straight.step();
    const want = await flat(straight.adapter.variables());
    const wantLosses = straight.history.map((h) => h.loss);
    straight.adapter.dispose();

    const first = new Trainer(model, samples, [], cfg);
    for (let i = 0; i < 2; i++) await first.step();
    const ckpt = structuredClone(await first.checkpoint()); // as IndexedDB would store it
    first.adapter.dispose();
    const resumed = Trainer.restore(model, samples, [], ckpt);
    while (resumed.stepsDone < 4) await resumed.step();
    const got = await flat(resumed.adapter.variables());
    const d = maxAbs(want, got);
    console.log(`resume vs uninterrupted after 4 steps (epoch boundary at 3): max diff ${d.toExponential(2)}`);
    expect(resumed.history.map((h) => h.loss)).toEqual(wantLosses);
    expect(d).toBe(0);
    resumed.adapter.dispose();
  });

  it('exports a PEFT adapter with PEFT keys and shapes, and imports it back', async () => {
    const adapter = randomAdapter(11);
    model.adapter = adapter;
    const files = await exportPeft(adapter, { baseModel: 'tiny-random', template: 'plain' });
    const cfg = JSON.parse(files['adapter_config.json']);
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8, lora_alpha: 16, lora_dropout: 0, use_rslora: false, bias: 'none', base_model_name_or_path: 'tiny-random', template: 'plain' });
    expect(cfg.target_modules).toEqual([...LINEAR_NAMES]);
    const { tensors } = readSafetensors(files['adapter_model.safetensors'], 'adapter_model.safetensors');
    expect(tensors.size).toBe(2 * 7 * model.config.numLayers);
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')!.shape).toEqual([8, 32]);
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!.shape).toEqual([32, 8]);
    expect(tensors.get('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight')!.shape).toEqual([16, 8]);
    expect(tensors.get('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight')!.shape).toEqual([8, 48]);
    expect(tensors.get('base_model.model.model.layers.1.mlp.gate_proj.lora_B.weight')!.shape).toEqual([48, 8]);
    const ids = tf.tensor2d([samples[0].ids.slice(0, 20)], [1, 20], 'int32');
    const l1 = await tf.tidy(() => model.forward(ids)).data();
    const imported = importPeft({ config: files['adapter_config.json'], safetensors: files['adapter_model.safetensors'] }, model);
    expect(imported.template).toBe('plain');
    model.adapter = imported.adapter;
    const l2 = await tf.tidy(() => model.forward(ids)).data();
    expect(maxAbs([l1 as Float32Array], [l2 as Float32Array])).toBe(0);
    model.adapterEnabled = false;
    const l0 = await tf.tidy(() => model.forward(ids)).data();
    model.adapterEnabled = true;
    expect(maxAbs([l0 as Float32Array], [l2 as Float32Array])).toBeGreaterThan(1e-3); // the adapter does something, toggled off it is gone
    // PEFT's own naming with the adapter name inside the key imports too
    const renamed = new Map([...tensors].map(([k, v]) => [k.replace('.weight', '.default.weight'), { shape: v.shape, data: v.data }]));
    const { writeSafetensors } = await import('../../src/engine/io/safetensors');
    const again = importPeft({ config: files['adapter_config.json'], safetensors: writeSafetensors(renamed) }, model);
    expect(again.adapter.pairs.size).toBe(7 * model.config.numLayers);
    expect(() => importPeft({ config: '{"peft_type":"IA3"}', safetensors: files['adapter_model.safetensors'] }, model)).toThrow(/only LORA/);
    adapter.dispose();
    imported.adapter.dispose();
    again.adapter.dispose();
  });
});
