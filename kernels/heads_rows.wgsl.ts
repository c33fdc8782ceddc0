/**
 * heads_rows — moves attention's output between head layout and token rows:
 *   toRows:   src (B, H, T, D) (the first B·H·T·D floats of attention's packed
 *             (O, L) buffer, or any such tensor) -> (B·T, H·D), the o_proj input
 *   toHeads:  (B·T, H·D) -> (B, H, T, D), dO for attention's backward
 * One invocation per 4 floats (D % 4 == 0): a pure copy, no barriers, both
 * flavours. The source is read as scalars: the packed buffer's length
 * B·H·T·(D+1) need not be a multiple of 4.
 */
export const HR_THREADS = 64;

export function headsRowsWgsl(toRows: boolean): string {
  return /* wgsl */ `
fn main(index : i32) {
  let D4 = uniforms.D / 4;
  let total = uniforms.B * uniforms.H * uniforms.T * D4;
  let id = index;
  if (id >= total) { return; }
  let d4 = id % D4;
  let h = (id / D4) % uniforms.H;
  let row = id / (D4 * uniforms.H); // b·T + t
  let b = row / uniforms.T;
  let t = row % uniforms.T;
  let headAt = ((b * uniforms.H + h) * uniforms.T + t) * D4 + d4;
  let rowAt = (row * uniforms.H + h) * D4 + d4;
  ${toRows ? 'let i = headAt * 4; let o = rowAt * 4;' : 'let i = rowAt * 4; let o = headAt * 4;'}
  let v = vec4<f32>(src[i], src[i + 1], src[i + 2], src[i + 3]);
  result[o] = v.x;
  result[o + 1] = v.y;
  result[o + 2] = v.z;
  result[o + 3] = v.w;
}
`;
}
