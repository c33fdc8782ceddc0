/**
 * CLI: curate, choosing a diverse, de-duplicated subset of a dataset
 * (src/engine/curate). With --json the last stdout line is
 * {"near_duplicate_groups": [[row, ...]], "selected": [row, ...],
 *  "clusters": [{"size", "representative", "prompt"}], ...}: rows are 1-based
 * file lines for JSON Lines, 1-based positions for a JSON array
 * ("row_numbers" says which); "selected" is in the order greedy k-center
 * picked the rows (the most central first, then each farthest from those
 * before); without --select it is every row the filters keep, one of each
 * near-duplicate group, in file order. --out writes the selected rows, as they were
 * in the file, one JSON object a line, in file order.
 */
import fs from 'node:fs';
import { rowsLabel, type RowLocation } from '../engine/data';
import { curateRows, readCurateRows, type CurateStage } from '../engine/curate';
import { num, parseFlags, required, UsageError } from './args';
import { MODEL_FLAGS, openModel, printResult, uploadOptions } from './common';

export const CURATE_HELP =
  'curate --model PATH [--tokenizer PATH] --data FILE [--near-dup 0.8] [--select N] [--clusters K] [--min-tokens N] [--max-tokens N] [--drop-short-answers] [--keep-exact-duplicates] [--seed S] [--out FILE] [--frozen-bits 16|8|4] [--json]';

const rowNumber = (r: RowLocation) => (r.index !== undefined ? r.index + 1 : r.line);

export async function curateCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    ...MODEL_FLAGS,
    data: { type: 'string' },
    'near-dup': { type: 'string' },
    select: { type: 'string' },
    clusters: { type: 'string' },
    'min-tokens': { type: 'string' },
    'max-tokens': { type: 'string' },
    'drop-short-answers': { type: 'boolean' },
    'keep-exact-duplicates': { type: 'boolean' },
    seed: { type: 'string' },
    out: { type: 'string' },
  });
  const file = required(f.data, 'data');
  const threshold = num(f['near-dup'], 'near-dup', 0.8, (n) => n > 0 && n <= 1);
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  const select = f.select === undefined ? undefined : num(f.select, 'select', 0, whole);
  const clusters = f.clusters === undefined ? undefined : num(f.clusters, 'clusters', 0, whole);
  const minTokens = f['min-tokens'] === undefined ? undefined : num(f['min-tokens'], 'min-tokens', 0, (n) => Number.isInteger(n) && n >= 0);
  const maxTokens = f['max-tokens'] === undefined ? undefined : num(f['max-tokens'], 'max-tokens', 0, whole);
  const seed = num(f.seed, 'seed', 1, Number.isInteger);
  if (minTokens !== undefined && maxTokens !== undefined && minTokens > maxTokens) throw new UsageError(`--min-tokens ${minTokens} is above --max-tokens ${maxTokens}`);
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);

  const data = await readCurateRows(fs.readFileSync(file));
  for (const w of data.warnings) console.error(`warning: ${w}`);
  for (const e of data.errors.slice(0, 20)) console.error(`${file}:${rowNumber(e)}: ${e.reason}`);
  if (data.errors.length > 20) console.error(`… and ${data.errors.length - 20} more unusable rows`);
  if (data.rows.length === 0) throw new Error(`${file}: no usable rows (${data.errors.length} rejected)`);
  console.error(`${file}: ${data.format} format, ${data.rows.length} usable rows, ${data.errors.length} rejected`);

  const { model, tokenizer, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, uploadOptions(f));
  let lastStage = '';
  const r = await curateRows(data.rows, model, tokenizer, {
    nearDuplicateThreshold: threshold,
    select,
    clusters,
    seed,
    filters: { minTokens, maxTokens, answerShorterThanPrompt: f['drop-short-answers'], exactDuplicates: !f['keep-exact-duplicates'] },
    onProgress: (stage: CurateStage, done, total) => {
      if (stage !== lastStage && lastStage) process.stderr.write('\n');
      lastStage = stage;
      process.stderr.write(`\r  ${stage} ${done}/${total}`);
    },
  });
  process.stderr.write('\n');

  const at = (i: number) => data.rows[i];
  for (const reason of new Set(r.filters.dropped.map((d) => d.reason))) {
    const rows = r.filters.dropped.filter((d) => d.reason === reason);
    console.error(`dropped ${rows.length} (${reason}): ${rowsLabel(rows)}`);
  }
  if (r.filters.kept.length === 0) console.error(`warning: the filters dropped all ${data.rows.length} rows; nothing to map or select`);
  const s = r.seconds;
  console.error(
    `near-duplicates: ${r.nearDuplicates.groups.length} groups (${r.nearDuplicates.bands} bands × ${r.nearDuplicates.rowsPerBand} rows, ${r.nearDuplicates.candidates} candidate pairs) in ${s.nearDuplicates.toFixed(2)} s; ` +
      `embedded ${r.map.length} prompts (${r.distinctPrompts} distinct) in ${s.embedding.toFixed(2)} s; map ${s.map.toFixed(2)} s; selected ${r.selected.length} of ${r.candidates.length} in ${s.selection.toFixed(2)} s`,
  );
  if (f.out) {
    const chosen = [...r.selected].sort((a, b) => a - b);
    fs.writeFileSync(f.out, chosen.map((i) => JSON.stringify(at(i).value) + '\n').join(''));
    console.error(`wrote ${chosen.length} rows to ${f.out}`);
  }
  const out = {
    row_numbers: data.rows[0].index !== undefined ? 'array position' : 'line',
    rows: data.rows.length,
    near_duplicate_groups: r.nearDuplicates.groups.map((g) => g.map((i) => rowNumber(at(i)))),
    selected: r.selected.map((i) => rowNumber(at(i))),
    clusters: r.clusters.map((c) => ({ size: c.size, representative: rowNumber(at(c.representative)), prompt: at(c.representative).prompt })),
    dropped: r.filters.dropped.map((d) => ({ row: rowNumber(d), reason: d.reason })),
    distinct_prompts: r.distinctPrompts,
    radius: r.radius,
    explained: r.explained,
    seconds: { near_duplicates: s.nearDuplicates, embedding: s.embedding, map: s.map, selection: s.selection },
    frozen,
  };
  const human = [
    `${out.near_duplicate_groups.length} near-duplicate groups${out.near_duplicate_groups.length ? `: ${out.near_duplicate_groups.slice(0, 10).map((g) => g.join('+')).join(', ')}` : ''}`,
    `selected ${out.selected.length} rows (covering radius ${r.radius.toFixed(3)})`,
    ...out.clusters.map((c, k) => `cluster ${k + 1}: ${c.size} rows, e.g. ${out.row_numbers} ${c.representative}: ${c.prompt.slice(0, 80)}`),
  ].join('\n');
  printResult(f.json, out, human);
}
