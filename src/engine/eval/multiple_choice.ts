/**
 * Multiple-choice benchmarks scored by log-likelihood, as lm-evaluation-harness
 * scores MMLU/ARC/HellaSwag (Gao et al., github.com/EleutherAI/lm-evaluation-harness,
 * `loglikelihood` requests and the `acc`/`acc_norm` metrics):
 *
 *   context       the item's question, rendered by a template's generationPrompt when one is given
 *   continuation  " " + choice text
 *   tokens        whole = encode(context + continuation), ctx = encode(context), each with BOS
 *                 first when the model has one; the continuation's tokens are whole[ctx.length:]
 *   score         Σ log p(token | everything before it) over the continuation's tokens
 *   acc           share of items whose argmax score is the gold choice
 *   acc_norm      the same with each score divided by the choice's length in characters
 *                 (Unicode code points, as Python's len; the leading space not counted)
 *
 * When whole does not start with ctx (a token merges across the boundary,
 * e.g. a context ending in a space), the split point is still ctx.length, as
 * lm-eval-harness's `_encode_pair` does: the merged token counts as context.
 * lm-eval-harness also moves a context's trailing whitespace into the
 * continuation before encoding; we do not (the formula), which only
 * matters for templates whose prompt ends in whitespace.
 *
 * Ties go to the lowest index (numpy's argmax). All choices of an item are
 * scored in one batched forward: (rows, T) padded on the right, and logits
 * computed only at the positions that predict a continuation token. With
 * `batchRows`, several consecutive items share a forward while their rows fit
 * it and `batchTokens` (rows × padded T); an item is never split. The default
 * is one item per forward: every new (rows, T) shape compiles new shaders,
 * and on SwiftShader the 60-item demo set took 52 s cold at one item per
 * forward against 78 s cold with batchRows 32 (48 s vs 42 s warm).
 */
import type { LlamaModel } from '../model';
import { rowLabel } from '../data/location';
import { promptIds, type SegmentTokenizer } from '../data/tokenize';
import { createTemplate, type PromptTemplate, type TemplateId, type TemplateTokens } from '../data/templates';
import { batchTokenNll } from '../train/evaluate';
import { IGNORE, padBatch, roundUp, type MicroBatch } from '../train/batches';
import type { McItem } from './mc_formats';

/** One choice as a token sequence: ids[start..] are the continuation, scored given ids[..t]. */
export interface ChoiceRequest {
  ids: number[];
  start: number;
}

/** Σ log p(ids[t] | ids[<t]) for t in [start, ids.length), per request; each call holds whole items (all their choices). */
export type LogLikelihoodFn = (requests: ChoiceRequest[]) => Promise<number[]>;

export interface McItemResult {
  /** summed log-probability of each choice's continuation */
  scores: number[];
  /** argmax of scores (first on ties) */
  pred: number;
  /** argmax of scores / choice length in characters (first on ties) */
  pred_norm: number;
  gold: number;
}

export interface McResult {
  acc: number;
  acc_norm: number;
  n: number;
  items: McItemResult[];
}

export interface McOptions {
  /** render each question with this template's generationPrompt; none: the question text as is */
  template?: TemplateId | PromptTemplate;
  /** called after each forward with (items done, total) */
  onProgress?: (done: number, total: number) => void;
  /** at most this many rows (choices) in one forward; default: one item per forward */
  batchRows?: number;
  /** at most this many padded tokens, rows × T, in one forward (default 4096); an item alone may exceed it */
  batchTokens?: number;
}

export type McTokenizer = SegmentTokenizer & TemplateTokens;

/** The context text of an item. */
export function itemContext(item: McItem, template?: PromptTemplate): string {
  return template ? template.generationPrompt({ instruction: item.question }) : item.question;
}

/** The token sequences of an item's choices, split as described in the header. */
export function choiceRequests(tok: McTokenizer, context: string, choices: string[]): ChoiceRequest[] {
  const start = promptIds(tok, context).length;
  return choices.map((choice) => ({ ids: promptIds(tok, context + ' ' + choice), start }));
}

/** Index of the first maximum (numpy.argmax). */
export function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/** Length in characters as Python's len counts them (code points, not UTF-16 units). */
export const charLength = (s: string): number => [...s].length;

