/**
 * The shared recipe in miniature, so CI checks its direction in about a
 * minute (the full run is recorded in BENCHMARKS.md): stories260K on the
 * tinystories instructions, names held out whole (bench/recipe_split.ts),
 * plain template, response-only loss, LoRA r 8 / alpha 16 on all 7 linears,
 * AdamW lr 1e-2, but 12 steps of 8 rows with a 2-step warmup. Held-out
 * response loss must fall, measured on the same base weights with the adapter
 * toggled off and on.
 */
import fs from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import type { LlamaModel } from '../../src/engine/model';
import type { TextTokenizer } from '../../src/engine/tokenizer';
import { loadStories260K } from '../helpers/stories';
import { prepareDataset } from '../../src/engine/data';
import { evaluate } from '../../src/engine/train/evaluate';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../../src/engine/train/trainer';
import { splitByName } from '../../bench/recipe_split';
import { sharedPath } from '../helpers/shared';

let model: LlamaModel;
let tok: TextTokenizer;
beforeAll(async () => {
  ({ model, tok } = await loadStories260K());
});

it('a short run of the recipe lowers the response loss on held-out names', async () => {
  const lines = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').trim().split('\n');
  const split = splitByName(lines.map((l) => JSON.parse(l) as { instruction: string; response: string }), 0.1, 0);
  const prep = async (rows: unknown[]) =>
    (await prepareDataset(new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n')), { tokenizer: tok, template: 'plain', maxLength: 512 })).samples;
  const train = await prep(split.train);
  const heldOut = (await prep(split.heldOut)).slice(0, 24);
  const trainer = new Trainer(model, train, heldOut, { ...DEFAULT_TRAIN_CONFIG, batchSize: 8, maxSteps: 12, warmup: 2 });
  model.adapterEnabled = false;
  const before = await evaluate(model, heldOut, { batchSize: 8 });
  model.adapterEnabled = true;
  const losses: number[] = [];
  while (!trainer.done) losses.push((await trainer.step()).loss);
  const after = await evaluate(model, heldOut, { batchSize: 8 });
  console.log(
    `recipe (12 steps of 8): train loss ${losses.map((l) => l.toFixed(3)).join(' ')}; ` +
      `held-out loss (${heldOut.length} rows, names ${split.heldOutNames.join(', ')}) ${before.loss.toFixed(4)} -> ${after.loss.toFixed(4)}`,
  );
  expect(before.loss).toBeGreaterThan(1.2); // the base model does not follow these instructions
  expect(after.loss).toBeLessThan(before.loss - 0.03);
});
