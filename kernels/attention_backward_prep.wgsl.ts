/**
 * attention_backward_prep — per-row statistics for the attention backward.
 *
 *   stats[row, 0] = L[row]                      (logsumexp saved by the forward)
 *   stats[row, 1] = delta[row] = Σ_d dO[row, d] · O[row, d]   (FlashAttention-2 "D_i")
 *
 * Shapes: packed (B·H·T·D + B·H·T) from attention_forward (O then L),
 *         dO (B, H, T, D), out stats (B·H·T, 2). row = (b·H + h)·T + t.
 * One thread per row, 64 rows per workgroup; the dot is a plain f32 loop.
 */
export const PREP_THREADS = 64;

export function attentionBackwardPrepWgsl(D: number): string {
  return /* wgsl */ `
const D = ${D};
fn main(index : i32) {
  let row = i32(workgroupId.x) * ${PREP_THREADS} + i32(localId.x);
  let rows = uniforms.rows;
  if (row >= rows) { return; }
  var delta = 0.0;
  for (var d = 0; d < D; d++) { delta += dy[row * D + d] * packed[row * D + d]; }
  result[row * 2] = packed[rows * D + row];
  result[row * 2 + 1] = delta;
}
`;
}
