/**
 * What tuning changed, token by token: the token distribution shift analysis
 * of URIAL (Lin et al., "The Unlocking Spell on Base LLMs: Rethinking
 * Alignment via In-Context Learning", 2023, §2).
 *
 * Take an answer the tuned model wrote (greedy, from its prompt). At each
 * answer position t, both models see the same context (prompt + answer[0..t));
 * ask where the *base* model ranks the token the tuned model chose:
 *   rank 1      unshifted (the base model would have said it too)
 *   rank 2–3    marginal
 *   rank > 3    shifted
 * URIAL found most positions unshifted, the shifted ones mostly stylistic
 * (discourse markers, politeness, format) and early in the answer.
 *
 * Both models run in ONE forward on the same resident weights: the sequence
 * twice as a batch of 2, row 0 with the adapter's LoRA term scaled by 0 (the
 * base model) and row 1 by 1 (ForwardOptions.loraScales). Everything per
 * token is computed on the GPU and only the small results are read back:
 *   base_rank  1 + #{v : log p_base(v) > log p_base(chosen)}
 *   p_base, p_tuned  the chosen token's probabilities
 *   kl         KL(p_tuned ‖ p_base) = Σ_v p_tuned(v) (log p_tuned(v) − log p_base(v))
 *   base_top   the base model's top-3 tokens with their probabilities
 * Positions are taken in chunks so a 150k vocabulary costs (chunk, V) floats
 * at a time, not (answer length, V).
 */
import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../model';

export type ShiftClass = 'unshifted' | 'marginal' | 'shifted';

/** URIAL's classes by the base model's rank of the chosen token. */
export function shiftClass(baseRank: number): ShiftClass {
  return baseRank <= 1 ? 'unshifted' : baseRank <= 3 ? 'marginal' : 'shifted';
}

export interface ShiftToken {
  /** the answer token the tuned model chose */
  id: number;
  /** 1 = the base model's top choice */
  baseRank: number;
  pBase: number;
  pTuned: number;
  /** KL(p_tuned ‖ p_base) of the two next-token distributions at this position, in nats */
  kl: number;
  /** the base model's most likely tokens here, best first */
  baseTop: { id: number; p: number }[];
}

export interface ShiftOptions {
  /** how many of the base model's alternatives to keep per position (default 3) */
  topK?: number;
  /** positions per chunk of logits (default: as many as keep a chunk near 16 MB) */
  chunk?: number;
}

/**
 * Per-token shift of `answerIds` after `promptIds` between the model with its
 * adapter off (base) and on (tuned). The model must carry an adapter.
 */
