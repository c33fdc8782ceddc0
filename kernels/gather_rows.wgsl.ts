/**
 * gather_rows — rows of a packed frozen matrix by index, unpacked to f32:
 * the embedding lookup (and the target rows of the LM head in the loss) on
 * frozen weights kept at 16 bits or as ggml blocks (src/engine/frozen.ts).
 *
 *   words: the block holding matrix rows [row0, row0 + rows): halves
 *          (rows, d/2) int32, or ggml blocks (quant_formats.wgsl.ts)
 *   ids (N) int32           out (N, d) f32: out[n] = W[ids[n]]
 * Ids outside the block leave their row as it is, or write zeros with
 * `fill` (the first block of a split matrix makes the output, the others
 * write their rows in place). One invocation per two outputs (one word of
 * halves); no barriers, both flavours. d is even.
 */
import { halvesWgsl, type HalfFormat } from './halves.wgsl';
import { isQuant, type FrozenFormat } from './packed_weight';
import { bprWgsl, quantWgsl } from './quant_formats.wgsl';

export function gatherRowsWgsl(format: FrozenFormat, fill: boolean): string {
  const read = isQuant(format)
    ? `let bpr = ${bprWgsl(format, 'uniforms.d')};
    let v = vec2<f32>(w1_words(id, 2 * c, bpr), w1_words(id, 2 * c + 1, bpr));`
    : 'let v = unpack2h(words[id * d2 + c]);';
  return /* wgsl */ `
${isQuant(format) ? quantWgsl(format, 'words') : halvesWgsl(format as HalfFormat)}
fn main(index : i32) {
  let d2 = uniforms.d / 2;
  if (index >= uniforms.N * d2) { return; }
  let n = index / d2;
  let c = index % d2;
  let id = ids[n] - uniforms.row0;
  if (id >= 0 && id < uniforms.rows) {
    ${read}
    result[index * 2] = v.x;
    result[index * 2 + 1] = v.y;
  }${
    fill
      ? ` else {
    result[index * 2] = 0.0;
    result[index * 2 + 1] = 0.0;
  }`
      : ''
  }
}
`;
}
