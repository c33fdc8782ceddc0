/**
 * One embedding per prompt from the loaded base model, for the diversity map
 * and "pick N diverse".
 *
 * The embedding is the mean, over the prompt's tokens, of the decoder's last
 * hidden states after the final RMSNorm and before the LM head
 * (LlamaModel.hidden): the vectors the LM head reads, so two prompts are near
 * when the model "reads" them alike, and the norm keeps one loud token from
 * dominating the mean. Mean pooling of a decoder's states is the simple,
 * common baseline for sentence embeddings from an LM (e.g. Jiang et al. 2023,
 * "Scaling Sentence Embeddings with LLMs", compare mean and last-token
 * pooling); with a 260K-parameter model the picture is rough, not semantic.
 *
 * The prompt is the row's own text (instruction, input, system), BOS first,
 * without the training template: a template's scaffolding ("Instruction:" …
 * "Response:") is the same in every row and would pull every embedding
 * towards the same point. Prompts longer than `maxTokens` are cut.
 *
 * Batched: prompts are sorted by length and packed into batches of at most
 * `batchTokens` padded tokens, each right-padded to a multiple of 8 (fewer
 * distinct shapes, so fewer shader compilations). Attention is causal, so a
 * real token never sees the padding after it; padding rows are left out of
 * the mean, which is taken on the host from the downloaded (B, T, d) rows
 * (a GPU reduction over T costs more on SwiftShader than the copy does).
 * Identical prompts (same ids after the cut) are embedded once: instruction
 * sets repeat prompts a lot (149 distinct among TinyStories-instruct's 1,000).
 * The adapter is switched off for the forward: the map is of the base model.
 * With a `cache` (one per model: its entries are that model's embeddings),
 * prompts embedded before are not run again, so choosing again ("pick N
 * diverse" with another N, the in-context baseline's representatives) costs
 * no forward.
 */
import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../model';

export interface EmbedOptions {
  /** padded tokens per forward (B · T), default 4096 */
  batchTokens?: number;
  /** cut each prompt to this many tokens (default 256, and never past the model's context) */
  maxTokens?: number;
  /** called after each batch with prompts done so far */
  onProgress?: (done: number, total: number) => void;
  /** checked between batches; true stops with an error */
  cancelled?: () => boolean;
  /** embeddings by prompt (ids after the cut), read and filled; keep one per model */
  cache?: EmbeddingCache;
}

/** A model's prompt embeddings, keyed by the prompt's ids after the cut (embedKey). */
export type EmbeddingCache = Map<string, Float32Array>;

const embedKey = (ids: readonly number[]) => ids.join(',');

const PAD_MULTIPLE = 8;

/** The order and grouping of prompts into batches: index lists, each padded to one length. */
export function planBatches(lengths: readonly number[], batchTokens: number): { rows: number[]; T: number }[] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: { rows: number[]; T: number }[] = [];
  let cur: number[] = [];
  let T = 0;
  for (const i of order) {
    const t = Math.max(PAD_MULTIPLE, Math.ceil(lengths[i] / PAD_MULTIPLE) * PAD_MULTIPLE);
    if (cur.length > 0 && (cur.length + 1) * Math.max(T, t) > batchTokens) {
      batches.push({ rows: cur, T });
      cur = [];
      T = 0;
    }
    cur.push(i);
    T = Math.max(T, t);
  }
  if (cur.length > 0) batches.push({ rows: cur, T });
  return batches;
}

/** Mean final hidden state over each prompt's tokens: one Float32Array (d) per prompt, in input order. */
export async function embedPrompts(model: LlamaModel, prompts: readonly number[][], opts: EmbedOptions = {}): Promise<Float32Array[]> {
  const d = model.config.hiddenSize;
  const maxTokens = Math.min(opts.maxTokens ?? 256, model.config.maxPositions);
  // distinct prompts (after the cut), and which distinct prompt each input is
  const firstOf = new Map<string, number>();
  const ids: number[][] = [];
  const which = prompts.map((p, i) => {
    if (p.length === 0) throw new Error(`prompt ${i} has no tokens`);
    const cut = p.slice(0, maxTokens);
    const key = embedKey(cut);
    let u = firstOf.get(key);
    if (u === undefined) firstOf.set(key, (u = ids.length)), ids.push(cut);
    return u;
  });
  const unique = new Array<Float32Array>(ids.length);
  const todo: number[] = []; // distinct prompts the cache does not hold
  ids.forEach((p, u) => {
    const hit = opts.cache?.get(embedKey(p));
    if (hit && hit.length === d) unique[u] = hit;
    else todo.push(u);
  });
  const batches = planBatches(todo.map((u) => ids[u].length), Math.max(opts.batchTokens ?? 4096, maxTokens)).map((b) => ({ rows: b.rows.map((j) => todo[j]), T: b.T }));
  if (opts.cancelled?.()) throw new Error('embedding stopped'); // also when the cache holds every prompt
  const adapterWas = model.adapterEnabled;
  model.adapterEnabled = false;
  let done = 0;
  try {
    for (const { rows, T } of batches) {
      if (opts.cancelled?.()) throw new Error('embedding stopped');
      const B = rows.length;
      const grid = new Int32Array(B * T); // padding id 0 after each prompt: never seen by a real token (causal attention)
      rows.forEach((r, b) => grid.set(ids[r], b * T));
      const h = tf.tidy(() => model.hidden(tf.tensor2d(grid, [B, T], 'int32'))); // (B, T, d)
      const data = (await h.data()) as Float32Array;
      h.dispose();
      rows.forEach((r, b) => {
        const n = ids[r].length; // the mean over the prompt's own tokens; padding rows left out
        const sum = new Float64Array(d);
        for (let t = 0; t < n; t++) {
          const off = (b * T + t) * d;
          for (let j = 0; j < d; j++) sum[j] += data[off + j];
        }
        unique[r] = Float32Array.from(sum, (x) => x / n);
        opts.cache?.set(embedKey(ids[r]), unique[r]);
      });
      done += B;
      opts.onProgress?.(Math.min(prompts.length, Math.round((done / todo.length) * prompts.length)), prompts.length);
    }
  } finally {
    model.adapterEnabled = adapterWas;
  }
  if (todo.length === 0) opts.onProgress?.(prompts.length, prompts.length);
  return which.map((u) => unique[u].slice());
}
