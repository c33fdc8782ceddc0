/**
 * rms_norm — RMSNorm forward and its input gradient, one invocation per row
 * (the 'simple' flavour: no workgroup memory, no barriers).
 *
 * forward:  y = x · r · w,  r = 1 / sqrt(mean(x²) + eps)           (per row)
 * backward: with g = dy · w,
 *           dx = r · g − x · r³ · (g·x) / D
 * w (the norm weight) is frozen in LoRA training: no dw.
 * With `residual`, the backward adds dres (N, D) to dx: the gradient that
 * reaches a pre-norm block's input along the residual path, so the layer's
 * two gradient paths meet in this pass instead of an extra add.
 *
 * Shapes: x, dy (N, D) bound as vec4 (D % 4 == 0), w (D) as vec4; out (N, D).
 * Work mapping: 64 invocations per workgroup, invocation = row; two passes
 * over the row (sum, then write), D/4 vec4 loads each.
 * Numerics: f32; mean as sum · (1/D), as tfjs's mean does.
 */
export const NORM_ROWS = 64;

export function rmsNormWgsl(backward: boolean, residual = false): string {
  return /* wgsl */ `
fn main(index : i32) {
  let row = i32(globalId.x);
  if (row >= uniforms.N) { return; }
  let D4 = uniforms.D / 4;
  let base = row * D4;
  var ss = vec4<f32>(0.0);
  ${backward ? 'var gx = vec4<f32>(0.0);' : ''}
  for (var d = 0; d < D4; d++) {
    let xv = x[base + d];
    ss += xv * xv;
    ${backward ? 'gx += dy[base + d] * w[d] * xv;' : ''}
  }
  let r = inverseSqrt((ss.x + ss.y + ss.z + ss.w) / f32(uniforms.D) + uniforms.eps);
  ${backward ? 'let c = r * r * r * (gx.x + gx.y + gx.z + gx.w) / f32(uniforms.D);' : ''}
  for (var d = 0; d < D4; d++) {
    let xv = x[base + d];
    let o = ${backward ? `r * dy[base + d] * w[d] - xv * c${residual ? ' + dres[base + d]' : ''}` : 'xv * r * w[d]'};
    let at = (base + d) * 4;
    result[at] = o.x;
    result[at + 1] = o.y;
    result[at + 2] = o.z;
    result[at + 3] = o.w;
  }
}
`;
}