export async function tokenShift(model: LlamaModel, promptIds: number[], answerIds: number[], opts: ShiftOptions = {}): Promise<ShiftToken[]> {
  if (!model.adapter) throw new Error('tokenShift: the model has no adapter (base and tuned would be the same model)');
  if (promptIds.length === 0) throw new Error('tokenShift: empty prompt (a prompt needs at least BOS)');
  if (answerIds.length === 0) return [];
  const P = promptIds.length;
  const A = answerIds.length;
  const T = P + A - 1; // the last answer token is predicted, never fed
  if (T > model.config.maxPositions) throw new Error(`tokenShift: prompt and answer are ${T + 1} tokens; the model's context is ${model.config.maxPositions}`);
  const V = model.config.vocabSize;
  const K = Math.min(opts.topK ?? 3, V);
  const chunk = Math.max(1, opts.chunk ?? Math.floor((16 * 2 ** 20) / (4 * 2 * V)));
  const seq = [...promptIds, ...answerIds].slice(0, T);
  const enabled = model.adapterEnabled;
  model.adapterEnabled = true;
  let hidden: tf.Tensor3D;
  try {
    const ids = tf.tensor2d([seq, seq], [2, T], 'int32');
    hidden = model.hidden(ids, { loraScales: [0, 1] }); // (2, T, d): row 0 base, row 1 tuned
    ids.dispose();
  } finally {
    model.adapterEnabled = enabled;
  }
  const d = hidden.shape[2];
  const out: ShiftToken[] = [];
  try {
    for (let a0 = 0; a0 < A; a0 += chunk) {
      const n = Math.min(chunk, A - a0);
      // answer token a0+i is predicted at position P-1+a0+i
      const [rank, pBase, pTuned, kl, topP, topI] = tf.tidy(() => {
        const rows = (r: number) => hidden.slice([r, P - 1 + a0, 0], [1, n, d]).reshape([n, d]) as tf.Tensor2D;
        const lpBase = tf.logSoftmax(model.logitsOf(rows(0))); // (n, V)
        const lpTuned = tf.logSoftmax(model.logitsOf(rows(1)));
        const chosen = tf.oneHot(tf.tensor1d(answerIds.slice(a0, a0 + n), 'int32'), V).toFloat(); // (n, V)
        const lbChosen = lpBase.mul(chosen).sum(1, true); // (n, 1)
        const ltChosen = lpTuned.mul(chosen).sum(1, true);
        const rank = lpBase.greater(lbChosen).toFloat().sum(1).add(1);
        const kl = lpTuned.exp().mul(lpTuned.sub(lpBase)).sum(1);
        const top = tf.topk(lpBase, K);
        return [rank, lbChosen.exp().reshape([n]), ltChosen.exp().reshape([n]), kl, top.values.exp(), top.indices];
      });
      const [r, pb, pt, k, tp, ti] = await Promise.all([rank, pBase, pTuned, kl, topP, topI].map((t) => t.data()));
      tf.dispose([rank, pBase, pTuned, kl, topP, topI]);
      for (let i = 0; i < n; i++) {
        out.push({
          id: answerIds[a0 + i],
          baseRank: r[i],
          pBase: pb[i],
          pTuned: pt[i],
          kl: Math.max(0, k[i]), // ≥ 0 in exact arithmetic; f32 rounding can give −1e-8
          baseTop: Array.from({ length: K }, (_, j) => ({ id: ti[i * K + j], p: tp[i * K + j] })),
        });
      }
    }
  } finally {
    hidden.dispose();
  }
  return out;
}

export interface ShiftSummary {
  n: number;
  /** shares of the positions in each class (0 when there are none) */
  unshifted: number;
  marginal: number;
  shifted: number;
  /** mean position (0-based) of the shifted tokens in the answer, and of all tokens, to show "early" */
  meanShiftedPosition: number | null;
  meanPosition: number | null;
}

export function summarizeShift(tokens: ShiftToken[]): ShiftSummary {
  const n = tokens.length;
  const count = { unshifted: 0, marginal: 0, shifted: 0 };
  let shiftedPos = 0;
  tokens.forEach((t, i) => {
    const c = shiftClass(t.baseRank);
    count[c]++;
    if (c === 'shifted') shiftedPos += i;
  });
  const share = (k: number) => (n ? k / n : 0);
  return {
    n,
    unshifted: share(count.unshifted),
    marginal: share(count.marginal),
    shifted: share(count.shifted),
    meanShiftedPosition: count.shifted ? shiftedPos / count.shifted : null,
    meanPosition: n ? (n - 1) / 2 : null,
  };
}

/** The most often shifted token texts over many answers, most frequent first (ties by text). */
export function topShifted(answers: { tokens: ShiftToken[]; texts: string[] }[], limit = 20): { text: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const a of answers)
    a.tokens.forEach((t, i) => {
      if (shiftClass(t.baseRank) !== 'shifted') return;
      const text = a.texts[i];
      counts.set(text, (counts.get(text) ?? 0) + 1);
    });
  return [...counts]
    .map(([text, count]) => ({ text, count }))
    .sort((x, y) => y.count - x.count || (x.text < y.text ? -1 : x.text > y.text ? 1 : 0))
    .slice(0, limit);
}
