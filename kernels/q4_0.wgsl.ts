/**
 * q4_0 — WGSL reader of ggml's Q4_0 blocks kept packed on the GPU
 * (ggml-common.h block_q4_0; dequantize_row_q4_0 in ggml-quants.c):
 *
 *   32 weights, 18 bytes:  d (f16) | qs[16]
 *   y[j] = ((qs[j] & 0xF) − 8) · d,  y[j + 16] = ((qs[j] >> 4) − 8) · d   (j < 16)
 *
 * Rows of bpr = ceil(cols / 32) blocks, as q8_0.wgsl.ts. Four weights
 * c..c+3 (c % 4 == 0) are the low or the high nibbles of four bytes of one
 * block. Exact: a 4-bit integer times an f16.
 */
import { ggmlBytesWgsl } from './ggml_bytes.wgsl';

export function q4_0Wgsl(buf: string): string {
  return /* wgsl */ `
${ggmlBytesWgsl(buf)}
fn w1_${buf}(r : i32, c : i32, bpr : i32) -> f32 {
  let base = u32(r * bpr + (c >> 5u)) * 18u;
  let j = u32(c & 31);
  let q = (gu8_${buf}(base + 2u + (j & 15u)) >> ((j >> 4u) * 4u)) & 0xfu;
  return f32(i32(q) - 8) * gf16_${buf}(base);
}
fn w4_${buf}(r : i32, c : i32, bpr : i32) -> vec4<f32> {
  let base = u32(r * bpr + (c >> 5u)) * 18u;
  let j = u32(c & 31);
  let q = gu32_${buf}(base + 2u + (j & 15u)) >> ((j >> 4u) * 4u);
  let v = (vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xfu));
  return vec4<f32>(vec4<i32>(v) - vec4<i32>(8)) * gf16_${buf}(base);
}
`;
}