/** Bucket for the padded length, so tfjs compiles few shader variants (padBatch's default). */
const LENGTH_BUCKET = 32;

/** Scores every item with `logLikelihoods` (the engine's model-backed one, or a fake in tests). */
export async function scoreItems(logLikelihoods: LogLikelihoodFn, tok: McTokenizer, items: McItem[], opts: McOptions = {}, maxTokens = Infinity): Promise<McResult> {
  const template = typeof opts.template === 'string' ? createTemplate(opts.template, tok) : opts.template;
  // Tokenize everything first, so a bad item fails before any scoring.
  const requests = items.map((item) => {
    const reqs = choiceRequests(tok, itemContext(item, template), item.choices);
    reqs.forEach((r, k) => {
      if (r.ids.length <= r.start) throw new Error(`${rowLabel(item)}: choice ${k} has no tokens after the context`);
      if (r.ids.length > maxTokens) throw new Error(`${rowLabel(item)}: choice ${k} is ${r.ids.length} tokens with its context; the model's context is ${maxTokens}`);
    });
    return reqs;
  });
  const results: McItemResult[] = [];
  let correct = 0;
  let correctNorm = 0;
  const maxRows = opts.batchRows ?? 0;
  const maxPadded = opts.batchTokens ?? 4096;
  for (let i = 0; i < items.length; ) {
    // consecutive whole items while their rows fit
    let end = i + 1;
    let rows = requests[i].length;
    let longest = Math.max(...requests[i].map((r) => r.ids.length));
    while (end < items.length) {
      const nextRows = rows + requests[end].length;
      const nextLongest = Math.max(longest, ...requests[end].map((r) => r.ids.length));
      if (nextRows > maxRows || nextRows * roundUp(nextLongest, LENGTH_BUCKET) > maxPadded) break;
      [rows, longest, end] = [nextRows, nextLongest, end + 1];
    }
    const all = await logLikelihoods(requests.slice(i, end).flat());
    let at = 0;
    for (let j = i; j < end; j++) {
      const item = items[j];
      const scores = all.slice(at, at + item.choices.length);
      at += item.choices.length;
      const pred = argmax(scores);
      const pred_norm = argmax(scores.map((s, k) => s / charLength(item.choices[k])));
      results.push({ scores, pred, pred_norm, gold: item.gold });
      if (pred === item.gold) correct++;
      if (pred_norm === item.gold) correctNorm++;
    }
    i = end;
    opts.onProgress?.(i, items.length);
  }
  const n = items.length;
  return { acc: n ? correct / n : NaN, acc_norm: n ? correctNorm / n : NaN, n, items: results };
}


/**
 * A batch of requests as rows (B, T) padded on the right (segment 0), each
 * position t ≥ start−1 targeting ids[t+1]. Positions restart at 0 in every row.
 */
export function requestBatch(requests: ChoiceRequest[], maxLength: number): MicroBatch {
  const rows = requests.map((r) => ({ ids: r.ids, labels: r.ids.map((id, t) => (t >= r.start ? id : IGNORE)) }));
  return padBatch(rows, maxLength, LENGTH_BUCKET);
}

/** The model's log-likelihoods of a batch of requests in one forward (dropout off). */
export function modelLogLikelihoods(model: LlamaModel): LogLikelihoodFn {
  return async (requests) => {
    const batch = requestBatch(requests, model.config.maxPositions);
    const prev = model.dropout;
    model.dropout = null;
    let nll: Float32Array;
    try {
      nll = await batchTokenNll(model, batch); // (tokens) in row order
    } finally {
      model.dropout = prev;
    }
    const sums = requests.map(() => 0);
    let k = 0;
    requests.forEach((r, b) => {
      for (let t = r.start; t < r.ids.length; t++) sums[b] -= nll[k++]; // summed in float64
    });
    return sums;
  };
}

/** lm-eval-harness-style multiple-choice accuracy of the model (with its current adapter) on items. */
export function scoreMultipleChoice(model: LlamaModel, tok: McTokenizer, items: McItem[], opts: McOptions = {}): Promise<McResult> {
  return scoreItems(modelLogLikelihoods(model), tok, items, opts, model.config.maxPositions);
}
