/**
 * adamw_params — the second half of a fused AdamW step: every parameter of
 * the flat buffer, in place, from the moments adamw_moments just wrote.
 *
 *   p[i] ← p[i] · (1 − lr·wd) − (lr / bc1) · m[i] / (sqrt(v[i]) / sqrt(bc2) + eps)
 *
 * with bc1 = 1 − β1^t, bc2 = 1 − β2^t: torch.optim.AdamW's order (decoupled
 * decay first, Loshchilov & Hutter 2019; then the bias-corrected Adam step).
 * Shapes: result = P (n) in place; mv (2n), m at [0, n), v at [n, 2n).
 * Uniforms decay = 1 − lr·wd, stepSize = lr/bc1 and sqrtBc2 are computed on
 * the host in f64, as the reference does.
 * Work mapping: `stride` ≈ n/4 invocations, 64 per workgroup, invocation j
 * takes elements j, j + stride, … No workgroup memory, no barriers: one
 * version for both flavours.
 * An element with zero gradient and zero moments (a linear that is not a
 * target) keeps p = 0: m/denom = 0/eps = 0.
 */
export const ADAMW_PARAMS_THREADS = 64;

/** uniforms: count (n), stride, decay, stepSize, sqrtBc2, eps; input mv. */
export function adamwParamsWgsl(): string {
  return /* wgsl */ `
fn main(index : i32) {
  let stride = uniforms.stride;
  if (index >= stride) { return; }
  let n = uniforms.count;
  for (var i = index; i < n; i += stride) {
    let denom = sqrt(mv[n + i]) / uniforms.sqrtBc2 + uniforms.eps;
    result[i] = result[i] * uniforms.decay - (mv[i] / denom) * uniforms.stepSize;
  }
}
`;
}
