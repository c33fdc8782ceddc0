/**
 * attention_forward — causal GQA attention, FlashAttention-2 forward.
 *
 * Computes, for every batch b, query head h and query row t,
 *   O[b,h,t,:] = softmax_j( q_t·k_j / sqrt(D) + mask(t, j) ) · V[b,kvh,j,:]
 *   L[b,h,t]   = logsumexp_j( q_t·k_j / sqrt(D) + mask(t, j) )   (saved for backward)
 * with kvh = h / (H / Hkv) (GQA), the query at absolute position S - T + t,
 * (or qoff[0] + t when a query offset is given: decoding against a
 * fixed-capacity KV cache), and mask(t, j) allowing j <= that position and, with segment ids (S == T),
 * seg[t] == seg[j] != 0. Rows with no allowed key (padding, seg[t] == 0) get
 * O = 0 and L = 0.
 *
 * Shapes and layout (all row-major float32, contiguous):
 *   q   (B, H, T, D)      k, v (B, Hkv, S, D)      seg (B, T) int32, optional
 *   qoff (1) int32, optional: absolute position of query 0
 *   out (B·H·T·D + B·H·T) flat: O (B, H, T, D) followed by L (B, H, T)
 *
 * Work mapping: one workgroup per (tile of BR = 16 query rows, h, b);
 * 64 threads = 16 rows × 4 threads per row. Each thread keeps its row's
 * pre-scaled q (D floats) in registers and accumulates D/4 output columns
 * (d = c, c+4, ...). Per key tile of BC keys the workgroup stages K and V in
 * workgroup memory (2·BC·D floats: 8 KB at BC·D = 1024), each thread scores
 * BC/4 keys into the shared score tile, then every thread of a row reads the
 * whole score row for the online-softmax update and its P·V columns.
 * Key tiles past the tile's last visible key are never visited (causal skip).
 *
 * Numerics: online softmax (running max m, running sum l, rescale acc by
 * exp(m_old - m_new)); masked scores are held as -1e30 and contribute exactly
 * 0. All in f32; no f16 or subgroups needed.
 */
export interface AttentionForwardConfig {
  D: number; // head dim (compile-time)
  BC: number; // keys per tile
  hasSeg: boolean;
  hasOffset: boolean; // query positions start at qoff[0] instead of S - T
}

export const FWD_BR = 16;
export const FWD_THREADS = 64;

export function attentionForwardWgsl({ D, BC, hasSeg, hasOffset }: AttentionForwardConfig): string {
  return /* wgsl */ `
const D = ${D};
const BR = ${FWD_BR};
const BC = ${BC};
const TPR = 4;             // threads per query row
const NS = ${BC / 4};      // scores per thread per tile
const NC = ${D / 4};       // output columns per thread
const NTHREADS = ${FWD_THREADS};
const MASKED = -1e30;

var<workgroup> Ks : array<f32, ${BC * D}>;
var<workgroup> Vs : array<f32, ${BC * D}>;
var<workgroup> Ss : array<f32, ${FWD_BR * BC}>;
var<workgroup> loopEnd : i32;   // workgroupId is not uniform to WGSL's analysis

${'fn main(index : i32)'} {
  let tid = i32(localId.x);
  let r = tid / TPR;
  let c = tid % TPR;
  let b = i32(workgroupId.z);
  let h = i32(workgroupId.y);
  let T = uniforms.T;
  let S = uniforms.S;
  let H = uniforms.H;
  let Hkv = uniforms.Hkv;
  let kvh = h / (H / Hkv);
  let t0 = i32(workgroupId.x) * BR;
  let t = t0 + r;
  let rowOk = t < T;
  let off = ${hasOffset ? 'qoff[0]' : 'S - T'};
  let pos = off + t;              // absolute position of this query
  let kBase = (b * Hkv + kvh) * S * D;

  var qreg : array<f32, D>;
  if (rowOk) {
    let qBase = ((b * H + h) * T + t) * D;
    for (var d = 0; d < D; d++) { qreg[d] = q[qBase + d] * uniforms.scale; }
  }
  var segQ = 1;
  ${hasSeg ? 'if (rowOk) { segQ = seg[b * T + t]; }' : ''}

  var m = MASKED;
  var l = 0.0;
  var acc : array<f32, NC>;
  for (var n = 0; n < NC; n++) { acc[n] = 0.0; }

  if (tid == 0) { loopEnd = min(S, off + min(t0 + BR, T)); }
  let kEnd = workgroupUniformLoad(&loopEnd);   // keys [0, kEnd) are visible to some row
  for (var k0 = 0; k0 < kEnd; k0 += BC) {
    for (var e = tid; e < BC * D; e += NTHREADS) {
      let j = k0 + e / D;
      var kv = 0.0;
      var vv = 0.0;
      if (j < S) {
        let g = kBase + j * D + e % D;
        kv = k[g];
        vv = v[g];
      }
      Ks[e] = kv;
      Vs[e] = vv;
    }
    workgroupBarrier();

    for (var jj = 0; jj < NS; jj++) {
      let jl = c + jj * TPR;
      let j = k0 + jl;
      var allowed = rowOk && j <= pos;
      ${hasSeg ? 'if (allowed) { let sk = seg[b * T + j]; allowed = sk == segQ && sk != 0; }' : ''}
      var s = MASKED;
      if (allowed) {
        s = 0.0;
        for (var d = 0; d < D; d++) { s += qreg[d] * Ks[jl * D + d]; }
      }
      Ss[r * BC + jl] = s;
    }
    workgroupBarrier();

    var mNew = m;
    for (var j = 0; j < BC; j++) { mNew = max(mNew, Ss[r * BC + j]); }
    let alpha = exp(m - mNew);
    l = l * alpha;
    for (var n = 0; n < NC; n++) { acc[n] = acc[n] * alpha; }
    for (var j = 0; j < BC; j++) {
      let s = Ss[r * BC + j];
      if (s > -1e29) {
        let p = exp(s - mNew);
        l += p;
        for (var n = 0; n < NC; n++) { acc[n] += p * Vs[j * D + c + n * TPR]; }
      }
    }
    m = mNew;
    workgroupBarrier();
  }

  if (rowOk) {
    let row = (b * H + h) * T + t;
    var inv = 0.0;
    if (l > 0.0) { inv = 1.0 / l; }
    for (var n = 0; n < NC; n++) { result[row * D + c + n * TPR] = acc[n] * inv; }
    if (c == 0) {
      var lse = 0.0;
      if (l > 0.0) { lse = m + log(l); }
      result[uniforms.B * H * T * D + row] = lse;
    }
  }
}
`;
}
