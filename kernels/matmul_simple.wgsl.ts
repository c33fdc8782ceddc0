/**
 * matmul_simple — the barrier-free matmul (with an optional low-rank
 * epilogue), the 'simple' flavour of lora_linear.wgsl.ts:
 *
 *   out[m, n] = Σ_k X[m, k] · Wop[k, n]  (+ bias[n])  + s · Σ_r U[m, r] · Vop[r, n]
 *
 * Layout (row-major f32): X (M, K); W (Ncols, K) when wRowsAreN (Wop = Wᵀ),
 * else (K, Ncols); U (M, R); V (Ncols, R) when vRowsAreN, else (R, Ncols);
 * bias (Ncols) optional; out (M, Ncols). R = 0 means no low-rank term.
 * K, R and (when a matrix is stored with n innermost) Ncols are multiples of
 * 4, so every operand is read as vec4: X and U bound as array<vec4<f32>>,
 * W and V too.
 *
 * Work mapping (rows = 1 when M < 4, the decode case: one invocation per 1×4 block instead):
 * one invocation per 4×4 output block (rows m0..m0+3, cols
 * n0..n0+3), 64 invocations per workgroup, blocks numbered row-major. Per
 * 4-wide k step it loads 4 vec4 of X and 4 vec4 of W and does 64
 * multiply-adds in registers; no workgroup memory, no barriers. Rows past M
 * and columns past Ncols are clamped on load and skipped on store.
 *
 * Offsets and groups (uniforms), so fused layers read their operands in
 * place: W starts wOff4 vec4s into its buffer and V vOff4 vec4s into its
 * (both may be the adapter's flat parameter buffer, see lora_layout.ts); U
 * rows are uStride4 vec4s apart. With `grouped`, the output columns fall into
 * up to three groups split at g1 <= g2 (q | k | v, or gate | up), and
 * column n reads U's columns [group(n)·R, group(n)·R + R): the block-diagonal
 * low-rank term of stacked LoRA pairs, s·[xa_q·B_qᵀ | xa_k·B_kᵀ | xa_v·B_vᵀ].
 * g1 and g2 are multiples of 4, so a 4-column block lies in one group.
 * An optional residual (M, Ncols) is added in the epilogue (x + linear(x')).
 * With `rowScaled`, row m's low-rank term is also multiplied by rowScale[m]
 * (rowScale (M), bound as scalars): one batch whose rows ride the adapter at
 * different strengths (0 = base, 1 = tuned); (s·rowScale[m])·low is exactly
 * s·low at 1 and 0 at 0 (see lora_linear.wgsl.ts).
 *
 * With `wHalves`, W is a frozen weight of packed bf16/f16 halves
 * (src/engine/frozen.ts) bound as vec2<i32>, each element one vec4 of
 * halves, unpacked exactly in registers (halves.wgsl.ts). With `wQuant`, W
 * is ggml blocks (Q8_0, Q4_0, Q4_1, Q4_K) bound as i32 words, each vec4 of
 * weights dequantized exactly in registers from its block (w4_w, by row and
 * column: quant_formats.wgsl.ts); no dequantized copy exists anywhere.
 *
 * Numerics: plain f32 accumulation in k order.
 */
import { halvesWgsl, type HalfFormat } from './halves.wgsl';
import type { QuantFormat } from './packed_weight';
import { bprWgsl, quantWgsl } from './quant_formats.wgsl';

export interface SimpleMatmulConfig {
  /** W holds packed 16-bit halves (bound as vec2<i32>: one vec4 of halves per element), unpacked in registers */
  wHalves?: HalfFormat | null;
  /** W holds ggml blocks of this format (bound as i32 words), dequantized in registers (quant_formats.wgsl.ts) */
  wQuant?: QuantFormat | null;
  wRowsAreN: boolean;
  vRowsAreN: boolean;
  hasBias: boolean;
  R: number; // 0: no low-rank term
  hasResidual?: boolean;
  grouped?: boolean;
  /** output rows per invocation: 4, or 1 when M < 4 (decoding: a 4-row block would compute one row four times) */
  rows?: 1 | 4;
  /** the low-rank term is multiplied per output row by rowScale[m] (binding `rowScale`, (M)) */
  rowScaled?: boolean;
}
export const SMM_THREADS = 64;
export const SIMPLE_MATMUL_UNIFORMS = 'M : i32, K : i32, Ncols : i32, scale : f32, wOff4 : i32, vOff4 : i32, uStride4 : i32, g1 : i32, g2 : i32,';

/**
 * One phase: acc[i] (vec4 over the block's 4 columns) += A[row i, :]·Bop[:, n0..n0+3].
 * aRow(i): vec4 index where row i of A starts; bBase: vec4 offset of B in its buffer.
 */
