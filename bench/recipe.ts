/**
 * Checks the shared recipe (../shared/README.md) end to end with the engine:
 *
 *   npm run -s recipe -- split --out DIR
 *       DIR/train.jsonl and DIR/heldout.jsonl: names held out whole (recipe_split.ts)
 *   npm run -s cli -- train --model ../shared/models/stories260K-hf \
 *       --data DIR/train.jsonl --val-fraction 0 --out DIR/adapter --save-every 10
 *       (every other setting is the recipe's default)
 *   npm run -s recipe -- score --out DIR [--adapter DIR/adapter] [--limit N] [--max-new-tokens N]
 *       held-out response loss (base and tuned, same base weights, adapter
 *       toggled) and the share of greedy outputs that start "Once upon a time"
 *       and name the requested character; writes DIR/score.json and the outputs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openModel, readAdapterDir } from '../src/cli/common';
import { createTemplate, prepareDataset, promptIds } from '../src/engine/data';
import { generateGreedyBatch } from '../src/engine/generate_batch';
import { evaluate } from '../src/engine/train/evaluate';
import { followsInstruction, requestedName, splitByName } from './recipe_split';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    data: { type: 'string', default: new URL('../../shared/data/tinystories-instruct-1k.jsonl', import.meta.url).pathname },
    model: { type: 'string', default: new URL('../../shared/models/stories260K-hf', import.meta.url).pathname },
    adapter: { type: 'string' },
    fraction: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '0' },
    limit: { type: 'string' },
    'max-new-tokens': { type: 'string', default: '96' },
  },
});

async function split(out: string) {
  const rows = fs.readFileSync(values.data!, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { instruction: string; response: string });
  const s = splitByName(rows, Number(values.fraction), Number(values.seed));
  fs.mkdirSync(out, { recursive: true });
  const write = (name: string, rs: unknown[]) => fs.writeFileSync(path.join(out, name), rs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  write('train.jsonl', s.train);
  write('heldout.jsonl', s.heldOut);
  console.log(JSON.stringify({ train_rows: s.train.length, heldout_rows: s.heldOut.length, heldout_names: s.heldOutNames }));
}

async function score(out: string) {
  const { model, tokenizer } = await openModel(values.model!);
  const file = path.join(out, 'heldout.jsonl');
  const rows = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { instruction: string; response: string });
  const ds = await prepareDataset(fs.readFileSync(file), { tokenizer, template: 'plain', maxLength: 512 });
  if (ds.errors.length) throw new Error(`${file}: ${ds.errors.length} unusable rows`);
  const limit = values.limit ? Number(values.limit) : rows.length;
  const tpl = createTemplate('plain', tokenizer);
  const prompts = rows.slice(0, limit).map((r) => promptIds(tokenizer, tpl.generationPrompt({ instruction: r.instruction })));
  const maxNew = Number(values['max-new-tokens']);
  const adapter = values.adapter ? readAdapterDir(values.adapter, model).adapter : null;

  const result: Record<string, unknown> = { heldout_rows: rows.length, generated_rows: prompts.length, max_new_tokens: maxNew };
  const outputs: Record<string, string[]> = {};
  for (const which of adapter ? ['base', 'tuned'] : ['base']) {
    model.adapter = which === 'tuned' ? adapter : null;
    const t0 = performance.now();
    const ev = await evaluate(model, ds.samples, { batchSize: 16, onProgress: (d, n) => process.stderr.write(`\r${which}: loss ${d}/${n}`) });
    const t1 = performance.now();
    const gen = await generateGreedyBatch(model, prompts, { maxNewTokens: maxNew, stopIds: tokenizer.eosIds, onProgress: (d, n) => process.stderr.write(`\r${which}: generated ${d}/${n}   `) });
    const texts = gen.map((ids) => tokenizer.decode(ids));
    const ok = texts.filter((t, i) => followsInstruction(t, requestedName(rows[i].instruction)!)).length;
    outputs[which] = texts;
    result[which] = {
      heldout_loss: ev.loss,
      heldout_perplexity: ev.perplexity,
      heldout_tokens: ev.tokens,
      follows_instruction: ok / texts.length,
      follows_instruction_count: ok,
      starts_once_upon_a_time: texts.filter((t) => t.trimStart().startsWith('Once upon a time')).length / texts.length,
      loss_s: (t1 - t0) / 1000,
      generate_s: (performance.now() - t1) / 1000,
    };
    process.stderr.write(`\n${which}: ${JSON.stringify(result[which])}\n`);
  }
  fs.writeFileSync(path.join(out, 'score.json'), JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(
    path.join(out, 'outputs.jsonl'),
    prompts.map((_, i) => JSON.stringify({ instruction: rows[i].instruction, base: outputs.base[i], tuned: outputs.tuned?.[i] ?? null })).join('\n') + '\n',
  );
  console.log(JSON.stringify(result));
}

const out = values.out;
if (!out || !['split', 'score'].includes(positionals[0])) {
  console.error('usage: npm run -s recipe -- split|score --out DIR [--adapter DIR] [--limit N] [--max-new-tokens N]');
  process.exit(2);
}
await (positionals[0] === 'split' ? split(out) : score(out));
