/**
 * `cli shift` as a user runs it, on stories260K-hf with a random non-zero
 * adapter written in the PEFT format: the tuned model's greedy answer to
 * each instruction of a --data file, and per token the same base rank,
 * probabilities and KL as the engine's tokenShift computes in this process
 * (itself checked against float64 in token_shift.test.ts); shares that add up,
 * the most-shifted texts counted; usage errors.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTemplate, promptIds } from '../../src/engine/data';
import { tokenShift } from '../../src/engine/eval/token_shift';
import { generate } from '../../src/engine/generate';
import { DEFAULT_LORA, LoraAdapter } from '../../src/engine/lora';
import { exportPeft } from '../../src/engine/lora_io';
import type { LlamaModel } from '../../src/engine/model';
import type { TextTokenizer } from '../../src/engine/tokenizer';
import { sharedPath } from '../helpers/shared';
import { loadStories260K } from '../helpers/stories';

const ROOT = path.resolve(__dirname, '../..');
const cli = (args: string[]) => spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

const INSTRUCTIONS = ['Write a story about a girl named Amy.', 'Write a story about a dog.'];
let model: LlamaModel;
let tok: TextTokenizer;
let dir: string;

beforeAll(async () => {
  ({ model, tok } = await loadStories260K());
  const adapter = new LoraAdapter(model.config, DEFAULT_LORA, { seed: 2 });
  const p = tf.tidy(() => tf.randomNormal([adapter.layout.size], 0, 0.06, 'float32', 8));
  adapter.params.assign(p as tf.Tensor1D);
  p.dispose();
  model.adapter = adapter;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-shift-'));
  const files = await exportPeft(adapter, { baseModel: 'stories260K-hf', template: 'plain' });
  fs.mkdirSync(path.join(dir, 'adapter'));
  fs.writeFileSync(path.join(dir, 'adapter', 'adapter_config.json'), files['adapter_config.json']);
  fs.writeFileSync(path.join(dir, 'adapter', 'adapter_model.safetensors'), files['adapter_model.safetensors']);
  // one {"instruction"} row and one Alpaca row: both forms a --data file may hold
  fs.writeFileSync(path.join(dir, 'data.jsonl'), `${JSON.stringify({ instruction: INSTRUCTIONS[0] })}\n${JSON.stringify({ instruction: INSTRUCTIONS[1], input: '', output: 'x' })}\n`);
});

describe('cli shift', () => {
  it('scores the tuned greedy answers as the engine does, token for token', async () => {
    const r = cli(['shift', '--model', sharedPath('models/stories260K-hf'), '--adapter', path.join(dir, 'adapter'), '--data', path.join(dir, 'data.jsonl'), '--max-new-tokens', '16', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.items).toHaveLength(2);
    const tpl = createTemplate('plain', tok);
    for (const [i, item] of out.items.entries()) {
      const ids = promptIds(tok, tpl.generationPrompt({ instruction: INSTRUCTIONS[i] }));
      expect(item.prompt_ids).toEqual(ids);
      const answer = (await generate(model, ids, { temperature: 0, maxNewTokens: 16, stopIds: tok.eosIds })).ids;
      expect(item.tokens.map((t: { id: number }) => t.id)).toEqual(answer);
      const ours = await tokenShift(model, ids, answer);
      item.tokens.forEach((t: { base_rank: number; p_base: number; p_tuned: number; kl: number; text: string }, j: number) => {
        expect(t.base_rank).toBe(ours[j].baseRank);
        expect(t.p_base).toBeCloseTo(ours[j].pBase, 6);
        expect(t.p_tuned).toBeCloseTo(ours[j].pTuned, 6);
        expect(t.kl).toBeCloseTo(ours[j].kl, 5);
        expect(t.text).toBe(tok.decode([answer[j]], false));
      });
      expect(item.unshifted + item.marginal + item.shifted).toBeCloseTo(1, 10);
      console.log(`shift "${INSTRUCTIONS[i]}": ${JSON.stringify(item.text)} unshifted ${item.unshifted.toFixed(2)} marginal ${item.marginal.toFixed(2)} shifted ${item.shifted.toFixed(2)}`);
    }
    const shifted = out.items.flatMap((it: { tokens: { class: string; text: string }[] }) => it.tokens.filter((t) => t.class === 'shifted').map((t) => t.text));
    const counts = new Map<string, number>();
    for (const t of shifted) counts.set(t, (counts.get(t) ?? 0) + 1);
    expect(counts.size).toBeLessThanOrEqual(20); // all fit in top_shifted
    expect(new Map(out.top_shifted.map((t: { text: string; count: number }) => [t.text, t.count]))).toEqual(counts);
    console.log('top shifted:', JSON.stringify(out.top_shifted.slice(0, 5)));
  });

  it('says what is missing', () => {
    const noSource = cli(['shift', '--model', sharedPath('models/stories260K-hf'), '--adapter', path.join(dir, 'adapter')]);
    expect(noSource.status).toBe(2);
    expect(noSource.stderr).toMatch(/give --instruction TEXT or --data FILE/);
    const noAdapter = cli(['shift', '--model', sharedPath('models/stories260K-hf'), '--instruction', 'x']);
    expect(noAdapter.status).toBe(2);
    expect(noAdapter.stderr).toMatch(/--adapter is required/);
  });
});
