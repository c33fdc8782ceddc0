/**
 * lora_dy_b — the first product of a LoRA layer's backward, dyb = dy·B, for
 * stacked pairs (lora_layout.ts): each output column block of r belongs to
 * one member and sums only over that member's rows of dy:
 *
 *   dy (M, Ncols) with Ncols = Σ out_g, columns split at g1 <= g2 (q | k | v)
 *   B  (Ncols, r), the members' B matrices stacked, at vOff4 vec4s into P
 *   out (M, G·r):  out[m, g·r + j] = Σ_{n in member g} dy[m, n] · B[n, j]
 *
 * With one member (o_proj, down_proj) this is plain dy·B. It feeds both
 * dx = dy·W + s·dyb·A and dA = s·dybᵀ·x.
 * Layout: dy, P bound as vec4 (Ncols, r, g1, g2 multiples of 4).
 * Work mapping: one invocation per 4×4 block of out (4 rows, 4 of the r
 * columns of one member), looping over that member's rows of B in vec4 steps;
 * no workgroup memory, no barriers (both flavours: the output is narrow).
 * Numerics: f32 accumulation in n order.
 */
export const DYB_THREADS = 64;
export const DYB_UNIFORMS = 'M : i32, Ncols : i32, R : i32, G : i32, g1 : i32, g2 : i32, vOff4 : i32,';

export function loraDyBWgsl(): string {
  return /* wgsl */ `
fn main(index : i32) {
  let M = uniforms.M;
  let R4 = uniforms.R / 4;
  let N4 = uniforms.Ncols / 4;
  let colBlocks = uniforms.G * R4;
  let blk = index;
  if (blk >= ((M + 3) / 4) * colBlocks) { return; }
  let m0 = (blk / colBlocks) * 4;
  let cb = blk % colBlocks;
  let g = cb / R4;
  let rb = cb % R4;
  var lo = 0;
  var hi = uniforms.g1;
  if (g == 1) { lo = uniforms.g1; hi = uniforms.g2; }
  if (g == 2) { lo = uniforms.g2; hi = uniforms.Ncols; }
  let r0 = min(m0, M - 1) * N4;
  let r1 = min(m0 + 1, M - 1) * N4;
  let r2 = min(m0 + 2, M - 1) * N4;
  let r3 = min(m0 + 3, M - 1) * N4;
  var acc : array<vec4<f32>, 4>;
  for (var n4 = lo / 4; n4 < hi / 4; n4++) {
    let b0 = vmat[uniforms.vOff4 + (n4 * 4) * R4 + rb];
    let b1 = vmat[uniforms.vOff4 + (n4 * 4 + 1) * R4 + rb];
    let b2 = vmat[uniforms.vOff4 + (n4 * 4 + 2) * R4 + rb];
    let b3 = vmat[uniforms.vOff4 + (n4 * 4 + 3) * R4 + rb];
    let a0 = dy[r0 + n4]; let a1 = dy[r1 + n4]; let a2 = dy[r2 + n4]; let a3 = dy[r3 + n4];
    acc[0] += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    acc[1] += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    acc[2] += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    acc[3] += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
  }
  let width = uniforms.G * uniforms.R;
  let c0 = g * uniforms.R + rb * 4;
  for (var i = 0; i < 4; i++) {
    if (m0 + i < M) {
      let o = (m0 + i) * width + c0;
      result[o] = acc[i].x;
      result[o + 1] = acc[i].y;
      result[o + 2] = acc[i].z;
      result[o + 3] = acc[i].w;
    }
  }
}
`;
}
