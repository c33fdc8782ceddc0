/**
 * lora_linear — tiled matmul with a low-rank epilogue, the one full-size pass
 * of a LoRA linear layer (forward and the dx of backward):
 *
 *   out[m, n] = Σ_k X[m, k] · Wop[n, k]  (+ bias[n])  + s · Σ_r U[m, r] · V[n, r]
 *
 * forward: X = x (N, in), Wop = W (out, in) as stored (transW = false... see
 *          below), U = xa = x·Aᵀ (N, r), V = B (out, r)      -> y  (N, out)
 * dx:      X = dy (N, out), Wop[n, k] = W[k, n] (W read transposed),
 *          U = dy·B (N, r), V[n, r] = A[r, n]                 -> dx (N, in)
 *
 * Shapes/layout (row-major f32): X (M, K); W (Ncols, K) when wRowsAreN,
 * else (K, Ncols); U (M, R); V (Ncols, R) when vRowsAreN, else (R, Ncols);
 * bias (Ncols) optional; out (M, Ncols).
 *
 * Work mapping: one workgroup per 32×32 output tile, 64 threads as 8×8, each
 * thread owns a 4×4 block of outputs (rows ty·4.., cols tx·4..) held as four
 * vec4 accumulators. Per 32-wide K step the workgroup stages a 32×32 tile of
 * X and of Wop (k innermost, as vec4, 8 KB in all) in workgroup memory; each
 * thread then does 8 vec4 loads per 64 multiply-adds. The LoRA term costs
 * R multiply-adds per output in the epilogue, reading U and V straight from
 * storage: no extra (M, Ncols) pass and no (Ncols, K) merged weight.
 *
 * Offsets, groups and residual as in matmul_simple.wgsl.ts (uniform names
 * without the 4: float offsets here): W at wOff, V at vOff in their
 * buffers, U rows uStride apart, column n reading U's column block
 * group(n) (split at g1 <= g2) when `grouped`, and an optional residual
 * (M, Ncols) added in the epilogue.
 *
 * With `wHalves` W is a packed bf16/f16 frozen weight, unpacked exactly as
 * each element is staged (halves.wgsl.ts); with `wQuant`, ggml blocks
 * (Q8_0, Q4_0, Q4_1, Q4_K), each staged element dequantized exactly from its
 * block by row and column (quant_formats.wgsl.ts).
 *
 * With `rowScaled`, the low-rank term of output row m is also multiplied by
 * rowScale[m] (rowScale (M)): rows of one batch that ride the same adapter
 * at different strengths, e.g. 0 (base) and 1 (tuned) for Compare's two
 * sides in one forward. As (s·rowScale[m])·Σ: exactly s·Σ at 1, and 0 at 0,
 * so each row equals its own unscaled or adapter-free forward bit for bit.
 *
 * Numerics: plain f32 accumulation in K order within a tile.
 */
import { halvesWgsl, type HalfFormat } from './halves.wgsl';
import type { QuantFormat } from './packed_weight';
import { bprWgsl, quantWgsl } from './quant_formats.wgsl';

export interface LoraMatmulConfig {
  wRowsAreN: boolean; // W stored (Ncols, K)
  vRowsAreN: boolean; // V stored (Ncols, R)
  hasBias: boolean;
  R: number;
  hasResidual?: boolean;
  grouped?: boolean;
  /** W holds packed bf16/f16 halves (bound as i32 words), unpacked on load */
  wHalves?: HalfFormat | null;
  /** W holds ggml blocks of this format (bound as i32 words), dequantized on load */
  wQuant?: QuantFormat | null;
  /** the low-rank term is multiplied per output row by rowScale[m] (binding `rowScale`, (M)) */
  rowScaled?: boolean;
}
export const LORA_MATMUL_UNIFORMS = 'M : i32, K : i32, Ncols : i32, scale : f32, wOff : i32, vOff : i32, uStride : i32, g1 : i32, g2 : i32,';
export const LM_TILE = 32;
export const LM_THREADS = 64;

