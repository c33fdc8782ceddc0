/**
 * ggml's tensor types as GGUF stores them, and their dequantization to f32,
 * value for value as ggml's `dequantize_row_*` (ggml-quants.c) and gguf-py's
 * `quants.py` compute it: every product and sum rounded to f32 in the same
 * order (Math.fround after each step; a double holds an f32 product exactly,
 * and one f32 rounding of a double sum of two f32 values is correct), so the
 * result is bit-exact. test/peers/gguf_dequant.test.ts holds each type
 * against gguf-py on random blocks.
 *
 * Block layouts (bytes; d, m, dmin are IEEE f16; ggml-common.h):
 *   Q8_0  32 weights, 34 B:  d, qs[32] int8                    y = d·q
 *   Q4_0  32 weights, 18 B:  d, qs[16] (low nibbles: 0..15, high: 16..31)   y = d·(q − 8)
 *   Q4_1  32 weights, 20 B:  d, m, qs[16]                      y = d·q + m
 *   Q5_0  32 weights, 22 B:  d, qh u32 (5th bit of weight j), qs[16]   y = d·(q − 16)
 *   Q5_1  32 weights, 24 B:  d, m, qh u32, qs[16]              y = d·q + m
 *   Q4_K 256 weights, 144 B: d, dmin, scales[12] (8 × 6-bit scale and min), qs[128]
 *                            sub-block s of 32: y = (d·sc_s)·q − dmin·m_s
 *   Q5_K 256 weights, 176 B: d, dmin, scales[12], qh[32] (bit s of qh[l]: 5th bit of weight l in sub-block s), qs[128]
 *   Q6_K 256 weights, 210 B: ql[128], qh[64], scales[16] int8, d   y = (d·sc)·(q − 32)
 */
import { f16ToF32 } from './f16';

/** ggml_type ids (ggml.h) of the types GGUF files carry that we read, and their names. */
export const GGML_TYPES = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q4_K: 12, Q5_K: 13, Q6_K: 14, BF16: 30,
} as const;
export type GgmlTypeName = keyof typeof GGML_TYPES;

/** Names of every ggml type id (for messages about types we do not read). */
const ALL_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S',
  20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64',
  29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};

export function ggmlTypeName(type: number): string {
  return ALL_TYPE_NAMES[type] ?? `type ${type}`;
}

/** [weights per block, bytes per block] of each type we read (ggml_type_traits). */
export const BLOCK: Record<GgmlTypeName, [number, number]> = {
  F32: [1, 4], F16: [1, 2], BF16: [1, 2],
  Q8_0: [32, 34], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24],
  Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210],
};

export function isReadableType(type: number): type is (typeof GGML_TYPES)[GgmlTypeName] {
  return ALL_TYPE_NAMES[type] !== undefined && ALL_TYPE_NAMES[type] in BLOCK;
}

export function typeNameOf(type: number): GgmlTypeName {
  const n = ALL_TYPE_NAMES[type];
  if (!n || !(n in BLOCK)) throw new Error(`ggml ${ggmlTypeName(type)} is not read`);
  return n as GgmlTypeName;
}

/** Bytes `count` weights of `type` take (count must be a whole number of blocks). */
export function typeBytes(type: GgmlTypeName, count: number): number {
  const [w, b] = BLOCK[type];
  return (count / w) * b;
}

const fr = Math.fround;

/** f16 → f32 table: dequantization reads two scales per block, millions of times. */
const F16: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f16ToF32(i);
  return t;
})();

/** Q4_K/Q5_K's 8 six-bit (scale, min) pairs from 12 bytes at `o` (ggml get_scale_min_k4). */
function scaleMinK4(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j] & 63, b[o + j + 4] & 63];
  return [(b[o + j + 4] & 0xf) | ((b[o + j - 4] >> 6) << 4), (b[o + j + 4] >> 4) | ((b[o + j] >> 6) << 4)];
}

/**
 * Dequantizes `count` weights of `type` from `src` (whole blocks, from its
 * start) into `out` at `outOffset`. Mirrors dequantize_row_<type>.
 */
