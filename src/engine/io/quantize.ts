/**
 * Quantization of f32 matrices to ggml's Q8_0 and Q4_0 blocks, for the
 * "Frozen weights: 8-bit / 4-bit" choice on safetensors checkpoints
 * (frozen.ts BITS_FORMAT). Mirrors ggml's reference quantizers, the ones
 * "for deterministic creation of model files" (ggml/src/ggml-quants.c
 * quantize_row_q8_0_ref, quantize_row_q4_0_ref), which gguf-py's
 * quants.py (Q8_0.quantize_blocks, Q4_0.quantize_blocks) reproduces in
 * numpy: bit for bit with gguf-py (test/peers/gguf_quantize.test.ts),
 * one documented difference aside. Block layouts: ggml_quants.ts.
 *
 *   Q8_0  amax = max |x|,  d = amax / 127,  q = roundf(x · (1/d))          y = d·q
 *   Q4_0  max = the x of largest |x| (the first one),  d = max / −8,
 *         q = min(15, trunc(x · (1/d) + 8.5))                              y = d·(q − 8)
 *
 * Precision, each step as ggml's C does it in f32 (Math.fround after each;
 * an f32 quotient, product or sum of two f32 values rounded once from the
 * double is the correctly rounded f32 result):
 * - d is an f32 quotient; q uses id = 1/d, an f32 reciprocal, and the f32
 *   product x·id, not x/d (they differ in the last bit, which moves q at
 *   the half-way points). q is made with the f32 d, not the f16 d stored.
 * - d is stored as f16 rounded to nearest even from that f32 (ggml's
 *   GGML_FP32_TO_FP16, the FP16 library's conversion; numpy's astype
 *   float16 rounds the same), subnormal f16 scales included, and overflow
 *   to ±inf (absmax above 65504·127 for Q8_0, 65504·8 for Q4_0).
 * - Q8_0's roundf rounds half away from zero (gguf-py's np_roundf, not
 *   numpy's half-to-even np.round).
 * - Q4_0 rounds by truncating x·id + 8.5, itself an f32 sum: half-way
 *   points go up (x·id = −2.5 gives q − 8 = −2), and so do the x·id just
 *   below one that the sum rounds up onto it (2.5 − 2⁻²¹, two f32 steps
 *   below 2.5, sums to 11 − 2⁻²¹, which rounds to 11: q − 8 = 3, where the
 *   exact sum would give 2).
 * - Q4_0's max keeps its sign and is the first of equal |x| (ggml's strict
 *   `amax < fabsf(v)`, numpy's first argmax), so [0.5, −0.5, …] gives d < 0.
 *
 * The difference: a Q4_0 block of zeros whose first weight is −0. ggml's C
 * starts max at +0 and never replaces it, so d = +0/−8 = −0 (f16 0x8000);
 * gguf-py takes max = x[argmax] = −0, so d = +0 (0x0000). We follow ggml's
 * C. Every all-zero block (the zero padding too) stores d = −0 in Q4_0 and
 * so dequantizes to −0.
 *
 * Tiny blocks: when d is an f32 subnormal, 1/d overflows to inf (absmax
 * below about 127·2⁻¹²⁶ for Q8_0, 8·2⁻¹²⁶ for Q4_0; the stored f16 d is 0
 * there, so the block dequantizes to zeros whatever q is) and ggml's C
 * converts ±inf or NaN (0·inf) to an int8, which C leaves undefined. We
 * write q = 0 in both formats, what x86's conversion gives (cvttss2si's
 * 0x80000000, whose low byte is 0) and so what ggml and gguf-py write on
 * x86. NaN inputs are not mirrored (ggml's MAX keeps or drops a NaN by its
 * position in the block).
 */
import { blocksPerRow, QUANT_BLOCK } from '../../../kernels/packed_weight';
import { f32ToF16 } from './safetensors';

export type QuantizeFormat = 'Q8_0' | 'Q4_0';

const fr = Math.fround;

/**
 * Quantizes a row-major (rows, cols) f32 matrix to `type` blocks, row after
 * row, each row zero-padded to blocksPerRow(type, cols) whole blocks of 32:
 * rows × blocksPerRow × blockBytes bytes, as a GGUF stores the tensor.
 */
export function quantizeRows(data: Float32Array, rows: number, cols: number, type: QuantizeFormat): Uint8Array {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols <= 0) throw new Error(`quantizeRows: shape (${rows}, ${cols})`);
  if (data.length !== rows * cols) throw new Error(`quantizeRows: ${data.length} values for (${rows}, ${cols})`);
  const [per, size] = QUANT_BLOCK[type];
  const nb = blocksPerRow(type, cols);
  const out = new Uint8Array(rows * nb * size);
  const x = new Float32Array(per); // one block, zero-padded past the row's end
  const quantizeBlock = type === 'Q8_0' ? quantizeBlockQ8_0 : quantizeBlockQ4_0;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < nb; b++) {
      const c0 = b * per;
      const n = Math.min(per, cols - c0);
      x.set(data.subarray(r * cols + c0, r * cols + c0 + n));
      if (n < per) x.fill(0, n);
      quantizeBlock(x, out, (r * nb + b) * size);
    }
  }
  return out;
}

/** quantize_row_q8_0_ref on one block: d (f16), then 32 int8 q. */
function quantizeBlockQ8_0(x: Float32Array, out: Uint8Array, o: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[j]));
  const d = fr(amax / 127);
  let id = d ? fr(1 / d) : 0;
  if (!Number.isFinite(id)) id = 0; // d an f32 subnormal: q = 0, as on x86 (see the header)
  const h = f32ToF16(d);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
  for (let j = 0; j < 32; j++) {
    const v = fr(x[j] * id);
    // roundf: half away from zero (|v| + 0.5 is exact in a double)
    const q = v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
    out[o + 2 + j] = q & 0xff;
  }
}

/** quantize_row_q4_0_ref on one block: d (f16), then 16 bytes (weight j low nibble, weight j + 16 high). */
function quantizeBlockQ4_0(x: Float32Array, out: Uint8Array, o: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const a = Math.abs(x[j]);
    if (amax < a) {
      amax = a;
      max = x[j];
    }
  }
  const d = fr(max / -8);
  const id = d ? fr(1 / d) : 0;
  const h = f32ToF16(d);
  out[o] = h & 0xff;
  out[o + 1] = h >> 8;
  if (!Number.isFinite(id)) {
    out.fill(0, o + 2, o + 18); // d an f32 subnormal: q = 0, as on x86 (see the header)
    return;
  }
  for (let j = 0; j < 16; j++) {
    // (int8_t)(x·id + 8.5f): the sum rounded to f32, then truncated; it is ≥ 0 here
    const q0 = Math.min(15, Math.trunc(fr(fr(x[j] * id) + 8.5)));
    const q1 = Math.min(15, Math.trunc(fr(fr(x[j + 16] * id) + 8.5)));
    out[o + 2 + j] = q0 | (q1 << 4);
  }
}
