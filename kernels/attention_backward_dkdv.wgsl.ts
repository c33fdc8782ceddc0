/**
 * attention_backward_dkdv — dK and dV of causal GQA attention by recomputation
 * (FlashAttention-2, Algorithm 2, the outer loop over key tiles).
 *
 * For a key j of kv head kvh, summing over the g = H/Hkv query heads that
 * read it and over every query t that sees it:
 *   P[t,j]  = exp(scale·q_t·k_j − L[t])              (0 where masked)
 *   dV[j]   = Σ_t P[t,j] · dO[t]
 *   dS[t,j] = P[t,j] · (dO[t]·v_j − delta[t])
 *   dK[j]   = scale · Σ_t dS[t,j] · q_t
 * Because one workgroup owns a key tile for all g query heads, no atomics are
 * needed and no (T×S) tensor exists anywhere.
 *
 * Shapes (row-major f32): q, dy (B, H, T, D); k, v (B, Hkv, S, D);
 *   stats (B·H·T, 2) = (L, delta) from attention_backward_prep; seg (B, T) i32;
 *   out (2·B·Hkv·S·D) flat: dK (B, Hkv, S, D) then dV (B, Hkv, S, D).
 *
 * Work mapping: one workgroup per (tile of 16 keys, kvh, b); 64 threads =
 * 16 keys × 4 threads per key. Each thread holds its key's k (pre-scaled) and
 * v rows in registers and accumulates D/4 columns of dK and dV. Per query
 * tile of BQ rows (16 for D <= 64, 8 for D = 128 so that Q and dO tiles fit
 * in 8 KB of workgroup memory) the workgroup stages q and dO; each thread
 * computes BQ/4 entries of P and dS into shared tiles; then every thread
 * of a key reads the key's whole P/dS row for its dV/dK columns. Query tiles
 * that end before the tile's first key are skipped (causal).
 */
export interface DkdvConfig {
  D: number;
  BQ: number;
  hasSeg: boolean;
  hasOffset: boolean; // query positions start at qoff[0] instead of S - T
}
export const DKDV_BK = 16;
export const DKDV_THREADS = 64;

export function attentionBackwardDkdvWgsl({ D, BQ, hasSeg, hasOffset }: DkdvConfig): string {
  return /* wgsl */ `
const D = ${D};
const BK = ${DKDV_BK};
const BQ = ${BQ};
const TPK = 4;              // threads per key
const NQ = ${BQ / 4};       // P/dS entries per thread per query tile
const NC = ${D / 4};        // dK/dV columns per thread
const NTHREADS = ${DKDV_THREADS};

var<workgroup> Qs : array<f32, ${BQ * D}>;
var<workgroup> dOs : array<f32, ${BQ * D}>;
var<workgroup> Ps : array<f32, ${DKDV_BK * BQ}>;
var<workgroup> dSs : array<f32, ${DKDV_BK * BQ}>;
var<workgroup> Ls : array<f32, ${BQ}>;
var<workgroup> deltas : array<f32, ${BQ}>;
var<workgroup> loopStart : i32;

fn main(index : i32) {
  let tid = i32(localId.x);
  let jr = tid / TPK;
  let c = tid % TPK;
  let b = i32(workgroupId.z);
  let kvh = i32(workgroupId.y);
  let B = uniforms.B;
  let T = uniforms.T;
  let S = uniforms.S;
  let H = uniforms.H;
  let Hkv = uniforms.Hkv;
  let g = H / Hkv;
  let off = ${hasOffset ? 'qoff[0]' : 'S - T'};
  let j0 = i32(workgroupId.x) * BK;
  let j = j0 + jr;
  let keyOk = j < S;
  let kvRow = (b * Hkv + kvh) * S + j;

  var kreg : array<f32, D>;
  var vreg : array<f32, D>;
  if (keyOk) {
    for (var d = 0; d < D; d++) {
      kreg[d] = k[kvRow * D + d] * uniforms.scale;
      vreg[d] = v[kvRow * D + d];
    }
  }
  var segK = 1;
  ${hasSeg ? 'if (keyOk) { segK = seg[b * T + j]; }' : ''}

  var dk : array<f32, NC>;
  var dv : array<f32, NC>;

  // first query that sees key j0 is t = j0 - off
  if (tid == 0) { loopStart = (max(0, j0 - off) / BQ) * BQ; }
  let tStart = workgroupUniformLoad(&loopStart);

  for (var gi = 0; gi < g; gi++) {
    let h = kvh * g + gi;
    let rowBase = (b * H + h) * T;
    for (var t0 = tStart; t0 < T; t0 += BQ) {
      for (var e = tid; e < BQ * D; e += NTHREADS) {
        let t = t0 + e / D;
        var qv = 0.0;
        var ov = 0.0;
        if (t < T) {
          let gidx = (rowBase + t) * D + e % D;
          qv = q[gidx];
          ov = dy[gidx];
        }
        Qs[e] = qv;
        dOs[e] = ov;
      }
      if (tid < BQ) {
        let t = t0 + tid;
        var lv = 0.0;
        var dl = 0.0;
        if (t < T) {
          lv = stats[(rowBase + t) * 2];
          dl = stats[(rowBase + t) * 2 + 1];
        }
        Ls[tid] = lv;
        deltas[tid] = dl;
      }
      workgroupBarrier();

      for (var ii = 0; ii < NQ; ii++) {
        let i = c + ii * TPK;
        let t = t0 + i;
        var allowed = keyOk && t < T && j <= off + t;
        ${hasSeg ? 'if (allowed) { allowed = segK != 0 && seg[b * T + t] == segK; }' : ''}
        var p = 0.0;
        var ds = 0.0;
        if (allowed) {
          var s = 0.0;
          var dp = 0.0;
          for (var d = 0; d < D; d++) {
            s += kreg[d] * Qs[i * D + d];
            dp += vreg[d] * dOs[i * D + d];
          }
          p = exp(s - Ls[i]);
          ds = p * (dp - deltas[i]);
        }
        Ps[jr * BQ + i] = p;
        dSs[jr * BQ + i] = ds;
      }
      workgroupBarrier();

      for (var i = 0; i < BQ; i++) {
        let p = Ps[jr * BQ + i];
        let ds = dSs[jr * BQ + i];
        for (var n = 0; n < NC; n++) {
          let col = i * D + c + n * TPK;
          dv[n] += p * dOs[col];
          dk[n] += ds * Qs[col];
        }
      }
      workgroupBarrier();
    }
  }

  if (keyOk) {
    let dvOffset = B * Hkv * S * D;
    for (var n = 0; n < NC; n++) {
      let idx = kvRow * D + c + n * TPK;
      result[idx] = dk[n] * uniforms.scale;
      result[dvOffset + idx] = dv[n];
    }
  }
}
`;
}
