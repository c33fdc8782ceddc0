/**
 * sum_squares — partial sums of squares of a flat f32 vector, the first
 * level of the global gradient norm ‖G‖ that clipping needs.
 *
 *   x (n)  ->  result (K),  result[k] = Σ_{i ≡ k mod K} x[i]²
 *
 * Work mapping: K invocations, 64 per workgroup; invocation k strides over x
 * by K, so neighbouring invocations read neighbouring floats (coalesced on a
 * GPU, contiguous SIMD lanes on SwiftShader). K = sumSquaresParts(n) ≤ 256.
 *
 * The second level is not a pass of its own: every invocation of a kernel
 * that needs the norm adds the K partials itself (clipCoefWgsl below; the
 * same K floats stay in cache, and those kernels give each invocation ≥ 4·K
 * elements so the extra reads stay under a quarter of the element reads).
 * So the norm, the clip coefficient and the update follow one another on the
 * GPU with no readback between them, in one dispatch fewer than a separate
 * finishing pass.
 *
 * No workgroup memory, barriers or atomics: the sum order is fixed, so the
 * result is deterministic (a resumed run repeats an uninterrupted one bit for
 * bit), and this one version serves both kernel flavours (program.ts).
 * Numerics: plain f32 accumulation, ⌈n/K⌉ squares per partial in index order.
 */
export const SUMSQ_THREADS = 64;
export const SUMSQ_MAX_PARTS = 256;

/** Number of partial sums for n values: one per 64 values, at most 256. */
export function sumSquaresParts(n: number): number {
  return Math.max(1, Math.min(SUMSQ_MAX_PARTS, Math.ceil(n / 64)));
}

/** uniforms: count (n), parts (K); input x. */
export function sumSquaresWgsl(): string {
  return /* wgsl */ `
fn main(index : i32) {
  let K = uniforms.parts;
  if (index >= K) { return; }
  var acc = 0.0;
  for (var i = index; i < uniforms.count; i += K) {
    let g = x[i];
    acc += g * g;
  }
  result[index] = acc;
}
`;
}

/**
 * WGSL `fn clipCoef() -> f32` for kernels that bind the partials as `partials`
 * and declare uniforms parts (K), gradScale, maxNorm:
 *   norm = sqrt(Σ_k partials[k]) · gradScale       (‖gradScale·G‖)
 *   coef = min(1, maxNorm / (norm + 1e-6)), or 1 when maxNorm ≤ 0
 * as torch.nn.utils.clip_grad_norm_. Every invocation adds the partials in
 * the same order, so all of them get the same coef.
 */
export function clipCoefWgsl(): string {
  return /* wgsl */ `
fn clipCoef() -> f32 {
  if (uniforms.maxNorm <= 0.0) { return 1.0; }
  var ss = 0.0;
  for (var k = 0; k < uniforms.parts; k++) { ss += partials[k]; }
  let norm = sqrt(ss) * uniforms.gradScale;
  return min(1.0, uniforms.maxNorm / (norm + 1e-6));
}
`;
}
