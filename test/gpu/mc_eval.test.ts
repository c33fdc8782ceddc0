/**
 * The multiple-choice benchmark on stories260K with parts of the built-in set
 * (public/demo/stories-mc.jsonl): per-item scores of the engine, of
 * `cli eval --mc --json` and of `cli eval --mc --adapter` against a float64
 * CPU reference of the same formula (test/helpers/cpu_reference.ts: the
 * model's forward in plain loops; the log-softmax and the sum in float64
 * too; for the adapter, the merged weights W + scale·B·A).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import type { LoadedModel } from '../../src/engine/io/weights';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { parseMultipleChoice, type McItem } from '../../src/engine/eval/mc_formats';
import { argmax, charLength, choiceRequests, itemContext, scoreMultipleChoice, type McResult } from '../../src/engine/eval/multiple_choice';
import { createTemplate, type TemplateId } from '../../src/engine/data/templates';
import { LINEAR_NAMES, linearKey, linearShape } from '../../src/engine/config';
import { LoraAdapter, loraScale, type LoraConfig } from '../../src/engine/lora';
import { exportPeft } from '../../src/engine/lora_io';
import type { WeightMap } from '../../src/engine/io/weights';
import { Rng } from '../../src/engine/rng';
import { referenceForward } from '../helpers/cpu_reference';
import { sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');
const DEMO = path.join(ROOT, 'public/demo/stories-mc.jsonl');

let loaded: LoadedModel;
let model: LlamaModel;
let tok: TextTokenizer;
let items: McItem[];

beforeAll(async () => {
  await initGpu();
  loaded = await loadHF(folderSource(sharedPath('models/stories260K-hf')));
  model = LlamaModel.fromLoaded(loaded);
  tok = new TextTokenizer(loaded.tokenizer);
  const parsed = await parseMultipleChoice(fs.readFileSync(DEMO));
  expect(parsed.errors).toEqual([]);
  items = parsed.items;
});

const referenceCache = new Map<string, number[]>();

/** The formula on the CPU in float64: Σ log softmax(logits(t−1))[ids[t]] over the continuation. */
function referenceScores(item: McItem, template?: TemplateId): number[] {
  const key = `${template ?? ''}:${item.line}`;
  if (!referenceCache.has(key)) referenceCache.set(key, computeReference(item, template));
  return referenceCache.get(key)!;
}

function computeReference(item: McItem, template?: TemplateId, weights: WeightMap = loaded.weights): number[] {
  const tpl = template ? createTemplate(template, tok) : undefined;
  return choiceRequests(tok, itemContext(item, tpl), item.choices).map(({ ids, start }) => {
    const positions = Array.from({ length: ids.length - start }, (_, k) => start - 1 + k);
    const { logits } = referenceForward(loaded.config, weights, ids, positions);
    return logits.reduce((sum, row, k) => {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((z, v) => z + Math.exp(v - m), 0));
      return sum + row[ids[start + k]] - lse;
    }, 0);
  });
}

function maxDiff(got: McResult['items'], subset: McItem[], want: number[][]): number {
  let d = 0;
  got.forEach((r, i) => {
    expect(r.scores).toHaveLength(subset[i].choices.length);
    r.scores.forEach((s, k) => (d = Math.max(d, Math.abs(s - want[i][k]))));
  });
  return d;
}

/** Every third item: all three kinds, a reference that runs in seconds. */
const subsetOf = (all: McItem[]) => all.filter((_, i) => i % 3 === 0);

