/**
 * A judge-scored quality filter (issue 24): a judge model rates each
 * instruction/response row 1–5 and training keeps the rows scoring ≥ N, after
 * AlpaGasus (Chen et al. 2023, "AlpaGasus: Training a Better Alpaca with
 * Fewer Data": ChatGPT rated Alpaca's 52k rows and the 9k rated ≥ 4.5 trained
 * a better model than all of them).
 *
 *   rubric    AlpaGasus's rating prompt, shortened for a 135M–1.5B instruct
 *             judge: helpfulness, accuracy and relevance in one score from
 *             1 (poor) to 5 (excellent), no explanation asked for, the answer
 *             format stated last, and the assistant turn already begun with
 *             "Score:" so the judge only has to say one digit.
 *   score     likelihood-based, as G-Eval (Liu et al. 2023) reads a judge's
 *             score from its token probabilities: one forward over the
 *             rendered prompt and the next-token distribution after
 *             "Score:", no sampling, no generated text. Why not generate:
 *             a 135M judge that "continues the format" instead of answering
 *             (SmolLM2-135M parsed 0 of 20 pairwise verdicts) may still put
 *             its mass on the digits at the one position that matters, and
 *             one forward a row is cheaper than a decode loop.
 *   strict    the row is scored only when a digit 1–5 is among the judge's
 *             top 5 next tokens (the most probable such digit is the score);
 *             otherwise, or when the judge's tokenizer has no single token
 *             for each digit after "Score:", or the prompt does not fit its
 *             context, it is unscored with its reason, never guessed.
 *             `expected` (Σ d·p(d) / Σ p(d), G-Eval's weighted score) is
 *             reported beside the score; thresholds use the score.
 *   reply     what the judge "said": its top next tokens with probabilities.
 *   cache     per (rubric, judge id, row text), any Map-like store (the CLI
 *             keeps a JSON file, the page may back it with IndexedDB): a
 *             second pass or a new threshold runs no forward. Unscored rows
 *             are cached too (the reading is deterministic).
 *
 * A small judge is noisy: its scores are a weak signal, and the unscored
 * count is part of the result so the page and the CLI can say so.
 */
import * as tf from '@tensorflow/tfjs';
import { promptIds } from '../data/tokenize';
import type { PromptTemplate, TemplateId } from '../data/templates';
import { judgeTemplate, renderJudgePrompt, type JudgePrompt } from '../eval/judge';
import type { LlamaModel } from '../model';
import type { TextTokenizer } from '../tokenizer';
import { planBatches } from './embed';

// ------------------------------------------------------------------ rubric

/** Names the rubric in cache keys: change it when the prompt or the reading changes. */
export const RUBRIC_ID = 'alpagasus-1to5-likelihood-v1';

export const QUALITY_SYSTEM = 'You are a strict teacher who grades answers.';

/** The rubric prompt for one row; the judge's assistant turn then begins with "Score:" (scoreTokens). */
export function qualityPrompt(prompt: string, response: string): JudgePrompt {
  const user =
    'Grade the response to the instruction for helpfulness, accuracy and relevance, from 1 (poor) to 5 (excellent).\n\n' +
    `[Instruction]\n${prompt}\n[End of Instruction]\n\n` +
    `[Response]\n${response}\n[End of Response]\n\n` +
    'Reply with "Score: " and one digit from 1 to 5.';
  return { system: QUALITY_SYSTEM, user };
}

/** How many of the judge's most probable next tokens a digit must be among to count. */
export const TOP_K = 5;

// ------------------------------------------------------------------ reading a score

export type Score = 1 | 2 | 3 | 4 | 5;

/** One of the judge's most probable next tokens. */
export interface TopToken {
  text: string;
  p: number;
  /** the score this token says (a digit token after "Score:"), else null */
  digit: Score | null;
}

/** The judge's next-token distribution after "Score:" for one row, as the scorer reads it. */
export interface ScoreReading {
  /** the TOP_K most probable tokens, most probable first (empty when no forward ran) */
  top: TopToken[];
  /** p of the digit tokens 1..5 (index d − 1); null when the tokenizer has none */
  digits: number[] | null;
  /** why no forward ran (the prompt does not fit the context, no digit tokens) */
  note?: string;
}

export interface RowScore {
  /** 1–5, or null: unscored */
  score: Score | null;
  /** Σ d·p(d) / Σ p(d) over the digit tokens (G-Eval's weighted score); null when unscored */
  expected: number | null;
  /** the judge's reply: its top next tokens with probabilities, e.g. '"4" 38% · "3" 21% · "\n" 9%' */
  reply: string;
  /** why the row is unscored */
  reason?: string;
}

const pct = (p: number) => `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`;

/** The reading as the reply text the page and the CLI show. */
export const replyText = (r: ScoreReading) => r.top.map((t) => `${JSON.stringify(t.text)} ${pct(t.p)}`).join(' · ');

/**
 * Strict reading: the score is the first digit among the top tokens (the
 * most probable one); no digit among them, two digits exactly tied, no
 * digit tokens at all, or no forward (note) is unscored with the reason.
 */
