/**
 * Cross-entropy over the vocabulary without ever holding the full (N, V)
 * logits: the LM-head matmul, logsumexp and its gradient run over row chunks.
 *
 *   h (N, d)        hidden rows, already final-normed and filtered to rows with a label
 *   w (V, d)        lm_head (or tied embedding), frozen: no gradient flows to it
 *   targets (N)     int32 token ids
 *   loss            Σ_n [ logsumexp_v(h_n·w_v) − h_n·w_{t_n} ]   (a SUM: the trainer
 *                   divides by the token count across gradient accumulation)
 *
 * forward:  per chunk of rows, logits = h_c·wᵀ (rows, V) and a max-shifted
 *           logsumexp; only lse (N) is kept. The target logit is h_n·w_{t_n},
 *           a row-wise dot with gathered rows of w (N, d): no one-hot over V.
 * backward: per chunk, recompute logits, p = exp(logits − lse) = softmax, and
 *           dh_c = dy·(p·w − w_{t}): the −onehot term of dlogits times w is just
 *           the gathered target rows, so again no one-hot.
 * Saved for backward: h (the caller holds it anyway) and lse (N). Nothing of
 * size N×V survives between forward and backward; the transient peak is about
 * two chunk-sized (rows, V) tensors (logits and one elementwise temporary),
 * which is why the chunk is sized from a float budget (Qwen2.5: V = 151,936,
 * so the default budget gives ~110 rows per chunk).
 *
 * The stable logsumexp follows the usual max-shift: lse = m + log Σ exp(l − m).
 */
import * as tf from '@tensorflow/tfjs';
import { frozenF32, frozenShape, isPacked, type Frozen } from '../frozen';
import { embeddingRows, logitsFor, timesFrozen } from '../ops/frozen_matmul';

/**
 * Floats in one (rows, V) logits chunk: 16M floats = 64 MB. Peak transient
 * use is about twice that (logits plus one elementwise temporary).
 */
export const LOGITS_CHUNK_FLOATS = 16 * 1024 * 1024;

/** Rows per chunk so that rows × V stays within the budget (at least 1, at most N). */
export function defaultChunkRows(n: number, vocab: number, budgetFloats = LOGITS_CHUNK_FLOATS): number {
  return Math.max(1, Math.min(n, Math.floor(budgetFloats / vocab)));
}

function checkArgs(op: string, h: tf.Tensor2D, w: Frozen, targets: tf.Tensor1D): void {
  const ws = frozenShape(w);
  if (h.rank !== 2 || ws.length !== 2 || targets.rank !== 1) {
    throw new Error(`${op}: want h (N, d), w (V, d), targets (N); got ${h.shape}, ${ws}, ${targets.shape}`);
  }
  if (h.shape[1] !== ws[1] || targets.shape[0] !== h.shape[0]) {
    throw new Error(`${op}: h ${h.shape}, w ${ws}, targets ${targets.shape} do not agree`);
  }
  if (h.dtype !== 'float32' || (!isPacked(w) && w.dtype !== 'float32')) throw new Error(`${op}: h and w must be float32 (or w packed 16-bit)`);
  if (targets.dtype !== 'int32') throw new Error(`${op}: targets must be int32, got ${targets.dtype}`);
}

/** Row ranges [start, rows] covering n rows in pieces of at most chunkRows. */
function chunks(n: number, chunkRows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r0 = 0; r0 < n; r0 += chunkRows) out.push([r0, Math.min(chunkRows, n - r0)]);
  return out;
}

/**
 * (rows, V) logits of one chunk minus a per-row shift, disposing the raw
 * logits as soon as the shifted copy exists so only two (rows, V) tensors are
 * ever alive at once. shift: (rows, 1), or null to subtract the row max.
 */
function shiftedLogits(hc: tf.Tensor2D, w: Frozen, shift: tf.Tensor2D | null): { s: tf.Tensor2D; m: tf.Tensor2D } {
  const logits = logitsFor(hc, w); // (rows, V)
  const m = shift ?? (tf.max(logits, 1, true) as tf.Tensor2D); // (rows, 1)
  const s = tf.sub(logits, m) as tf.Tensor2D; // (rows, V)
  logits.dispose();
  return { s, m };
}