export function dequantize(type: GgmlTypeName, src: Uint8Array, count: number, out: Float32Array, outOffset = 0): void {
  const [per, size] = BLOCK[type];
  if (count % per !== 0) throw new Error(`${type}: ${count} weights is not a whole number of ${per}-weight blocks`);
  if (src.byteLength < (count / per) * size) throw new Error(`${type}: ${count} weights need ${(count / per) * size} bytes, got ${src.byteLength}`);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const h = (o: number) => F16[dv.getUint16(o, true)];
  const nb = count / per;
  let y = outOffset;
  switch (type) {
    case 'F32':
      for (let i = 0; i < count; i++) out[y + i] = dv.getFloat32(i * 4, true);
      return;
    case 'F16':
      for (let i = 0; i < count; i++) out[y + i] = h(i * 2);
      return;
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < count; i++) {
        u[0] = dv.getUint16(i * 2, true) << 16;
        out[y + i] = f[0];
      }
      return;
    }
    case 'Q8_0': // dequantize_row_q8_0
      for (let i = 0; i < nb; i++, y += 32) {
        const o = i * 34;
        const d = h(o);
        for (let j = 0; j < 32; j++) out[y + j] = fr(dv.getInt8(o + 2 + j) * d);
      }
      return;
    case 'Q4_0': // dequantize_row_q4_0
      for (let i = 0; i < nb; i++, y += 32) {
        const o = i * 18;
        const d = h(o);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 2 + j];
          out[y + j] = fr(((q & 0xf) - 8) * d);
          out[y + j + 16] = fr(((q >> 4) - 8) * d);
        }
      }
      return;
    case 'Q4_1': // dequantize_row_q4_1
      for (let i = 0; i < nb; i++, y += 32) {
        const o = i * 20;
        const d = h(o);
        const m = h(o + 2);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 4 + j];
          out[y + j] = fr(fr((q & 0xf) * d) + m);
          out[y + j + 16] = fr(fr((q >> 4) * d) + m);
        }
      }
      return;
    case 'Q5_0': // dequantize_row_q5_0
      for (let i = 0; i < nb; i++, y += 32) {
        const o = i * 22;
        const d = h(o);
        const qh = dv.getUint32(o + 2, true);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 6 + j];
          const x0 = ((q & 0xf) | (((qh >>> j) << 4) & 0x10)) - 16;
          const x1 = ((q >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
          out[y + j] = fr(x0 * d);
          out[y + j + 16] = fr(x1 * d);
        }
      }
      return;
    case 'Q5_1': // dequantize_row_q5_1
      for (let i = 0; i < nb; i++, y += 32) {
        const o = i * 24;
        const d = h(o);
        const m = h(o + 2);
        const qh = dv.getUint32(o + 4, true);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 8 + j];
          const x0 = (q & 0xf) | (((qh >>> j) << 4) & 0x10);
          const x1 = (q >> 4) | ((qh >>> (j + 12)) & 0x10);
          out[y + j] = fr(fr(x0 * d) + m);
          out[y + j + 16] = fr(fr(x1 * d) + m);
        }
      }
      return;
    case 'Q4_K': // dequantize_row_q4_K
      for (let i = 0; i < nb; i++) {
        const o = i * 144;
        const d = h(o);
        const dmin = h(o + 2);
        let q = o + 16;
        for (let s = 0; s < 8; s += 2, q += 32) {
          const [sc1, m1] = scaleMinK4(src, o + 4, s);
          const [sc2, m2] = scaleMinK4(src, o + 4, s + 1);
          const d1 = fr(d * sc1), mm1 = fr(dmin * m1), d2 = fr(d * sc2), mm2 = fr(dmin * m2);
          for (let l = 0; l < 32; l++) out[y + l] = fr(fr(d1 * (src[q + l] & 0xf)) - mm1);
          for (let l = 0; l < 32; l++) out[y + 32 + l] = fr(fr(d2 * (src[q + l] >> 4)) - mm2);
          y += 64;
        }
      }
      return;
    case 'Q5_K': // dequantize_row_q5_K
      for (let i = 0; i < nb; i++) {
        const o = i * 176;
        const d = h(o);
        const dmin = h(o + 2);
        const qh = o + 16;
        let ql = o + 48;
        for (let s = 0; s < 8; s += 2, ql += 32) {
          const [sc1, m1] = scaleMinK4(src, o + 4, s);
          const [sc2, m2] = scaleMinK4(src, o + 4, s + 1);
          const d1 = fr(d * sc1), mm1 = fr(dmin * m1), d2 = fr(d * sc2), mm2 = fr(dmin * m2);
          const u1 = 1 << s, u2 = 2 << s;
          for (let l = 0; l < 32; l++) out[y + l] = fr(fr(d1 * ((src[ql + l] & 0xf) + (src[qh + l] & u1 ? 16 : 0))) - mm1);
          for (let l = 0; l < 32; l++) out[y + 32 + l] = fr(fr(d2 * ((src[ql + l] >> 4) + (src[qh + l] & u2 ? 16 : 0))) - mm2);
          y += 64;
        }
      }
      return;
    case 'Q6_K': // dequantize_row_q6_K
      for (let i = 0; i < nb; i++) {
        const o = i * 210;
        const d = h(o + 208);
        for (let n = 0; n < 2; n++) {
          const ql = o + n * 64, qh = o + 128 + n * 32, sc = o + 192 + n * 8;
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const a = src[ql + l], b = src[ql + l + 32], c = src[qh + l];
            const q1 = ((a & 0xf) | (((c >> 0) & 3) << 4)) - 32;
            const q2 = ((b & 0xf) | (((c >> 2) & 3) << 4)) - 32;
            const q3 = ((a >> 4) | (((c >> 4) & 3) << 4)) - 32;
            const q4 = ((b >> 4) | (((c >> 6) & 3) << 4)) - 32;
            out[y + l] = fr(fr(d * dv.getInt8(sc + is)) * q1);
            out[y + l + 32] = fr(fr(d * dv.getInt8(sc + is + 2)) * q2);
            out[y + l + 64] = fr(fr(d * dv.getInt8(sc + is + 4)) * q3);
            out[y + l + 96] = fr(fr(d * dv.getInt8(sc + is + 6)) * q4);
          }
          y += 128;
        }
      }
      return;
  }
}

/**
 * A (rows, cols) matrix from rows of whole blocks, each row's zero padding
 * past `cols` dropped: the values a matrix quantized with its rows padded to
 * whole blocks (quantize.ts, frozen.ts) holds.
 */
export function dequantizeRows(type: GgmlTypeName, blocks: Uint8Array, rows: number, cols: number): Float32Array {
  const [per, size] = BLOCK[type];
  const bpr = Math.ceil(cols / per);
  const row = new Float32Array(bpr * per);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    dequantize(type, blocks.subarray(i * bpr * size, (i + 1) * bpr * size), bpr * per, row);
    out.set(row.subarray(0, cols), i * cols);
  }
  return out;
}