export function scoreOf(r: ScoreReading): RowScore {
  const reply = replyText(r);
  const unscored = (reason: string): RowScore => ({ score: null, expected: null, reply, reason });
  if (r.note) return unscored(r.note);
  if (!r.digits) return unscored('the judge\'s tokenizer has no single token for each digit 1–5 after "Score:"');
  const ranked = r.top.filter((t) => t.digit !== null);
  if (ranked.length === 0) return unscored(`no digit 1–5 among the judge's top ${r.top.length} next tokens`);
  if (ranked.length > 1 && ranked[1].p === ranked[0].p) return unscored(`digits ${ranked[0].digit} and ${ranked[1].digit} tie`);
  const mass = r.digits.reduce((s, p) => s + p, 0);
  const expected = mass > 0 ? r.digits.reduce((s, p, i) => s + (i + 1) * p, 0) / mass : null;
  return { score: ranked[0].digit, expected, reply };
}

// ------------------------------------------------------------------ scoring rows

/** Reads the scores of a batch of rubric prompts, in order. `modelQualityJudge` for a model; tests script it. */
export interface QualityJudge {
  /** names the judge in cache keys: the model and the format its weights are held in */
  id: string;
  read(prompts: JudgePrompt[]): Promise<ScoreReading[]>;
}

/** Scores from earlier passes: a Map works; the page may back one with IndexedDB. */
export interface ScoreCache {
  get(key: string): RowScore | undefined;
  set(key: string, score: RowScore): void;
}

export const scoreKey = (judgeId: string, row: { prompt: string; response: string }) => JSON.stringify([RUBRIC_ID, judgeId, row.prompt, row.response]);

export interface ScoreCounts {
  scored: number;
  unscored: number;
  /** rows per score: histogram[d − 1] rows scored d */
  histogram: [number, number, number, number, number];
}

export interface QualityResult extends ScoreCounts {
  /** one per input row, in order */
  scores: RowScore[];
  /** rows the cache answered */
  cached: number;
  /** rows the judge read (distinct row texts not in the cache) */
  read: number;
}

export interface ScoreRowsOptions {
  cache?: ScoreCache;
  /** rows per judge call (default 16): progress and Stop act between calls */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
  /** checked before each judge call; an aborted pass throws an AbortError (rows read so far stay in the cache) */
  signal?: AbortSignal;
}

export function countScores(scores: readonly RowScore[]): ScoreCounts {
  const histogram: ScoreCounts['histogram'] = [0, 0, 0, 0, 0];
  for (const s of scores) if (s.score !== null) histogram[s.score - 1]++;
  const scored = histogram.reduce((a, b) => a + b, 0);
  return { scored, unscored: scores.length - scored, histogram };
}

/** Indices of the rows scoring ≥ minScore (unscored rows are not kept). */
export const rowsScoringAtLeast = (scores: readonly RowScore[], minScore: number) => scores.flatMap((s, i) => (s.score !== null && s.score >= minScore ? [i] : []));

/** Scores every row: cached rows cost nothing, identical rows are read once, the rest in chunks of similar length. */
export async function scoreRows(judge: QualityJudge, rows: readonly { prompt: string; response: string }[], opts: ScoreRowsOptions = {}): Promise<QualityResult> {
  const keys = rows.map((r) => scoreKey(judge.id, r));
  const found = new Map<string, RowScore>();
  for (const k of keys) {
    const hit = opts.cache?.get(k);
    if (hit) found.set(k, hit);
  }
  const cached = keys.filter((k) => found.has(k)).length;
  // one row per distinct text not in the cache, shortest first so a chunk pads little
  const todo = [...new Map(keys.map((k, i) => [k, i])).entries()].filter(([k]) => !found.has(k)).map(([, i]) => i);
  const size = (i: number) => rows[i].prompt.length + rows[i].response.length;
  todo.sort((a, b) => size(a) - size(b) || a - b);
  const chunk = Math.max(1, opts.chunk ?? 16);
  let done = cached;
  const total = rows.length;
  const repeats = new Map<string, number>(); // rows per key, for progress
  for (const k of keys) repeats.set(k, (repeats.get(k) ?? 0) + 1);
  if (todo.length === 0) opts.onProgress?.(total, total);
  for (let at = 0; at < todo.length; at += chunk) {
    if (opts.signal?.aborted) throw new DOMException('scoring stopped', 'AbortError');
    const part = todo.slice(at, at + chunk);
    const readings = await judge.read(part.map((i) => qualityPrompt(rows[i].prompt, rows[i].response)));
    if (readings.length !== part.length) throw new Error(`the judge read ${readings.length} scores for ${part.length} rows`);
    part.forEach((i, j) => {
      const s = scoreOf(readings[j]);
      found.set(keys[i], s);
      opts.cache?.set(keys[i], s);
      done += repeats.get(keys[i])!;
    });
    opts.onProgress?.(done, total);
  }
  const scores = keys.map((k) => found.get(k)!);
  return { ...countScores(scores), scores, cached, read: todo.length };
}

