/**
 * sgd_update — a fused SGD step over a flat parameter buffer, in place:
 *
 *   g     = (G[i] · gradScale) · coef       coef: clipCoefWgsl (sum_squares.wgsl.ts)
 *   p[i] ← p[i] − lr · (g + wd · p[i])
 *
 * Weight decay is added to the gradient, as torch.optim.SGD does (no
 * momentum). Shapes: result = P (n) in place; grad (n); partials (K) from
 * sum_squares. Work mapping as adamw_moments: `stride` ≈ n/(4·K)
 * invocations, 64 per workgroup, each striding over the elements after it
 * has added the K partials for coef. No workgroup memory, no barriers: one
 * version for both flavours.
 */
import { clipCoefWgsl } from './sum_squares.wgsl';

export const SGD_THREADS = 64;

/** uniforms: count (n), stride, parts (K), gradScale, maxNorm, lr, weightDecay; inputs grad, partials. */
export function sgdUpdateWgsl(): string {
  return /* wgsl */ `
${clipCoefWgsl()}
fn main(index : i32) {
  let stride = uniforms.stride;
  if (index >= stride) { return; }
  let n = uniforms.count;
  let coef = clipCoef();
  for (var i = index; i < n; i += stride) {
    let g = (grad[i] * uniforms.gradScale) * coef;
    let p = result[i];
    result[i] = p - (g + p * uniforms.weightDecay) * uniforms.lr;
  }
}
`;
}
