/**
 * CLI: eval --mc, a multiple-choice benchmark scored by log-likelihood
 * (src/engine/eval/multiple_choice.ts). With --json the last stdout line is
 * exactly {"acc", "acc_norm", "n", "items": [{"scores", "pred", "pred_norm", "gold"}]}.
 * Rows that are not usable items are listed on stderr (file:N, N the line of
 * a JSON Lines row or the 1-based position in a JSON array) and skipped.
 */
import fs from 'node:fs';
import { rowNumber } from '../engine/data';
import { uploadTensors } from '../engine/gpu/memory';
import { parseMultipleChoice, MC_FORMAT_IDS, type McFormatId } from '../engine/eval/mc_formats';
import { scoreMultipleChoice } from '../engine/eval/multiple_choice';
import { parseFlags, required, UsageError } from './args';
import { MODEL_FLAGS, openModel, pickTemplate, printResult, readAdapterDir, uploadOptions } from './common';

export const MC_EVAL_HELP = 'eval --model PATH [--tokenizer PATH] --mc FILE [--mc-format auto|mmlu|arc|hellaswag] [--adapter DIR] [--template T] [--store-bf16] [--frozen-bits 16|8|4] [--json]';

export async function mcEvalCommand(argv: string[]): Promise<void> {
  if (argv.includes('--data')) throw new UsageError('give --data (response-token loss) or --mc (multiple choice), not both');
  const f = parseFlags(argv, { ...MODEL_FLAGS, mc: { type: 'string' }, 'mc-format': { type: 'string' }, adapter: { type: 'string' }, template: { type: 'string' } });
  const file = required(f.mc, 'mc');
  const format = f['mc-format'] && f['mc-format'] !== 'auto' ? f['mc-format'] : undefined;
  if (format && !MC_FORMAT_IDS.includes(format as McFormatId)) throw new UsageError(`--mc-format: "${format}" is not one of auto, ${MC_FORMAT_IDS.join(', ')}`);
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const parsed = await parseMultipleChoice(fs.readFileSync(file), { format: format as McFormatId | undefined });
  for (const w of parsed.warnings) console.error(`warning: ${w}`);
  for (const e of parsed.errors.slice(0, 20)) console.error(`${file}:${rowNumber(e)}: ${e.reason}`);
  if (parsed.errors.length > 20) console.error(`… and ${parsed.errors.length - 20} more unusable rows`);
  if (parsed.items.length === 0) throw new Error(`${file}: no usable multiple-choice items (${parsed.errors.length} rejected)`);
  console.error(`${file}: ${parsed.format} format, ${parsed.items.length} items, ${parsed.errors.length} rejected`);

  const { model, tokenizer, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, uploadOptions(f));
  // no template unless asked for: the question text is the context, as lm-eval-harness feeds a base model
  const template = f.template !== undefined ? pickTemplate(f.template, tokenizer) : undefined;
  if (f.adapter) {
    const imp = readAdapterDir(f.adapter, model);
    uploadTensors(imp.adapter);
    model.adapter = imp.adapter;
    console.error(`adapter ${f.adapter}: r=${imp.adapter.config.rank} (trained with template ${imp.template ?? 'unknown'}; scoring with ${template ?? 'no template'})`);
  }
  const r = await scoreMultipleChoice(model, tokenizer, parsed.items, {
    template,
    onProgress: (done, total) => process.stderr.write(`\r  scored ${done}/${total}${done === total ? '\n' : ''}`),
  });
  printResult(f.json, { acc: r.acc, acc_norm: r.acc_norm, n: r.n, items: r.items, frozen }, `${r.n} items: acc ${r.acc.toFixed(4)}, acc_norm ${r.acc_norm.toFixed(4)}`);
}