export function loraMatmulWgsl({ wRowsAreN, vRowsAreN, hasBias, R, hasResidual = false, grouped = false, wHalves = null, wQuant = null, rowScaled = false }: LoraMatmulConfig): string {
  const wLoad = wQuant
    ? wRowsAreN
      ? `w1_w(n, k, ${bprWgsl(wQuant, 'K')})`
      : `w1_w(k, n, ${bprWgsl(wQuant, 'Ncols')})`
    : `loadW(${wRowsAreN ? 'uniforms.wOff + n * K + k' : 'uniforms.wOff + k * Ncols + n'})`;
  const vIndex = vRowsAreN ? 'uniforms.vOff + n * R + rr' : 'uniforms.vOff + rr * Ncols + n';
  const uCol = grouped ? '(select(0, 1, n >= uniforms.g1) + select(0, 1, n >= uniforms.g2)) * R' : '0';
  return /* wgsl */ `
${
  wQuant
    ? quantWgsl(wQuant, 'w')
    : wHalves
      ? `${halvesWgsl(wHalves)}
fn loadW(i : i32) -> f32 { let h = unpack2h(w[i >> 1u]); return select(h.x, h.y, (i & 1) == 1); }`
      : 'fn loadW(i : i32) -> f32 { return w[i]; }'
}
const TILE = ${LM_TILE};
const TK4 = ${LM_TILE / 4};     // vec4s per tile row
const R = ${R};

var<workgroup> Xs : array<vec4<f32>, ${LM_TILE * (LM_TILE / 4)}>;
var<workgroup> Ws : array<vec4<f32>, ${LM_TILE * (LM_TILE / 4)}>;

fn main(index : i32) {
  let tid = i32(localId.x);
  let tx = tid % 8;
  let ty = tid / 8;
  let M = uniforms.M;
  let K = uniforms.K;
  let Ncols = uniforms.Ncols;
  let m0 = i32(workgroupId.y) * TILE;
  let n0 = i32(workgroupId.x) * TILE;

  var acc : array<vec4<f32>, 4>;
  let kTiles = (K + TILE - 1) / TILE;
  for (var kt = 0; kt < kTiles; kt++) {
    let k0 = kt * TILE;
    for (var e = tid; e < TILE * TILE; e += ${LM_THREADS}) {
      let row = e / TILE;
      let kk = e % TILE;
      let k = k0 + kk;
      let m = m0 + row;
      var xv = 0.0;
      if (m < M && k < K) { xv = x[m * K + k]; }
      Xs[row * TK4 + kk / 4][kk % 4] = xv;
      let n = n0 + row;
      var wv = 0.0;
      if (n < Ncols && k < K) { wv = ${wLoad}; }
      Ws[row * TK4 + kk / 4][kk % 4] = wv;
    }
    workgroupBarrier();
    for (var k4 = 0; k4 < TK4; k4++) {
      let b0 = Ws[(tx * 4 + 0) * TK4 + k4];
      let b1 = Ws[(tx * 4 + 1) * TK4 + k4];
      let b2 = Ws[(tx * 4 + 2) * TK4 + k4];
      let b3 = Ws[(tx * 4 + 3) * TK4 + k4];
      for (var i = 0; i < 4; i++) {
        let a = Xs[(ty * 4 + i) * TK4 + k4];
        acc[i] += vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
      }
    }
    workgroupBarrier();
  }

  for (var i = 0; i < 4; i++) {
    let m = m0 + ty * 4 + i;
    if (m >= M) { continue; }
    for (var j = 0; j < 4; j++) {
      let n = n0 + tx * 4 + j;
      if (n >= Ncols) { continue; }
      var y = acc[i][j];
      ${
        R > 0
          ? `var lowRank = 0.0;
      let uRow = m * uniforms.uStride + ${uCol};
      for (var rr = 0; rr < R; rr++) { lowRank += u[uRow + rr] * vmat[${vIndex}]; }
      y += ${rowScaled ? '(uniforms.scale * rowScale[m])' : 'uniforms.scale'} * lowRank;`
          : ''
      }
      ${hasBias ? 'y += bias[n];' : ''}
      ${hasResidual ? 'y += residual[m * Ncols + n];' : ''}
      result[m * Ncols + n] = y;
    }
  }
}
`;
}
