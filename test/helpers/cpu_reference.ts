/**
 * A plain CPU Llama/Qwen2 forward in float64 JavaScript: the same math as
 * src/engine/model.ts written independently and naively (loops, no tfjs), to
 * check the GPU path on random checkpoints (tiny ones, and the real shapes of
 * test/helpers/real_checkpoints.ts). Weights are read in place (f32 values are
 * exact in float64 arithmetic), so a 151936 x 896 embedding costs no copy.
 */
import type { ModelConfig } from '../../src/engine/config';
import type { WeightMap } from '../../src/engine/io/weights';

type Mat = { rows: number; cols: number; data: Float32Array | Float64Array };

function mat(w: WeightMap, name: string): Mat {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
  return { rows, cols, data: t.data };
}

/** y = W x (+ b) for W (out, in) */
function matvec(W: Mat, x: Float64Array, b?: Mat): Float64Array {
  const y = new Float64Array(W.rows);
  for (let o = 0; o < W.rows; o++) {
    let s = b ? b.data[o] : 0;
    for (let i = 0; i < W.cols; i++) s += W.data[o * W.cols + i] * x[i];
    y[o] = s;
  }
  return y;
}

function rmsnorm(x: Float64Array, w: Mat, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * w.data[i]);
}

/** rotate-half RoPE on one head vector at position p */
function rope(v: Float64Array, p: number, theta: number): Float64Array {
  const D = v.length;
  const h = D / 2;
  const out = new Float64Array(D);
  for (let j = 0; j < h; j++) {
    const a = p / Math.pow(theta, (2 * j) / D);
    const c = Math.cos(a);
    const s = Math.sin(a);
    out[j] = v[j] * c - v[j + h] * s;
    out[j + h] = v[j + h] * c + v[j] * s;
  }
  return out;
}

/** Logits (T, V) of a token sequence. */
export function referenceLogits(c: ModelConfig, w: WeightMap, ids: number[]): Float64Array[] {
  return referenceForward(c, w, ids).logits;
}

/**
 * The final-normed hidden states (T rows of d) of a token sequence, and the
 * logits of the rows in `positions` (default: every row, in order); pick a few
 * at a real vocabulary, where the LM head dominates the cost.
 */
export function referenceForward(c: ModelConfig, w: WeightMap, ids: number[], positions?: number[]): { hidden: Float64Array[]; logits: Float64Array[] } {
  const { hiddenSize: d, numHeads: H, numKvHeads: Hkv, headDim: D } = c;
  const emb = mat(w, 'model.embed_tokens.weight');
  const head = c.tieWordEmbeddings ? emb : mat(w, 'lm_head.weight');
  const T = ids.length;
  let xs: Float64Array[] = ids.map((id) => Float64Array.from(emb.data.subarray(id * d, (id + 1) * d)));
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const opt = (n: string) => (w.has(n) ? mat(w, n) : undefined);
    const Wq = mat(w, `${p}.self_attn.q_proj.weight`);
    const Wk = mat(w, `${p}.self_attn.k_proj.weight`);
    const Wv = mat(w, `${p}.self_attn.v_proj.weight`);
    const Wo = mat(w, `${p}.self_attn.o_proj.weight`);
    const bq = opt(`${p}.self_attn.q_proj.bias`);
    const bk = opt(`${p}.self_attn.k_proj.bias`);
    const bv = opt(`${p}.self_attn.v_proj.bias`);
    const attnNorm = mat(w, `${p}.input_layernorm.weight`);
    const mlpNorm = mat(w, `${p}.post_attention_layernorm.weight`);
    const Wgate = mat(w, `${p}.mlp.gate_proj.weight`);
    const Wup = mat(w, `${p}.mlp.up_proj.weight`);
    const Wdown = mat(w, `${p}.mlp.down_proj.weight`);
    const qs: Float64Array[][] = [];
    const ks: Float64Array[][] = [];
    const vs: Float64Array[][] = [];
    for (let t = 0; t < T; t++) {
      const h = rmsnorm(xs[t], attnNorm, c.rmsNormEps);
      const q = matvec(Wq, h, bq);
      const k = matvec(Wk, h, bk);
      const v = matvec(Wv, h, bv);
      qs.push(Array.from({ length: H }, (_, i) => rope(q.slice(i * D, (i + 1) * D), t, c.ropeTheta)));
      ks.push(Array.from({ length: Hkv }, (_, i) => rope(k.slice(i * D, (i + 1) * D), t, c.ropeTheta)));
      vs.push(Array.from({ length: Hkv }, (_, i) => v.slice(i * D, (i + 1) * D)));
    }
    const next: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const att = new Float64Array(H * D);
      for (let hh = 0; hh < H; hh++) {
        const kv = Math.floor(hh / (H / Hkv));
        const scores = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let j = 0; j < D; j++) dot += qs[t][hh][j] * ks[s][kv][j];
          scores.push(dot / Math.sqrt(D));
        }
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) for (let j = 0; j < D; j++) att[hh * D + j] += (e[s] / z) * vs[s][kv][j];
      }
      const o = matvec(Wo, att);
      const x = xs[t].map((v, i) => v + o[i]);
      const m = rmsnorm(x, mlpNorm, c.rmsNormEps);
      const g = matvec(Wgate, m);
      const u = matvec(Wup, m);
      const act = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]);
      const down = matvec(Wdown, act);
      next.push(x.map((v, i) => v + down[i]));
    }
    xs = next;
  }
  const fn = mat(w, 'model.norm.weight');
  const hidden = xs.map((x) => rmsnorm(x, fn, c.rmsNormEps));
  return { hidden, logits: (positions ?? hidden.map((_, t) => t)).map((t) => matvec(head, hidden[t])) };
}
