/**
 * The quantized block formats kept packed on the GPU, for the kernels that
 * read frozen matrices (matmul_simple, lora_linear, gather_rows,
 * dequantize_blocks): the one format's WGSL helper (q8_0.wgsl.ts,
 * q4_0.wgsl.ts, q4_1.wgsl.ts, q4_k.wgsl.ts) over binding `buf`, which
 * defines
 *
 *   w1_<buf>(r, c, bpr) -> f32         weight (r, c)
 *   w4_<buf>(r, c, bpr) -> vec4<f32>   weights (r, c..c+3), c % 4 == 0
 *
 * with bpr the blocks per row (`bprWgsl(format, cols)`), and the exact f16
 * decoder they share (ggml_bytes.wgsl.ts).
 */
import { F16_BITS_WGSL } from './ggml_bytes.wgsl';
import { QUANT_BLOCK, type QuantFormat } from './packed_weight';
import { q4_0Wgsl } from './q4_0.wgsl';
import { q4_1Wgsl } from './q4_1.wgsl';
import { q4_kWgsl } from './q4_k.wgsl';
import { q8_0Wgsl } from './q8_0.wgsl';

const HELPERS: Record<QuantFormat, (buf: string) => string> = { Q8_0: q8_0Wgsl, Q4_0: q4_0Wgsl, Q4_1: q4_1Wgsl, Q4_K: q4_kWgsl };

export function quantWgsl(format: QuantFormat, buf: string): string {
  return F16_BITS_WGSL + HELPERS[format](buf);
}

/** WGSL expression: blocks per row of `cols` (a WGSL i32 expression) weights. */
export function bprWgsl(format: QuantFormat, cols: string): string {
  const per = QUANT_BLOCK[format][0];
  return `((${cols} + ${per - 1}) / ${per})`;
}
