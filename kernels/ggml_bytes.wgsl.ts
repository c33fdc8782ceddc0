/**
 * ggml_bytes — WGSL readers of a ggml block buffer bound as words (array of
 * i32, tfjs's int32 tensors; the blocks' bytes little-endian, four a word,
 * zero-padded to a whole word, src/engine/frozen.ts): a byte, an IEEE f16 at
 * an even byte offset, four bytes at an even offset (every ggml block is an
 * even number of bytes and its fields sit at even offsets, so an f16 never
 * straddles two words and four bytes straddle at most two).
 *
 * The f16 is decoded with integer ops, not unpack2x16float: exact for
 * normal and subnormal halves alike (a subnormal's m·2⁻²⁴ is exact in f32),
 * whatever the implementation does with f16 subnormals.
 *
 * Each quantized format's helper (q8_0.wgsl.ts, q4_0.wgsl.ts, q4_1.wgsl.ts,
 * q4_k.wgsl.ts) calls these on the buffer it is given.
 */

/** The readers over binding `buf`, their names suffixed `_<buf>` so two buffers can each have theirs. */
export function ggmlBytesWgsl(buf: string): string {
  return /* wgsl */ `
fn gw_${buf}(i : u32) -> u32 { return bitcast<u32>(${buf}[i]); }
fn gu8_${buf}(b : u32) -> u32 { return (gw_${buf}(b >> 2u) >> ((b & 3u) * 8u)) & 0xffu; }
fn gu32_${buf}(b : u32) -> u32 {
  let lo = gw_${buf}(b >> 2u);
  if ((b & 3u) == 0u) { return lo; }
  return (lo >> 16u) | (gw_${buf}((b >> 2u) + 1u) << 16u);
}
fn gf16_${buf}(b : u32) -> f32 { return f16Bits(gw_${buf}(b >> 2u) >> ((b & 2u) * 8u)); }
`;
}

/** f16 bits (low 16 of h) → f32, exactly; shared by every buffer's readers. */
export const F16_BITS_WGSL = /* wgsl */ `
fn f16Bits(hIn : u32) -> f32 {
  let h = hIn & 0xffffu;
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return bitcast<f32>(sign | bitcast<u32>(f32(m) * 5.9604644775390625e-8)); }
  if (e == 31u) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}
`;
