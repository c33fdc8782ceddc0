/**
 * gather_rows — rows of a packed bf16/f16 matrix by index, unpacked to f32:
 * the embedding lookup (and the target rows of the LM head in the loss) on
 * frozen weights kept at 16 bits (src/engine/frozen.ts).
 *
 *   words (rows, d/2) int32: the block holding matrix rows [row0, row0 + rows)
 *   ids (N) int32           out (N, d) f32: out[n] = W[ids[n]]
 * Ids outside the block leave their row as it is, or write zeros with
 * `fill` (the first block of a split matrix makes the output, the others
 * write their rows in place). One invocation per word (two outputs); no
 * barriers, both flavours.
 */
import { halvesWgsl, type HalfFormat } from './halves.wgsl';

export function gatherRowsWgsl(format: HalfFormat, fill: boolean): string {
  return /* wgsl */ `
${halvesWgsl(format)}
fn main(index : i32) {
  let d2 = uniforms.d / 2;
  if (index >= uniforms.N * d2) { return; }
  let n = index / d2;
  let c = index % d2;
  let id = ids[n] - uniforms.row0;
  if (id >= 0 && id < uniforms.rows) {
    let v = unpack2h(words[id * d2 + c]);
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
