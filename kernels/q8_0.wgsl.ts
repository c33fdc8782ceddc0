/**
 * q8_0 — WGSL reader of ggml's Q8_0 blocks kept packed on the GPU
 * (ggml-common.h block_q8_0; dequantize_row_q8_0 in ggml-quants.c):
 *
 *   32 weights, 34 bytes:  d (f16) | qs[32] (int8)        y[j] = qs[j] · d
 *
 * A matrix row of `cols` weights is bpr = ceil(cols / 32) blocks, rows back
 * to back; weight (r, c) is qs[c % 32] of block r·bpr + ⌊c / 32⌋.
 * `w1(r, c)` reads one weight, `w4(r, c)` four (c % 4 == 0, so they share a
 * block). Exact: an int8 times an f16 has at most 19 significant bits.
 */
import { ggmlBytesWgsl } from './ggml_bytes.wgsl';

export function q8_0Wgsl(buf: string): string {
  return /* wgsl */ `
${ggmlBytesWgsl(buf)}
fn w1_${buf}(r : i32, c : i32, bpr : i32) -> f32 {
  let base = u32(r * bpr + (c >> 5u)) * 34u;
  let q = bitcast<i32>(gu8_${buf}(base + 2u + u32(c & 31)) << 24u) >> 24u;
  return f32(q) * gf16_${buf}(base);
}
fn w4_${buf}(r : i32, c : i32, bpr : i32) -> vec4<f32> {
  let base = u32(r * bpr + (c >> 5u)) * 34u;
  let q = bitcast<i32>(gu32_${buf}(base + 2u + u32(c & 31)));
  let v = vec4<i32>(q << 24u, q << 16u, q << 8u, q) >> vec4<u32>(24u);
  return vec4<f32>(v) * gf16_${buf}(base);
}
`;
}
