/**
 * attention_backward_dq — dQ of causal GQA attention by recomputation
 * (FlashAttention-2, Algorithm 2, the loop over key tiles per query tile).
 *
 *   P[t,j]  = exp(scale·q_t·k_j − L[t])        (0 where masked)
 *   dS[t,j] = P[t,j] · (dO[t]·v_j − delta[t])
 *   dQ[t]   = scale · Σ_j dS[t,j] · k_j
 *
 * Shapes (row-major f32): q, dy, out (B, H, T, D); k, v (B, Hkv, S, D);
 *   stats (B·H·T, 2) = (L, delta); seg (B, T) i32 optional.
 *
 * Work mapping: as attention_forward — one workgroup per (16 query rows, h, b),
 * 64 threads = 16 rows × 4 threads per row; each thread holds its row's
 * pre-scaled q and dO in registers and accumulates D/4 columns of dQ. Per key
 * tile (BC = 16 keys, 8 at D = 128) K and V are staged in workgroup memory,
 * each thread computes BC/4 entries of dS into a shared tile, then reads its
 * row of dS for its dQ columns. Key tiles past the last visible key are skipped.
 */
export interface DqConfig {
  D: number;
  BC: number;
  hasSeg: boolean;
  hasOffset: boolean; // query positions start at qoff[0] instead of S - T
}
export const DQ_BR = 16;
export const DQ_THREADS = 64;

export function attentionBackwardDqWgsl({ D, BC, hasSeg, hasOffset }: DqConfig): string {
  return /* wgsl */ `
const D = ${D};
const BR = ${DQ_BR};
const BC = ${BC};
const TPR = 4;
const NS = ${BC / 4};
const NC = ${D / 4};
const NTHREADS = ${DQ_THREADS};

var<workgroup> Ks : array<f32, ${BC * D}>;
var<workgroup> Vs : array<f32, ${BC * D}>;
var<workgroup> dSs : array<f32, ${DQ_BR * BC}>;
var<workgroup> loopEnd : i32;

fn main(index : i32) {
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
  let pos = off + t;
  let row = (b * H + h) * T + t;
  let kBase = (b * Hkv + kvh) * S * D;

  var qreg : array<f32, D>;
  var doreg : array<f32, D>;
  var lse = 0.0;
  var delta = 0.0;
  if (rowOk) {
    for (var d = 0; d < D; d++) {
      qreg[d] = q[row * D + d] * uniforms.scale;
      doreg[d] = dy[row * D + d];
    }
    lse = stats[row * 2];
    delta = stats[row * 2 + 1];
  }
  var segQ = 1;
  ${hasSeg ? 'if (rowOk) { segQ = seg[b * T + t]; }' : ''}
  var acc : array<f32, NC>;

  if (tid == 0) { loopEnd = min(S, off + min(t0 + BR, T)); }
  let kEnd = workgroupUniformLoad(&loopEnd);
  for (var k0 = 0; k0 < kEnd; k0 += BC) {
    for (var e = tid; e < BC * D; e += NTHREADS) {
      let j = k0 + e / D;
      var kv = 0.0;
      var vv = 0.0;
      if (j < S) {
        let gidx = kBase + j * D + e % D;
        kv = k[gidx];
        vv = v[gidx];
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
      var ds = 0.0;
      if (allowed) {
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0; d < D; d++) {
          s += qreg[d] * Ks[jl * D + d];
          dp += doreg[d] * Vs[jl * D + d];
        }
        ds = exp(s - lse) * (dp - delta);
      }
      dSs[r * BC + jl] = ds;
    }
    workgroupBarrier();

    for (var jl = 0; jl < BC; jl++) {
      let ds = dSs[r * BC + jl];
      for (var n = 0; n < NC; n++) { acc[n] += ds * Ks[jl * D + c + n * TPR]; }
    }
    workgroupBarrier();
  }

  if (rowOk) {
    for (var n = 0; n < NC; n++) { result[row * D + c + n * TPR] = acc[n] * uniforms.scale; }
  }
}
`;
}
