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
 *
 * With --judge MODEL instead of --model, a judge model scores every row 1–5
 * (src/engine/curate/quality.ts: an AlpaGasus-style rubric, a likelihood-based
 * score, unscored when no digit is among the judge's top tokens) and --out
 * writes the rows scoring ≥ --min-score, in file order. With --json the last
 * line is {"scores": [{"row", "score", "expected", "reply", "reason"?}],
 * "scored", "unscored", "histogram": {"1".."5"}, "kept": [row, ...], ...}.
 * Scores are cached in a JSON file (--score-cache, default OUT.scores.json
 * beside --out), so a new --min-score runs no forward.
 */
import fs from 'node:fs';
import path from 'node:path';
import { rowsLabel, type RowLocation } from '../engine/data';
import {
  countScores,
  curateRows,
  modelQualityJudge,
  readCurateRows,
  rowsScoringAtLeast,
  RUBRIC_ID,
  scoreRows,
  type CurateRows,
  type CurateStage,
  type RowScore,
} from '../engine/curate';
import { num, parseFlags, required, UsageError } from './args';
import { frozenText, MODEL_FLAGS, openModel, printResult, uploadOptions } from './common';

export const CURATE_HELP =
  'curate --model PATH [--tokenizer PATH] --data FILE [--near-dup 0.8] [--select N] [--clusters K] [--min-tokens N] [--max-tokens N] [--drop-short-answers] [--keep-exact-duplicates] [--seed S] [--out FILE] [--frozen-bits 16|8|4] [--json]\n' +
  '  curate --judge PATH [--tokenizer PATH] --data FILE [--min-score 4] [--out FILE] [--score-cache FILE] [--frozen-bits 16|8|4] [--json]';

/** Flags of the diversity mode that mean nothing to --judge. */
const DIVERSITY_FLAGS = ['near-dup', 'select', 'clusters', 'min-tokens', 'max-tokens', 'drop-short-answers', 'keep-exact-duplicates', 'seed'] as const;

const rowNumber = (r: RowLocation) => (r.index !== undefined ? r.index + 1 : r.line);

async function readRows(file: string): Promise<CurateRows> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const data = await readCurateRows(fs.readFileSync(file));
  for (const w of data.warnings) console.error(`warning: ${w}`);
  for (const e of data.errors.slice(0, 20)) console.error(`${file}:${rowNumber(e)}: ${e.reason}`);
  if (data.errors.length > 20) console.error(`… and ${data.errors.length - 20} more unusable rows`);
  if (data.rows.length === 0) throw new Error(`${file}: no usable rows (${data.errors.length} rejected)`);
  console.error(`${file}: ${data.format} format, ${data.rows.length} usable rows, ${data.errors.length} rejected`);
  return data;
}

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
    judge: { type: 'string' },
    'min-score': { type: 'string' },
    'score-cache': { type: 'string' },
  });
  const file = required(f.data, 'data');
  if (f.judge !== undefined) {
    if (f.model !== undefined) throw new UsageError('--judge scores the rows, --model embeds them for diversity: give one (curate --model the scored subset afterwards)');
    const extra = DIVERSITY_FLAGS.filter((k) => f[k] !== undefined);
    if (extra.length) throw new UsageError(`${extra.map((k) => `--${k}`).join(', ')}: not used with --judge (curate --model the scored subset afterwards)`);
    return judgeRows(f, file);
  }
  for (const k of ['min-score', 'score-cache'] as const) if (f[k] !== undefined) throw new UsageError(`--${k} needs --judge MODEL`);
  const threshold = num(f['near-dup'], 'near-dup', 0.8, (n) => n > 0 && n <= 1);
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  const select = f.select === undefined ? undefined : num(f.select, 'select', 0, whole);
  const clusters = f.clusters === undefined ? undefined : num(f.clusters, 'clusters', 0, whole);
  const minTokens = f['min-tokens'] === undefined ? undefined : num(f['min-tokens'], 'min-tokens', 0, (n) => Number.isInteger(n) && n >= 0);
  const maxTokens = f['max-tokens'] === undefined ? undefined : num(f['max-tokens'], 'max-tokens', 0, whole);
  const seed = num(f.seed, 'seed', 1, Number.isInteger);
  if (minTokens !== undefined && maxTokens !== undefined && minTokens > maxTokens) throw new UsageError(`--min-tokens ${minTokens} is above --max-tokens ${maxTokens}`);
  const data = await readRows(file);

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

interface JudgeFlags {
  judge?: string;
  tokenizer?: string;
  json?: boolean;
  out?: string;
  'min-score'?: string;
  'score-cache'?: string;
  'store-bf16'?: boolean;
  'frozen-bits'?: string;
}

