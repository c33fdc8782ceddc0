/**
 * q4_k — WGSL reader of ggml's Q4_K super-blocks kept packed on the GPU
 * (ggml-common.h block_q4_K; dequantize_row_q4_K and get_scale_min_k4 in
 * ggml-quants.c), the matrices of most "Q4_K_M" files:
 *
 *   256 weights, 144 bytes:  d (f16) | dmin (f16) | scales[12] | qs[128]
 *   eight sub-blocks s of 32 weights, each with a 6-bit scale sc_s and min m_s
 *   packed in scales[12] (s < 4: sc = scales[s] & 63, m = scales[s+4] & 63;
 *   else sc = (scales[s+4] & 0xF) | (scales[s−4] >> 6) << 4,
 *        m  = (scales[s+4] >> 4) | (scales[s] >> 6) << 4);
 *   weight e of the super-block: chunk c = ⌊e / 64⌋, sub-block s = 2c + ⌊(e % 64) / 32⌋,
 *   q = the low (s even) or high (s odd) nibble of qs[32c + e % 32];
 *   y = (d·sc_s) · q − dmin·m_s
 *
 * Rows of bpr = ceil(cols / 256) super-blocks. Exact, as ggml computes it:
 * d·sc and dmin·m are exact products (11 × 6 bits), (d·sc)·q too (+4 bits),
 * so the one subtraction is the one rounding, fma or not.
 */
import { ggmlBytesWgsl } from './ggml_bytes.wgsl';

export function q4_kWgsl(buf: string): string {
  return /* wgsl */ `
${ggmlBytesWgsl(buf)}
fn scmin_${buf}(base : u32, s : u32) -> vec2<f32> {
  let o = base + 4u;
  if (s < 4u) { return vec2<f32>(f32(gu8_${buf}(o + s) & 63u), f32(gu8_${buf}(o + s + 4u) & 63u)); }
  let hi = gu8_${buf}(o + s + 4u);
  let sc = (hi & 0xfu) | ((gu8_${buf}(o + s - 4u) >> 6u) << 4u);
  let m = (hi >> 4u) | ((gu8_${buf}(o + s) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(m));
}
fn w1_${buf}(r : i32, c : i32, bpr : i32) -> f32 {
  let base = u32(r * bpr + (c >> 8u)) * 144u;
  let e = u32(c & 255);
  let s = (e >> 5u);
  let sm = scmin_${buf}(base, s);
  let q = (gu8_${buf}(base + 16u + (e >> 6u) * 32u + (e & 31u)) >> ((s & 1u) * 4u)) & 0xfu;
  let d1 = gf16_${buf}(base) * sm.x;
  let m1 = gf16_${buf}(base + 2u) * sm.y;
  return d1 * f32(q) - m1;
}
fn w4_${buf}(r : i32, c : i32, bpr : i32) -> vec4<f32> {
  let base = u32(r * bpr + (c >> 8u)) * 144u;
  let e = u32(c & 255);
  let s = (e >> 5u);
  let sm = scmin_${buf}(base, s);
  let q = gu32_${buf}(base + 16u + (e >> 6u) * 32u + (e & 31u)) >> ((s & 1u) * 4u);
  let v = vec4<f32>(vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xfu));
  let d1 = gf16_${buf}(base) * sm.x;
  let m1 = gf16_${buf}(base + 2u) * sm.y;
  return vec4<f32>(d1) * v - vec4<f32>(m1);
}
`;
}