function phase(a: string, b: string, acc: string, kLen4: string, bRowsAreN: boolean, aRow: (i: number) => string, bBase: string, bHalves = false, rows = 4, bQuant = false): string {
  const R = [0, 1, 2, 3].slice(0, rows);
  // B: rows-are-n → b[br_j + kk] (vec4 over k); else b[bBase + (4kk+e)·N4 + nb] (vec4 over n);
  // quantized B by (row, column): rows-are-n → row n_j, columns 4kk..; else row 4kk+e, columns n0..
  const ld = (idx: string) => (bHalves ? `unpack4h(${b}[${idx}])` : `${b}[${idx}]`);
  const bLoads = bQuant
    ? bRowsAreN
      ? [0, 1, 2, 3].map((j) => `let b${j} = w4_${b}(br${j}, kk * 4, bpr);`).join(' ')
      : [0, 1, 2, 3].map((e) => `let b${e} = w4_${b}(kk * 4 + ${e}, n0, bpr);`).join(' ')
    : bRowsAreN
      ? [0, 1, 2, 3].map((j) => `let b${j} = ${ld(`br${j} + kk`)};`).join(' ')
      : [0, 1, 2, 3].map((e) => `let b${e} = ${ld(`${bBase} + (kk * 4 + ${e}) * N4 + nb`)};`).join(' ');
  const update = (i: number) =>
    bRowsAreN
      ? `${acc}[${i}] += vec4<f32>(dot(a${i}, b0), dot(a${i}, b1), dot(a${i}, b2), dot(a${i}, b3));`
      : `${acc}[${i}] += a${i}.x * b0 + a${i}.y * b1 + a${i}.z * b2 + a${i}.w * b3;`;
  const rowBase = (i: number) => `let ar${i} = ${aRow(i)};`;
  const colBase = !bRowsAreN
    ? ''
    : bQuant
      ? [0, 1, 2, 3].map((j) => `let br${j} = min(n0 + ${j}, Ncols - 1);`).join(' ')
      : [0, 1, 2, 3].map((j) => `let br${j} = ${bBase} + min(n0 + ${j}, Ncols - 1) * ${kLen4};`).join(' ');
  return `{
    ${R.map(rowBase).join(' ')}
    ${colBase}
    for (var kk = 0; kk < ${kLen4}; kk++) {
      ${bLoads}
      ${R.map((i) => `let a${i} = ${a}[ar${i} + kk];`).join(' ')}
      ${R.map(update).join('\n      ')}
    }
  }`;
}

export function simpleMatmulWgsl({ wRowsAreN, vRowsAreN, hasBias, R, hasResidual = false, grouped = false, wHalves = null, wQuant = null, rows = 4, rowScaled = false }: SimpleMatmulConfig): string {
  const I = [0, 1, 2, 3].slice(0, rows);
  const row = (i: number) => `min(m0 + ${i}, M - 1)`;
  const epilogue = (i: number, j: number) =>
    `acc[${i}].${'xyzw'[j]}${hasBias ? ` + bias[n0 + ${j}]` : ''}${hasResidual ? ` + residual[o + ${j}]` : ''}`;
  return /* wgsl */ `
${wHalves ? halvesWgsl(wHalves) : ''}${wQuant ? quantWgsl(wQuant, 'w') : ''}
fn main(index : i32) {
  let M = uniforms.M;
  let K4 = uniforms.K / 4;
  let Ncols = uniforms.Ncols;
  let N4 = Ncols / 4;
  let nBlocks = (Ncols + 3) / 4;
  let blk = i32(globalId.x);
  if (blk >= ((M + ${rows - 1}) / ${rows}) * nBlocks) { return; }
  let m0 = (blk / nBlocks) * ${rows};
  let nb = blk % nBlocks;
  let n0 = nb * 4;
  var acc : array<vec4<f32>, 4>;
  ${wQuant ? `let bpr = ${bprWgsl(wQuant, wRowsAreN ? 'uniforms.K' : 'Ncols')};` : ''}
  ${phase('x', 'w', 'acc', 'K4', wRowsAreN, (i) => `${row(i)} * K4`, 'uniforms.wOff4', !!wHalves, rows, !!wQuant)}
  ${
    R > 0
      ? `var low : array<vec4<f32>, 4>;
  let R4 = ${R / 4};
  let uCol4 = ${grouped ? '(select(0, 1, n0 >= uniforms.g1) + select(0, 1, n0 >= uniforms.g2)) * R4' : '0'};
  ${phase('u', 'vmat', 'low', 'R4', vRowsAreN, (i) => `${row(i)} * uniforms.uStride4 + uCol4`, 'uniforms.vOff4', false, rows)}
  ${I.map((i) => `acc[${i}] += ${rowScaled ? `(uniforms.scale * rowScale[${row(i)}])` : 'uniforms.scale'} * low[${i}];`).join(' ')}`
      : ''
  }
  ${I
    .map(
      (i) => `if (m0 + ${i} < M) {
    let o = (m0 + ${i}) * Ncols + n0;
    ${[0, 1, 2, 3].map((j) => `if (n0 + ${j} < Ncols) { result[o + ${j}] = ${epilogue(i, j)}; }`).join('\n    ')}
  }`,
    )
    .join('\n  ')}
}
`;
}
