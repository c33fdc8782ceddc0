/**
 * unpackHalves: words (rows, cols/2) int32 of packed bf16/f16 → f32 (rows, cols),
 * exactly (halves.wgsl.ts). For the composed reference path and the few
 * fallbacks that need an f32 copy of a frozen weight; the fused kernels read
 * the packed words themselves. One invocation per word; no barriers.
 */
import * as tf from '@tensorflow/tfjs';
import { halvesWgsl, type HalfFormat } from './halves.wgsl';
import { runKernel } from './program';

export function unpackHalves(words: tf.Tensor2D, format: HalfFormat): tf.Tensor2D {
  if (words.dtype !== 'int32') throw new Error(`unpackHalves: words must be int32, got ${words.dtype}`);
  const [rows, w2] = words.shape;
  return runKernel(
    {
      key: `unpack_halves_${format}`,
      inputs: ['words'],
      outputShape: [rows, w2 * 2],
      dispatch: [Math.ceil((rows * w2) / 64), 1, 1],
      workgroupSize: [64, 1, 1],
      uniforms: 'n : i32,',
      code: /* wgsl */ `
${halvesWgsl(format)}
fn main(index : i32) {
  if (index >= uniforms.n) { return; }
  let v = unpack2h(words[index]);
  result[index * 2] = v.x;
  result[index * 2 + 1] = v.y;
}
`,
    },
    [words],
    'float32',
    [{ type: 'int32', data: [rows * w2] }],
  ) as tf.Tensor2D;
}
