/**
 * swiglu — the SwiGLU MLP's gate (Shazeer 2020), on the fused gate|up projection:
 *   gu (N, 2·F): columns [gate | up]
 *   forward:  act (N, F) = silu(g)·u,  silu(g) = g·σ(g)
 *   backward: d_gu (N, 2·F): dg = dact·u·σ(g)·(1 + g·(1 − σ(g))),  du = dact·silu(g)
 * Saved for backward: gu itself (the two inputs). One invocation per output
 * element of act (N·F); no barriers, both flavours.
 * Numerics: σ(g) = 1 / (1 + exp(−g)), as tfjs's sigmoid.
 */
export const SWIGLU_THREADS = 64;

export function swigluWgsl(backward: boolean): string {
  return /* wgsl */ `
fn main(index : i32) {
  let F = uniforms.F;
  let id = index;
  if (id >= uniforms.N * F) { return; }
  let row = id / F;
  let j = id % F;
  let g = gu[row * 2 * F + j];
  let u = gu[row * 2 * F + F + j];
  let sg = 1.0 / (1.0 + exp(-g));
  ${
    backward
      ? `let d = dact[id];
  result[row * 2 * F + j] = d * u * sg * (1.0 + g * (1.0 - sg));
  result[row * 2 * F + F + j] = d * g * sg;`
      : 'result[id] = g * sg * u;'
  }
}
`;
}
