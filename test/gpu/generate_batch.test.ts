/**
 * Batched greedy generation (src/engine/generate_batch.ts) equals generate()
 * at temperature 0, prompt by prompt, on the real stories260K: prompts of two
 * lengths (two groups), one of them stopping early at a stop id.
 */
import { beforeAll, expect, it } from 'vitest';
import type { LlamaModel } from '../../src/engine/model';
import { generate } from '../../src/engine/generate';
import { generateGreedyBatch } from '../../src/engine/generate_batch';
import type { TextTokenizer } from '../../src/engine/tokenizer';
import { loadStories260K } from '../helpers/stories';

let model: LlamaModel;
let tok: TextTokenizer;
beforeAll(async () => {
  ({ model, tok } = await loadStories260K());
});

it('equals generate() at temperature 0 for every prompt, across length groups', async () => {
  const texts = ['Once upon a time', 'Tom had a red ball', 'The little cat', 'Lily saw a big dog'];
  const prompts = texts.map((t) => tok.encodePrompt(t));
  expect(new Set(prompts.map((p) => p.length)).size).toBeGreaterThan(1);
  // an extra stop id that the first prompt's greedy output reaches at its 6th token
  const free = await generateGreedyBatch(model, prompts.slice(0, 1), { maxNewTokens: 6, stopIds: model.config.eosTokenIds });
  const stopIds = [...model.config.eosTokenIds, free[0][5]];
  const batch = await generateGreedyBatch(model, prompts, { maxNewTokens: 12, stopIds });
  for (let i = 0; i < prompts.length; i++) {
    const one = await generate(model, prompts[i], { maxNewTokens: 12, stopIds, temperature: 0 });
    console.log(`generate_batch "${texts[i]}": ${JSON.stringify(tok.decode(batch[i]))} (${batch[i].length} tokens)`);
    expect(batch[i]).toEqual(one.ids);
  }
  expect(batch.some((ids) => ids.length < 12)).toBe(true); // the early stop was exercised
});