/** Forward: the loss sum (scalar) and lse (N), chunk by chunk. No gradient tape. */
export function crossEntropyForward(h: tf.Tensor2D, w: Frozen, targets: tf.Tensor1D, chunkRows?: number): { value: tf.Scalar; lse: tf.Tensor1D } {
  checkArgs('chunkedCrossEntropy', h, w, targets);
  const [n] = h.shape;
  if (n === 0) return { value: tf.scalar(0), lse: tf.zeros([0]) as tf.Tensor1D };
  const pieces = chunks(n, chunkRowsFor(n, w, chunkRows));
  // lse (N): per chunk, m + log Σ exp(logits − m); the (rows, V) tensors die in the tidy.
  const lseParts = pieces.map(([r0, r]) =>
    tf.tidy(() => {
      const hc = tf.slice(h, [r0, 0], [r, -1]) as tf.Tensor2D; // (rows, d)
      const { s, m } = shiftedLogits(hc, w, null);
      const e = tf.exp(s); // (rows, V)
      s.dispose();
      return tf.add(tf.log(tf.sum(e, 1)), tf.reshape(m, [r])) as tf.Tensor1D; // (rows)
    }),
  );
  const lse = (lseParts.length === 1 ? lseParts[0] : tf.concat(lseParts)) as tf.Tensor1D; // (N)
  if (lseParts.length > 1) tf.dispose(lseParts);
  const value = tf.tidy(() => {
    const targetLogit = tf.sum(tf.mul(h, embeddingRows(w, targets)), 1); // (N): h_n·w_{t_n}
    return tf.sum(tf.sub(lse, targetLogit)) as tf.Scalar;
  });
  return { value, lse };
}

/** Backward: dloss/dh (N, d) = dy·(softmax·w − w_t), chunk by chunk, from the forward's lse. */
export function crossEntropyBackward(h: tf.Tensor2D, w: Frozen, targets: tf.Tensor1D, lse: tf.Tensor1D, dy: tf.Tensor | number = 1, chunkRows?: number): tf.Tensor2D {
  const [n] = h.shape;
  if (n === 0) return tf.zerosLike(h);
  const pieces = chunks(n, chunkRowsFor(n, w, chunkRows));
  const dhParts = pieces.map(([r0, r]) =>
    tf.tidy(() => {
      const hc = tf.slice(h, [r0, 0], [r, -1]) as tf.Tensor2D; // (rows, d)
      const lc = tf.reshape(tf.slice(lse, [r0], [r]), [r, 1]) as tf.Tensor2D; // (rows, 1)
      const { s } = shiftedLogits(hc, w, lc);
      const p = tf.exp(s) as tf.Tensor2D; // (rows, V) softmax
      s.dispose();
      const pw = timesFrozen(p, w); // (rows, d)
      p.dispose();
      const wt = embeddingRows(w, tf.slice(targets, [r0], [r]) as tf.Tensor1D); // (rows, d): onehot·w
      return tf.sub(pw, wt) as tf.Tensor2D;
    }),
  );
  return tf.tidy(() => {
    const dh = pieces.length === 1 ? dhParts[0] : tf.concat(dhParts); // (N, d)
    return dy === 1 ? dh : (tf.mul(dh, dy) as tf.Tensor2D);
  });
}

function chunkRowsFor(n: number, w: Frozen, chunkRows?: number): number {
  const rows = chunkRows ?? defaultChunkRows(n, frozenShape(w)[0]);
  if (!(Number.isInteger(rows) && rows >= 1)) throw new Error(`chunkedCrossEntropy: chunkRows ${chunkRows} must be a positive integer`);
  return rows;
}

/** Σ_n (logsumexp_v(h_n·w_v) − h_n·w_{t_n}) with a custom, chunked gradient for h only. */
export function chunkedCrossEntropy(
  h: tf.Tensor2D,
  w: Frozen,
  targets: tf.Tensor1D,
  chunkRows?: number,
): tf.Scalar {
  checkArgs('chunkedCrossEntropy', h, w, targets);
  chunkRowsFor(h.shape[0], w, chunkRows);
  const op = tf.customGrad((hh, save) => {
    const hx = hh as tf.Tensor2D;
    const { value, lse } = crossEntropyForward(hx, w, targets, chunkRows);
    // targets are saved too: a caller may create them inside the differentiated
    // function (tf.variableGrads tidies that away before backward runs)
    (save as tf.GradSaveFunc)([hx, lse, targets]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sh, slse, st] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        return [crossEntropyBackward(sh, w, st, slse, dy as tf.Tensor, chunkRows)];
      },
    };
  });
  return op(h) as tf.Scalar;
}

/** Plain tfjs: Σ_n −logSoftmax(h·wᵀ)[n, t_n] with full (N, V) logits. For tests. */
export function crossEntropyReference(h: tf.Tensor2D, w: Frozen, targets: tf.Tensor1D): tf.Scalar {
  checkArgs('crossEntropyReference', h, w, targets);
  return tf.tidy(() => {
    const logp = tf.logSoftmax(tf.matMul(h, frozenF32(w), false, true)); // (N, V)
    const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, frozenShape(w)[0])), 1); // (N)
    return tf.neg(tf.sum(picked)) as tf.Scalar;
  });
}
