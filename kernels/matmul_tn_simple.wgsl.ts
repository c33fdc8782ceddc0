/**
 * matmul_tn_simple — out (I, J) = scale · Pᵀ·Q = scale · Σ_m P[m, i] · Q[m, j],
 * the reduction over rows behind LoRA's dA = s·(dy·B)ᵀ·x and dB = s·dyᵀ·(x·Aᵀ).
 *
 * Layout (row-major f32): P (M, I), Q (M, J), out (I, J); I and J are
 * multiples of 4 and both inputs are bound as array<vec4<f32>>.
 *
 * Work mapping: one invocation per 4×4 output block, looping over all M rows
 * (2 vec4 loads and 16 multiply-adds per row); 16 invocations per workgroup,
 * so even the 32 blocks of a rank-8 × 64 dA spread over several workgroups
 * (SwiftShader runs one workgroup per core at a time). No workgroup memory,
 * no barriers: the 'simple' flavour (see program.ts).
 *
 * Writing into a larger buffer (LoRA gradients in the adapter's flat
 * gradient buffer, see lora_layout.ts): the block goes to result at float
 * offset outOff, and with `accumulate` is added to what is there (gradient
 * accumulation over micro-batches costs no extra pass). Q rows are qStride4
 * vec4s apart, and output rows fall into groups split at g1 <= g2 (multiples
 * of 4): row i reads Q's columns [group(i)·J, group(i)·J + J). That is dB of
 * stacked LoRA pairs, dB_g = s·dy_gᵀ·xa_g for g in (q, k, v) in one pass.
 * Used by both flavours: barrier-free, and these products are small.
 *
 * Numerics: plain f32 accumulation in m order.
 */
export const TN_THREADS = 16;

export const TN_UNIFORMS = 'M : i32, I : i32, J : i32, scale : f32, qStride4 : i32, g1 : i32, g2 : i32, outOff : i32,';

export function simpleMatmulTNWgsl(accumulate = false): string {
  return /* wgsl */ `
fn main(index : i32) {
  let M = uniforms.M;
  let I4 = uniforms.I / 4;
  let J4 = uniforms.J / 4;
  let blk = i32(globalId.x);
  if (blk >= I4 * J4) { return; }
  let ib = blk / J4;
  let jb = blk % J4;
  let i0 = ib * 4;
  let qCol4 = (select(0, 1, i0 >= uniforms.g1) + select(0, 1, i0 >= uniforms.g2)) * J4;
  var acc : array<vec4<f32>, 4>;
  for (var m = 0; m < M; m++) {
    let p = pmat[m * I4 + ib];
    let q = qmat[m * uniforms.qStride4 + qCol4 + jb];
    acc[0] += p.x * q;
    acc[1] += p.y * q;
    acc[2] += p.z * q;
    acc[3] += p.w * q;
  }
  let J = uniforms.J;
  ${[0, 1, 2, 3]
    .map(
      (i) => `{
    let row = uniforms.outOff + (ib * 4 + ${i}) * J + jb * 4;
    let a = acc[${i}] * uniforms.scale;
    result[row] = ${accumulate ? 'result[row] + ' : ''}a.x;
    result[row + 1] = ${accumulate ? 'result[row + 1] + ' : ''}a.y;
    result[row + 2] = ${accumulate ? 'result[row + 2] + ' : ''}a.z;
    result[row + 3] = ${accumulate ? 'result[row + 3] + ' : ''}a.w;
  }`,
    )
    .join('\n  ')}
}
`;
}
