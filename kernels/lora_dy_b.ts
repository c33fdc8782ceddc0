/** loraDyB (lora_dy_b.wgsl.ts): dyb (M, G·r) = dy·B per stacked LoRA member, B read from the flat adapter buffer. */
import * as tf from '@tensorflow/tfjs';
import { DYB_THREADS, DYB_UNIFORMS, loraDyBWgsl } from './lora_dy_b.wgsl';
import { assertFloat32, i32, runKernel } from './program';

/** `outs`: each member's output width (1 to 3 members), summing to dy's width; B_stacked (Σ outs, r) at float offset `bOffset` of `params`. */
export function loraDyB(dy: tf.Tensor2D, params: tf.Tensor, bOffset: number, rank: number, outs: number[]): tf.Tensor2D {
  assertFloat32('loraDyB', dy, params);
  const [M, Ncols] = dy.shape;
  const G = outs.length;
  if (G < 1 || G > 3 || outs.reduce((a, b) => a + b, 0) !== Ncols) throw new Error(`loraDyB: member widths ${outs} for dy ${dy.shape}`);
  if ([rank, Ncols, bOffset, ...outs].some((n) => n % 4 !== 0)) throw new Error(`loraDyB: rank ${rank}, widths ${outs} and offset ${bOffset} must be multiples of 4`);
  if (bOffset + Ncols * rank > params.size) throw new Error(`loraDyB: B (${Ncols}×${rank}) does not fit at ${bOffset} in ${params.size} values`);
  const g1 = G > 1 ? outs[0] : Ncols;
  const g2 = G > 2 ? outs[0] + outs[1] : Ncols;
  const blocks = Math.ceil(M / 4) * G * (rank / 4);
  return runKernel(
    {
      key: 'lora_dy_b',
      inputs: ['dy', 'vmat'],
      outputShape: [M, G * rank],
      dispatch: [Math.ceil(blocks / DYB_THREADS), 1, 1],
      workgroupSize: [DYB_THREADS, 1, 1],
      uniforms: DYB_UNIFORMS,
      code: loraDyBWgsl(),
      components: [4, 4],
    },
    [dy, params],
    'float32',
    [i32(M), i32(Ncols), i32(rank), i32(G), i32(g1), i32(g2), i32(bOffset / 4)],
  ) as tf.Tensor2D;
}
