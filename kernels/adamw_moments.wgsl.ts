/**
 * adamw_moments — the first half of a fused AdamW step over a flat parameter
 * buffer: both moments of every element, in place, from the raw gradient.
 *
 *   g      = (G[i] · gradScale) · coef          coef: clipCoefWgsl (sum_squares.wgsl.ts)
 *   m[i]  ← β1 · m[i] + (1 − β1) · g
 *   v[i]  ← β2 · v[i] + (1 − β2) · g²
 *
 * Shapes: result = MV (2n) in place, m at [0, n) and v at [n, 2n) (the same
 * offsets as the parameters, see src/engine/lora_layout.ts); G (n) the summed
 * gradient; partials (K) from sum_squares. gradScale = 1/tokens turns the
 * gradient of the loss sum into that of the mean; the clipping is the
 * global-norm rule of torch.nn.utils.clip_grad_norm_.
 * Work mapping: `stride` invocations, 64 per workgroup, invocation j takes
 * elements j, j + stride, … (coalesced); stride ≈ n / (4·K), so the K partial
 * reads each invocation spends on coef are a quarter of its element reads.
 * MV's old values are read through `result` itself (an in-place output cannot
 * also be bound as an input). No workgroup memory, no barriers: one version
 * for both flavours.
 * Numerics: f32, in the order of torch.optim.AdamW (and of optimizer_reference.ts).
 */
import { clipCoefWgsl } from './sum_squares.wgsl';

export const ADAMW_THREADS = 64;

/** uniforms: count (n), stride, parts (K), gradScale, maxNorm, beta1, oneMinusBeta1, beta2, oneMinusBeta2; inputs grad, partials. */
export function adamwMomentsWgsl(): string {
  return /* wgsl */ `
${clipCoefWgsl()}
fn main(index : i32) {
  let stride = uniforms.stride;
  if (index >= stride) { return; }
  let n = uniforms.count;
  let coef = clipCoef();
  for (var i = index; i < n; i += stride) {
    let g = (grad[i] * uniforms.gradScale) * coef;
    result[i] = result[i] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
    result[n + i] = result[n + i] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
  }
}
`;
}