// ------------------------------------------------------------------ a model as the judge

/**
 * The text the judge's turn begins with and the ids of the five digits after
 * it, as the tokenizer writes "Score: d": "Score:" then one token " d" where
 * the space joins the digit (GPT-2 style BPE), or "Score: " then one token
 * "d" where the space is its own token (SmolLM2). Null when neither holds
 * for all five digits (a tokenizer that splits a digit, or merges it with ':').
 */
export function scoreTokens(tok: TextTokenizer): { prefix: string; ids: number[] } | null {
  const tail = (ctx: string, d: number) => {
    const base = tok.encode(`\n${ctx}`);
    const full = tok.encode(`\nScore: ${d}`);
    const same = full.length === base.length + 1 && base.every((id, i) => full[i] === id);
    return same ? full[base.length] : null;
  };
  for (const prefix of ['Score:', 'Score: ']) {
    const ids = [1, 2, 3, 4, 5].map((d) => tail(prefix, d));
    if (ids.every((id) => id !== null) && new Set(ids).size === 5) return { prefix, ids: ids as number[] };
  }
  return null;
}

export interface ModelQualityJudgeOptions {
  /** names the judge in cache keys (e.g. the file and its weights' format) */
  id: string;
  /** default: its own chat template when it has one, else plain (as the pairwise judge) */
  template?: TemplateId | PromptTemplate;
  /** padded tokens per forward (B · T), default 4096 */
  batchTokens?: number;
}

/**
 * A QualityJudge backed by a loaded model: each prompt rendered through the
 * judge's template plus the score prefix, rows packed by length into
 * right-padded batches (causal attention: a real token never sees the
 * padding after it, as in embed.ts), one forward a batch, and the logits of
 * each row's last real token softmaxed on the host. The adapter is off.
 */
export function modelQualityJudge(model: LlamaModel, tok: TextTokenizer, opts: ModelQualityJudgeOptions): QualityJudge {
  const tpl = judgeTemplate(tok, opts.template);
  const digits = scoreTokens(tok);
  const V = model.config.vocabSize;
  const context = model.config.maxPositions;
  const read = async (prompts: JudgePrompt[]): Promise<ScoreReading[]> => {
    const out = new Array<ScoreReading>(prompts.length);
    if (!digits) return prompts.map(() => ({ top: [], digits: null }));
    const ids = prompts.map((p) => promptIds(tok, renderJudgePrompt(tpl, p) + digits.prefix));
    const fit: number[] = [];
    ids.forEach((x, i) => {
      if (x.length <= context) fit.push(i);
      else out[i] = { top: [], digits: null, note: `the rubric prompt is ${x.length} tokens; the judge's context is ${context}` };
    });
    const digitOf = new Map(digits.ids.map((id, d) => [id, (d + 1) as Score]));
    const adapterWas = model.adapterEnabled;
    model.adapterEnabled = false;
    try {
      for (const { rows, T } of planBatches(fit.map((i) => ids[i].length), Math.max(opts.batchTokens ?? 4096, ...fit.map((i) => ids[i].length)))) {
        const members = rows.map((j) => fit[j]);
        const B = members.length;
        const grid = new Int32Array(B * T); // padding id 0 after each prompt
        members.forEach((i, b) => grid.set(ids[i], b * T));
        const last = members.map((i, b) => b * T + ids[i].length - 1);
        const logitsT = tf.tidy(() => {
          const h = model.hidden(tf.tensor2d(grid, [B, T], 'int32')); // (B, T, d)
          const rowsH = tf.gather(h.reshape([B * T, h.shape[2]]), tf.tensor1d(last, 'int32')) as tf.Tensor2D; // (B, d)
          return model.logitsOf(rowsH); // (B, V)
        });
        const logits = (await logitsT.data()) as Float32Array;
        logitsT.dispose();
        members.forEach((i, b) => {
          out[i] = readDistribution(logits.subarray(b * V, (b + 1) * V), digits.ids, digitOf, (id) => tok.decode([id], false));
        });
      }
    } finally {
      model.adapterEnabled = adapterWas;
    }
    return out;
  };
  return { id: opts.id, read };
}

/** Softmax of one row's logits (in float64), its TOP_K tokens and the digit tokens' probabilities. */
export function readDistribution(logits: Float32Array, digitIds: number[], digitOf: Map<number, Score>, text: (id: number) => string): ScoreReading {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const p = (id: number) => Math.exp(logits[id] - max) / sum;
  const top: number[] = []; // ids, most probable first (ties: lower id first)
  for (let id = 0; id < logits.length; id++) {
    if (top.length === TOP_K && logits[id] <= logits[top[TOP_K - 1]]) continue;
    let at = top.length;
    while (at > 0 && logits[top[at - 1]] < logits[id]) at--;
    top.splice(at, 0, id);
    if (top.length > TOP_K) top.pop();
  }
  return { top: top.map((id) => ({ text: text(id), p: p(id), digit: digitOf.get(id) ?? null })), digits: digitIds.map(p) };
}
