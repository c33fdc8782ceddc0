/**
 * Held-out prompts carry what the training prompt of their row had (worker/
 * session.ts loadDataset, rowPrompt): Alpaca's `input` and the row's system
 * message, not the first user message alone. The invariant that matters:
 * generation's ids for a held-out prompt (generationInput, the ids Compare,
 * the judge and the fixed samples feed) are exactly its training sample's
 * prompt part (the leading labels IGNORE_INDEX), for every template (a
 * truncated sample loses the end of its reply, never its prompt).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { IGNORE_INDEX, type TemplateId, type TokenizedSample } from '../../src/engine/data';
import { initGpu } from '../../src/engine/gpu/device';
import type { HeldOutPrompt } from '../../src/worker/protocol';
import { generationInput, loadDataset, loadModel, requireDataset, requireSession } from '../../src/worker/session';
import { sharedPath } from '../helpers/shared';

const HF = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const ALPACA = sharedPath('data/alpaca-1k.jsonl');
const read = (f: string) => new Uint8Array(fs.readFileSync(f));

/** The sample's prompt: its ids up to the first trained label. */
function promptPart(v: TokenizedSample): number[] {
  const first = v.labels.findIndex((l) => l !== IGNORE_INDEX);
  return v.ids.slice(0, first);
}

/** Each held-out prompt beside its validation sample (loadDataset takes them in validation order, at most 20). */
function heldOutPairs(): { prompt: HeldOutPrompt; sample: TokenizedSample }[] {
  const d = requireDataset();
  return d.heldOutPrompts.map((prompt, i) => ({ prompt, sample: d.validation[i] }));
}

describe('held-out prompts', () => {
  beforeAll(async () => {
    await initGpu();
    const dir = sharedPath('models/stories260K-hf');
    await loadModel({ format: 'hf', name: 'stories260K-hf', files: HF.map((f) => ({ name: f, bytes: read(path.join(dir, f)) })) }, 'test:stories260K-hf');
  });

  for (const template of ['plain', 'alpaca', 'chatml'] as TemplateId[]) {
    it(`carry an Alpaca row's input, and generate from the row's training prompt (${template})`, async () => {
      await loadDataset('alpaca-1k.jsonl', read(ALPACA), { template, maxLength: 512, validationFraction: 0.1, seed: 0 }, () => {});
      const rows = fs.readFileSync(ALPACA, 'utf8').split('\n');
      const pairs = heldOutPairs();
      expect(pairs).toHaveLength(20);
      const s = requireSession();
      let withInput = 0;
      for (const { prompt, sample } of pairs) {
        const row = JSON.parse(rows[sample.line - 1]) as { instruction: string; input: string };
        expect(prompt).toEqual(row.input.trim() ? { instruction: row.instruction, input: row.input } : { instruction: row.instruction });
        if (prompt.input) withInput++;
        expect(generationInput(s, prompt, false).ids).toEqual(promptPart(sample));
      }
      console.log(`${template}: ${withInput} of ${pairs.length} held-out prompts have an input`);
      expect(withInput).toBeGreaterThan(0);
      // raw text feeds the instruction as it is: the input and system are not added
      const p = pairs.find((x) => x.prompt.input)!.prompt;
      expect(generationInput(s, p, true).ids).toEqual(s.tokenizer.encodePrompt(p.instruction));
    });
  }

  it("carry a row's system message into the generation prompt", async () => {
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ system: `You answer row ${i}.`, instruction: `Say ${i}.`, input: i % 2 ? `the number ${i}` : '', output: `${i}` }));
    await loadDataset('system.jsonl', new TextEncoder().encode(lines.join('\n')), { template: 'plain', maxLength: 256, validationFraction: 0.25, seed: 0 }, () => {});
    const pairs = heldOutPairs();
    expect(pairs.length).toBe(10);
    const s = requireSession();
    for (const { prompt, sample } of pairs) {
      const i = sample.line - 1;
      expect(prompt).toEqual({ instruction: `Say ${i}.`, ...(i % 2 ? { input: `the number ${i}` } : {}), system: `You answer row ${i}.` });
      expect(generationInput(s, prompt, false).ids).toEqual(promptPart(sample));
    }
  });
});
