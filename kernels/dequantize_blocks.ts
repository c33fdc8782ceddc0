/**
 * dequantizeBlocks: one row block of a frozen matrix held as ggml blocks
 * (Q8_0, Q4_0, Q4_1, Q4_K; quant_formats.wgsl.ts) → f32 (rows, cols),
 * exactly as ggml's dequantize_row_* computes it. For the composed
 * reference path and the few fallbacks that need an f32 copy of a frozen
 * weight (src/engine/frozen.ts frozenF32); the fused kernels read the blocks
 * themselves and never make this copy. One invocation per weight; no
 * barriers.
 */
import * as tf from '@tensorflow/tfjs';
import type { QuantFormat } from './packed_weight';
import { runKernel } from './program';
import { bprWgsl, quantWgsl } from './quant_formats.wgsl';

export function dequantizeBlocks(words: tf.Tensor2D, format: QuantFormat, rows: number, cols: number): tf.Tensor2D {
  if (words.dtype !== 'int32') throw new Error(`dequantizeBlocks: words must be int32, got ${words.dtype}`);
  return runKernel(
    {
      key: `dequantize_blocks_${format}`,
      inputs: ['words'],
      outputShape: [rows, cols],
      dispatch: [Math.ceil((rows * cols) / 64), 1, 1],
      workgroupSize: [64, 1, 1],
      uniforms: 'rows : i32, cols : i32,',
      code: /* wgsl */ `
${quantWgsl(format, 'words')}
fn main(index : i32) {
  if (index >= uniforms.rows * uniforms.cols) { return; }
  result[index] = w1_words(index / uniforms.cols, index % uniforms.cols, ${bprWgsl(format, 'uniforms.cols')});
}
`,
    },
    [words],
    'float32',
    [{ type: 'int32', data: [rows] }, { type: 'int32', data: [cols] }],
  ) as tf.Tensor2D;
}
