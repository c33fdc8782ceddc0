/**
 * `shift`: what tuning changed, token by token (URIAL's token distribution
 * shift; src/engine/eval/token_shift.ts). The tuned model (base + adapter)
 * answers each instruction greedily; every answer token is then scored under
 * base and tuned in one batched forward: the base model's rank of the chosen
 * token, both probabilities and KL(p_tuned ‖ p_base).
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createTemplate, detectFormat, mapRow, parseRows, promptIds as promptIdsOf, rowLabel, type Conversation, type GenerationRequest } from '../engine/data';
import { shiftClass, summarizeShift, tokenShift, topShifted } from '../engine/eval/token_shift';
import { generate } from '../engine/generate';
import { measureResident, uploadTensors } from '../engine/gpu/memory';
import { num, parseFlags, required, UsageError } from './args';
import { MODEL_FLAGS, openModel, pickTemplate, printResult, readAdapterDir, uploadOptions } from './common';

export const SHIFT_HELP =
  'shift --model PATH --adapter DIR (--instruction TEXT | --data FILE) [--template T] [--max-new-tokens N] [--limit N] [--frozen-bits 16|8|4] [--json]   # token shift of the tuned answers (base rank, p_base, p_tuned, KL)';

/** The instructions of a --data file: {"instruction"} rows, or rows of any training format (their first user turn, input and system). */
async function readInstructions(file: string, limit: number): Promise<GenerationRequest[]> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const parsed = await parseRows(fs.readFileSync(file));
  for (const e of parsed.errors.slice(0, 5)) console.error(`${file}: ${rowLabel(e)}: ${e.reason}`);
  if (parsed.rows.length === 0) throw new Error(`${file}: no rows${parsed.bytes === 0 ? ' (the file is empty)' : ''}`);
  const out: GenerationRequest[] = [];
  const det = parsed.rows.every((r) => typeof r.value.instruction === 'string') ? null : detectFormat(parsed.rows.map((r) => r.value));
  for (const r of parsed.rows) {
    if (out.length >= limit) break;
    const v = r.value;
    if (!det) {
      out.push({ instruction: v.instruction as string, ...(typeof v.input === 'string' && v.input ? { input: v.input } : {}), ...(typeof v.system === 'string' ? { system: v.system } : {}) });
      continue;
    }
    if (!det.format) throw new Error(`${file}: rows have no "instruction" field and no known training format (${det.warnings.join('; ')})`);
    try {
      const s = mapRow(v, { format: det.format, fields: det.fields });
      if (s.kind !== 'conversation') throw new Error('a plain-text row has no instruction');
      const c = s as Conversation;
      const user = c.turns.find((t) => t.role === 'user');
      if (!user) throw new Error('no user turn');
      out.push({ instruction: user.content, ...(c.input ? { input: c.input } : {}), ...(c.system ? { system: c.system } : {}) });
    } catch (e) {
      console.error(`${file}: ${rowLabel(r)}: skipped (${(e as Error).message})`);
    }
  }
  if (out.length === 0) throw new Error(`${file}: no instruction could be read`);
  return out;
}

export async function shiftCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    ...MODEL_FLAGS,
    adapter: { type: 'string' },
    instruction: { type: 'string' },
    data: { type: 'string' },
    template: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    limit: { type: 'string' },
  });
  if ((f.instruction === undefined) === (f.data === undefined)) throw new UsageError('give --instruction TEXT or --data FILE (one of them)');
  const adapterDir = required(f.adapter, 'adapter');
  const maxNew = num(f['max-new-tokens'], 'max-new-tokens', 64, (n) => Number.isInteger(n) && n > 0);
  const limit = num(f.limit, 'limit', 20, (n) => Number.isInteger(n) && n > 0);
  const requests = f.instruction !== undefined ? [{ instruction: f.instruction }] : await readInstructions(f.data!, limit);
  const { model, tokenizer, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, uploadOptions(f));
  const imp = readAdapterDir(adapterDir, model);
  measureResident(() => uploadTensors(imp.adapter));
  model.adapter = imp.adapter;
  const tpl = createTemplate(pickTemplate(f.template ?? imp.template ?? undefined, tokenizer), tokenizer);

  const items = [];
  const answers = [];
  for (const [i, req] of requests.entries()) {
    const promptIds = promptIdsOf(tokenizer, tpl.generationPrompt(req)); // the prompt as the adapter saw it in training
    model.adapterEnabled = true;
    const res = await generate(model, promptIds, { temperature: 0, maxNewTokens: maxNew, stopIds: tokenizer.eosIds });
    const tokens = await tokenShift(model, promptIds, res.ids);
    const texts = res.ids.map((id) => tokenizer.decode([id], false));
    const s = summarizeShift(tokens);
    answers.push({ tokens, texts });
    items.push({
      prompt_ids: promptIds,
      text: tokenizer.decode(res.ids),
      tokens: tokens.map((t, j) => ({ id: t.id, text: texts[j], base_rank: t.baseRank, p_base: t.pBase, p_tuned: t.pTuned, kl: t.kl, class: shiftClass(t.baseRank), base_top: t.baseTop.map((x) => ({ id: x.id, text: tokenizer.decode([x.id], false), p: x.p })) })),
      unshifted: s.unshifted,
      marginal: s.marginal,
      shifted: s.shifted,
    });
    console.error(`${i + 1}/${requests.length}: ${tokens.length} tokens, unshifted ${(s.unshifted * 100).toFixed(0)}% · marginal ${(s.marginal * 100).toFixed(0)}% · shifted ${(s.shifted * 100).toFixed(0)}%`);
  }
  const top = topShifted(answers);
  const all = summarizeShift(answers.flatMap((a) => a.tokens));
  const human =
    `${all.n} answer tokens over ${items.length} answers: unshifted ${(all.unshifted * 100).toFixed(1)}%, marginal ${(all.marginal * 100).toFixed(1)}%, shifted ${(all.shifted * 100).toFixed(1)}%\n` +
    `most shifted: ${top.slice(0, 10).map((t) => `${JSON.stringify(t.text)} ×${t.count}`).join(', ') || 'none'}`;
  printResult(f.json, { items, top_shifted: top, frozen }, human);
  tf.disposeVariables();
}
