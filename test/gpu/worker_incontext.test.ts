/**
 * The worker's in-context baseline (src/worker/incontext.ts) in-process on
 * stories260K-hf, TinyStories with Alpaca rows mixed in: the k most
 * representative examples are distinct training rows of the dataset's own
 * file (never held-out or mixed-in rows), each cluster's representative of
 * k-means over the prompt embeddings; rows named by number are checked
 * (held-out, missing); the prefix is the examples' training rows; an answer
 * with examples that do not fit says how many it kept; the judge's answers
 * for the pick are the baseline's; its held-out loss masks the examples.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { embedPrompts, kMeans, promptAndResponse, readCurateRows } from '../../src/engine/curate';
import { promptIds } from '../../src/engine/data';
import { initGpu } from '../../src/engine/gpu/device';
import { generateUse, heldOutLossInContext, setInContext } from '../../src/worker/incontext';
import { loadJudge, runJudge, unloadJudge } from '../../src/worker/judge';
import type { DatasetOptions, GenerateSettings } from '../../src/worker/protocol';
import { heldOutLoss, loadDataset, loadModel, requireDataset, requireSession } from '../../src/worker/session';
import { sharedPath } from '../helpers/shared';

const HF = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const STORIES = sharedPath('data/tinystories-instruct-1k.jsonl');
const ALPACA = sharedPath('data/alpaca-1k.jsonl');
const read = (f: string) => new Uint8Array(fs.readFileSync(f));
const OPTS: DatasetOptions = { template: 'plain', maxLength: 256, validationFraction: 0.1, seed: 0, mix: { name: 'alpaca-1k.jsonl', bytes: read(ALPACA), ratio: 0.2 } };
const GREEDY: GenerateSettings = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, maxNewTokens: 8, seed: 1 };
const set = (k: number, choose: 'representative' | { rows: number[] }, maxNewTokens = 24) => setInContext({ type: 'incontext-set', id: 1, k, choose, maxNewTokens }, () => {});

describe('the in-context baseline in the worker', () => {
  beforeAll(async () => {
    await initGpu();
    const dir = sharedPath('models/stories260K-hf');
    await loadModel({ format: 'hf', name: 'stories260K-hf', files: HF.map((f) => ({ name: f, bytes: read(path.join(dir, f)) })) }, 'test:stories260K-hf');
    await loadDataset('tinystories-instruct-1k.jsonl', read(STORIES), OPTS, () => {});
  });

  it("picks the k most representative training rows of the dataset's own file", async () => {
    const d = requireDataset();
    const s = requireSession();
    const t0 = performance.now();
    const summary = await set(3, 'representative');
    console.log(`representative k = 3 in ${((performance.now() - t0) / 1000).toFixed(1)} s:`, summary.rows.map((r) => `${r.label} (${r.tokens})`).join(', '), `prefix ${summary.prefixTokens}`);
    expect(summary).toMatchObject({ k: 3, choose: 'representative', context: 512, maxNewTokens: 24, template: 'plain' });
    expect(summary.rows).toHaveLength(3);
    const lines = summary.rows.map((r) => Number(r.label.match(/^line (\d+)$/)![1]));
    expect(new Set(lines).size).toBe(3);
    // training rows of this file: not held out, not mixed in
    const heldOut = new Set(d.validation.map((v) => v.line));
    const mixed = new Set([...d.sources!.mixed].map((m) => m.line));
    const own = new Set(d.train.filter((x) => !d.sources!.mixed.has(x)).map((x) => x.line));
    for (const n of lines) {
      expect(heldOut.has(n)).toBe(false);
      expect(own.has(n)).toBe(true);
    }
    expect(mixed.size).toBeGreaterThan(0);
    // the same representatives as k-means over the same rows' embeddings
    const rows = (await readCurateRows(read(STORIES))).rows.filter((r) => own.has(r.line));
    const emb = await embedPrompts(s.model, rows.map((r) => promptIds(s.tokenizer, promptAndResponse(r.sample).prompt)));
    expect(kMeans(emb, 3, { seed: 1 }).clusters.map((c) => rows[c.representative].line)).toEqual(lines);
    expect(summary.rows.map((r) => r.prompt)).toEqual(lines.map((n) => rows.find((r) => r.line === n)!.prompt));
    // single-turn template: the prefix is the rows one after the other
    expect(summary.prefixTokens).toBe(summary.rows.reduce((n, r) => n + r.tokens, 0));
    expect(summary.longestUncutPrompt).toBe(512 - 24 - summary.prefixTokens);
  });

  it('checks rows named by number', async () => {
    const d = requireDataset();
    const heldOut = d.validation[0].line;
    await expect(set(0, { rows: [heldOut] })).rejects.toThrow(`line ${heldOut} is a held-out row (the validation split): in-context examples come from the training rows.`);
    await expect(set(0, { rows: [5000] })).rejects.toThrow('There is no row 5000 in tinystories-instruct-1k.jsonl.');
    const own = d.train.find((x) => !d.sources!.mixed.has(x))!.line;
    const summary = await set(0, { rows: [own] });
    expect(summary).toMatchObject({ k: 1, choose: 'rows' });
    expect(summary.rows.map((r) => r.label)).toEqual([`line ${own}`]);
  });

  it('answers with the examples, and says how many fit when not all do', async () => {
    const d = requireDataset();
    const own = d.train.filter((x) => !d.sources!.mixed.has(x)).map((x) => x.line);
    await set(0, { rows: [own[0]] });
    const one = await generateUse('incontext', { instruction: 'Write a story about a cat.' }, false, GREEDY, () => {});
    expect(one.tokens).toBeGreaterThan(0);
    expect(one.note).toBeUndefined();
    const base = await generateUse('base', { instruction: 'Write a story about a cat.' }, false, GREEDY, () => {});
    console.log(`in-context (1 example): ${JSON.stringify(one.text)} · base: ${JSON.stringify(base.text)}`);

    await set(0, { rows: own.slice(0, 5) });
    const cut = await generateUse('incontext', { instruction: 'Write a story about a cat.' }, false, GREEDY, () => {});
    console.log('note:', cut.note);
    expect(cut.note).toMatch(/^Only [0-4] of 5 examples fit the 512-token context beside this \d+-token prompt and 8 new tokens: the last [1-5] (was|were) dropped/);
    await expect(generateUse('incontext', { instruction: 'Write a story about a cat.' }, true, GREEDY, () => {})).rejects.toThrow('untick Raw text');
  });

  it("answers for the judge: pick A's answers are the in-context baseline's", async () => {
    const d = requireDataset();
    const own = d.train.filter((x) => !d.sources!.mixed.has(x)).map((x) => x.line);
    await set(0, { rows: own.slice(0, 1) });
    const dir = sharedPath('models/stories260K-hf');
    await loadJudge({ format: 'hf', name: 'stories260K-hf (judge)', files: HF.map((f) => ({ name: f, bytes: read(path.join(dir, f)) })) });
    const instruction = { instruction: 'Write a story about a cat.' };
    const report = await runJudge([instruction], 'incontext', 'base', GREEDY, () => {});
    const direct = await generateUse('incontext', instruction, false, GREEDY, () => {});
    const base = await generateUse('base', instruction, false, GREEDY, () => {});
    expect(report).toMatchObject({ a: 'incontext', b: 'base' });
    expect(report.pairs[0].a).toBe(direct.text.trim());
    expect(report.pairs[0].b).toBe(base.text.trim());
    unloadJudge();
  });

  it('scores the held-out rows after the examples that fit beside each', async () => {
    const d = requireDataset();
    const own = d.train.filter((x) => !d.sources!.mixed.has(x)).map((x) => x.line);
    await set(0, { rows: own.slice(0, 2) });
    const ic = await heldOutLossInContext(8);
    const base = await heldOutLoss(false, 8);
    console.log(`held-out loss on 8 rows: in-context ${ic.loss.toFixed(4)} (${ic.examples.toFixed(2)} examples a row) · base ${base.loss.toFixed(4)}`);
    expect(ic.rows).toBe(8);
    expect(Number.isFinite(ic.loss)).toBe(true);
    expect(ic.examples).toBeGreaterThanOrEqual(0);
    expect(ic.examples).toBeLessThanOrEqual(2);
    // with no example fitting, the rows are the base model's own: the same loss
    if (ic.examples === 0) expect(ic.loss).toBeCloseTo(base.loss, 4);
  });
});