/** The score cache file: {"rubric", "scores": {key: RowScore}}; a missing file is an empty cache. */
function readScoreCache(file: string): Map<string, RowScore> {
  if (!fs.existsSync(file)) return new Map();
  let parsed: { rubric?: string; scores?: Record<string, RowScore> };
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not a score cache (${(e as Error).message}); delete it or give another --score-cache`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.scores !== 'object' || parsed.scores === null) {
    throw new Error(`${file}: not a score cache (no "scores" object); delete it or give another --score-cache`);
  }
  return new Map(Object.entries(parsed.scores));
}

/** curate --judge: every row scored by the judge, the rows scoring ≥ --min-score written to --out. */
async function judgeRows(f: JudgeFlags, file: string): Promise<void> {
  const judgePath = required(f.judge, 'judge');
  const minScore = num(f['min-score'], 'min-score', 4, (n) => Number.isInteger(n) && n >= 1 && n <= 5);
  const opts = uploadOptions(f);
  if (!fs.existsSync(judgePath)) throw new Error(`--judge ${judgePath}: no such file or folder (a .gguf, or an HF folder with config.json, the weights and tokenizer.json)`);
  const data = await readRows(file);
  const cacheFile = f['score-cache'] ?? (f.out ? `${f.out}.scores.json` : undefined);
  const cache = cacheFile ? readScoreCache(cacheFile) : new Map<string, RowScore>();

  const { model, tokenizer, frozen } = await openModel(judgePath, f.tokenizer, opts);
  if (!tokenizer.chatTemplate) console.error(`warning: ${judgePath} has no chat template: the rubric is rendered plain, and a base model is unlikely to answer it`);
  // the judge's id in cache keys: which file, and the format its weights are held in (4-bit scores differ from 16-bit ones)
  const id = `${path.resolve(judgePath)} · ${frozenText(frozen)}`;
  const t0 = performance.now();
  const r = await scoreRows(modelQualityJudge(model, tokenizer, { id }), data.rows, {
    cache,
    onProgress: (done, total) => process.stderr.write(`\r  scoring ${done}/${total}`),
  });
  process.stderr.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  if (cacheFile) fs.writeFileSync(cacheFile, JSON.stringify({ rubric: RUBRIC_ID, scores: Object.fromEntries(cache) }));

  const kept = rowsScoringAtLeast(r.scores, minScore);
  const c = countScores(r.scores);
  console.error(
    `judged ${data.rows.length} rows in ${seconds.toFixed(1)} s (${r.read} read by the judge, ${r.cached} from the cache${cacheFile ? ` ${cacheFile}` : ''}): ` +
      `${c.scored} scored, ${c.unscored} unscored; scores 1–5: ${c.histogram.join(' / ')}; ${kept.length} score ≥ ${minScore}`,
  );
  console.error('note: a small judge is noisy; read the replies of a few rows before trusting its scores');
  if (f.out) {
    fs.writeFileSync(f.out, kept.map((i) => JSON.stringify(data.rows[i].value) + '\n').join(''));
    console.error(`wrote ${kept.length} rows to ${f.out}`);
  }
  const out = {
    row_numbers: data.rows[0].index !== undefined ? 'array position' : 'line',
    rows: data.rows.length,
    judge: judgePath,
    rubric: RUBRIC_ID,
    min_score: minScore,
    scored: c.scored,
    unscored: c.unscored,
    histogram: Object.fromEntries(c.histogram.map((n, d) => [String(d + 1), n])),
    kept: kept.map((i) => rowNumber(data.rows[i])),
    scores: r.scores.map((s, i) => ({ row: rowNumber(data.rows[i]), score: s.score, expected: s.expected, reply: s.reply, ...(s.reason ? { reason: s.reason } : {}) })),
    read: r.read,
    cached: r.cached,
    score_cache: cacheFile ?? null,
    seconds,
    frozen,
  };
  const human = [
    `${c.scored} scored, ${c.unscored} unscored; 1: ${c.histogram[0]}, 2: ${c.histogram[1]}, 3: ${c.histogram[2]}, 4: ${c.histogram[3]}, 5: ${c.histogram[4]}`,
    `${kept.length} rows score ≥ ${minScore}`,
    ...out.scores.slice(0, 20).map((s) => `${out.row_numbers} ${s.row}: ${s.score ?? 'unscored'}  ${s.reply}${s.reason ? `  (${s.reason})` : ''}`),
  ].join('\n');
  printResult(f.json, out, human);
}