describe('multiple choice on stories260K', () => {
  it('engine scores equal the float64 CPU reference (no template, and the plain template)', async () => {
    const subset = subsetOf(items);
    for (const template of [undefined, 'plain'] as const) {
      const part = template ? subset.slice(0, 6) : subset;
      let t0 = performance.now();
      // the plain run puts three items in one forward (batchRows), the other one item per forward
      const got = await scoreMultipleChoice(model, tok, part, { template, batchRows: template ? 12 : undefined });
      const gpuMs = performance.now() - t0;
      t0 = performance.now();
      const want = part.map((it) => referenceScores(it, template));
      console.log(`[${template ?? 'no template'}] engine ${gpuMs.toFixed(0)} ms, CPU reference ${(performance.now() - t0).toFixed(0)} ms`);
      const d = maxDiff(got.items, part, want);
      console.log(`[${template ?? 'no template'}] ${part.length} items, ${part.reduce((n, it) => n + it.choices.length, 0)} choices: max |score - float64 reference| = ${d.toExponential(2)}`);
      expect(d).toBeLessThan(1e-4);
      got.items.forEach((r, i) => {
        expect(r.gold).toBe(part[i].gold);
        expect(r.pred).toBe(argmax(want[i]));
        expect(r.pred_norm).toBe(argmax(want[i].map((s, k) => s / charLength(part[i].choices[k]))));
      });
    }
  });

  it('cli eval --mc --json on a part of the built-in set: exactly {acc, acc_norm, n, items}, scores as the reference', () => {
    // every sixth item (all three kinds), as a file of its own (the whole set takes ~50 s on SwiftShader)
    const lines = fs.readFileSync(DEMO, 'utf8').trim().split('\n');
    const subset = items.filter((_, i) => i % 6 === 0);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mc-')), 'part.jsonl');
    fs.writeFileSync(file, subset.map((it) => lines[it.line - 1]).join('\n') + '\n');
    const t0 = performance.now();
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'eval', '--model', sharedPath('models/stories260K-hf'), '--mc', file, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    console.log(`cli run ${(performance.now() - t0).toFixed(0)} ms`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(Object.keys(out)).toEqual(['acc', 'acc_norm', 'n', 'items', 'frozen']);
    expect(out.n).toBe(subset.length);
    expect(Object.keys(out.items[0])).toEqual(['scores', 'pred', 'pred_norm', 'gold']);
    const acc = out.items.filter((x: { pred: number; gold: number }) => x.pred === x.gold).length / out.n;
    const accNorm = out.items.filter((x: { pred_norm: number; gold: number }) => x.pred_norm === x.gold).length / out.n;
    expect(out.acc).toBeCloseTo(acc, 12);
    expect(out.acc_norm).toBeCloseTo(accNorm, 12);
    const d = maxDiff(out.items, subset, subset.map((it) => referenceScores(it)));
    console.log(`cli: ${out.n} items, acc ${out.acc.toFixed(3)}, acc_norm ${out.acc_norm.toFixed(3)}; max |score - float64 reference| = ${d.toExponential(2)}`);
    expect(d).toBeLessThan(1e-4);
    expect(r.stderr).toMatch(/part\.jsonl: mmlu format, 10 items, 0 rejected/);
  });

  it('cli eval --mc --adapter: scores equal the float64 reference of the merged weights W + scale·B·A', async () => {
    // a random LoRA on every linear, saved in PEFT format
    const cfg = loaded.config;
    const lora: LoraConfig = { rank: 4, alpha: 8, dropout: 0, rslora: false, targets: [...LINEAR_NAMES] };
    const scale = loraScale(lora);
    const rng = new Rng(5);
    const tensors = new Map<string, { a: Float32Array; b: Float32Array }>();
    const merged: WeightMap = new Map(loaded.weights);
    for (let l = 0; l < cfg.numLayers; l++)
      for (const name of lora.targets) {
        const [out, inp] = linearShape(cfg, name);
        const a = Float32Array.from({ length: lora.rank * inp }, () => (rng.next() - 0.5) * 0.2); // (r, in)
        const b = Float32Array.from({ length: out * lora.rank }, () => (rng.next() - 0.5) * 0.2); // (out, r)
        tensors.set(linearKey(l, name), { a, b });
        const w = loaded.weights.get(`${linearKey(l, name)}.weight`)!;
        const data = Float32Array.from(w.data); // (out, in)
        for (let o = 0; o < out; o++)
          for (let i = 0; i < inp; i++) {
            let ba = 0;
            for (let r = 0; r < lora.rank; r++) ba += b[o * lora.rank + r] * a[r * inp + i];
            data[o * inp + i] += scale * ba;
          }
        merged.set(`${linearKey(l, name)}.weight`, { shape: w.shape, data });
      }
    const files = await exportPeft(new LoraAdapter(cfg, lora, { tensors }), { baseModel: 'stories260K', template: 'plain' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-adapter-'));
    for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
    // one item of each kind
    const part = [items[0], items[21], items[42]]; // among the cached references above
    const lines = fs.readFileSync(DEMO, 'utf8').trim().split('\n');
    const file = path.join(dir, 'part.jsonl');
    fs.writeFileSync(file, part.map((it) => lines[it.line - 1]).join('\n') + '\n');
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'eval', '--model', sharedPath('models/stories260K-hf'), '--adapter', dir, '--mc', file, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const want = part.map((it) => computeReference(it, undefined, merged));
    const d = maxDiff(out.items, part, want);
    const base = part.map((it) => referenceScores(it));
    const moved = Math.max(...base.flatMap((row, i) => row.map((v, k) => Math.abs(v - want[i][k]))));
    console.log(`cli --adapter: ${part.length} items, max |score - float64 merged-weights reference| = ${d.toExponential(2)} (the adapter moves scores by up to ${moved.toFixed(3)})`);
    expect(d).toBeLessThan(1e-4);
    expect(moved).toBeGreaterThan(1e-2);
  });

  it('cli eval: --mc and --data together is a usage error', () => {
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'eval', '--model', 'x', '--mc', DEMO, '--data', 'y'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/give --data .* or --mc .*, not both/);
  });
});
