/**
 * halves — WGSL helpers that unpack 16-bit weights stored two per 32-bit
 * word (src/engine/frozen.ts): half 2j in the low 16 bits of word j, half
 * 2j+1 in the high 16. bf16 → f32: the 16 bits become the f32's high bits (a
 * shift or a mask); f16 → f32: WGSL's core unpack2x16float. Both exact; no
 * shader-f16 needed. Words are bound as i32 (tfjs's int32 tensors).
 */
export type HalfFormat = 'bf16' | 'f16';

/** `unpack2h(w: i32) -> vec2<f32>` (halves 2j, 2j+1 of word w) and `unpack4h(p: vec2<i32>) -> vec4<f32>`. */
export function halvesWgsl(format: HalfFormat): string {
  const two =
    format === 'bf16'
      ? 'let u = bitcast<u32>(w); return vec2<f32>(bitcast<f32>(u << 16u), bitcast<f32>(u & 0xffff0000u));'
      : 'return unpack2x16float(bitcast<u32>(w));';
  return /* wgsl */ `
fn unpack2h(w : i32) -> vec2<f32> { ${two} }
fn unpack4h(p : vec2<i32>) -> vec4<f32> { return vec4<f32>(unpack2h(p.x), unpack2h(p.y)); }
`;
}
