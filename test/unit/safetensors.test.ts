import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, readSafetensors, writeSafetensors } from '../../src/engine/io/safetensors';
import { LoadError } from '../../src/engine/io/weights';

const sample = () => Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 3 + i * 0.01);

function withHeader(header: object, dataBytes: number): Uint8Array {
  const hb = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + hb.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  return out;
}

describe('safetensors', () => {
  it('round-trips F32 exactly and F16/BF16 within their precision', () => {
    const data = sample();
    for (const [dtype, tol] of [['F32', 0], ['F16', 2 ** -11], ['BF16', 2 ** -8]] as const) {
      const bytes = writeSafetensors({ w: { dtype, shape: [4, 6], data } });
      const { tensors } = readSafetensors(bytes, 'x.safetensors');
      const t = tensors.get('w')!;
      expect(t.shape).toEqual([4, 6]);
      const maxRel = Math.max(...Array.from(t.data, (v, i) => Math.abs(v - data[i]) / Math.max(Math.abs(data[i]), 1e-3)));
      console.log(`${dtype}: max relative error ${maxRel.toExponential(2)}`);
      expect(maxRel).toBeLessThanOrEqual(tol);
    }
  });

  it('decodes IEEE half floats including subnormals, infinities and NaN', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(f16ToF32(0x7e00))).toBe(true);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(1e6)).toBe(0x7c00);
  });

  it('names the file and the problem for a truncated file', () => {
    const bytes = writeSafetensors({ w: { shape: [4, 6], data: sample() } });
    expect(() => readSafetensors(bytes.subarray(0, bytes.length - 10), 'model.safetensors')).toThrow(/model\.safetensors: tensor "w": data_offsets end at 96 but the file has only 86 data bytes/);
    expect(() => readSafetensors(bytes.subarray(0, 5), 'model.safetensors')).toThrow(LoadError);
    expect(() => readSafetensors(bytes.subarray(0, 20), 'model.safetensors')).toThrow(/header claims 64 bytes but the file is only 20 bytes \(truncated\?\)/);
  });

  it('rejects a header that lies about offsets, sizes or dtypes', () => {
    const cases: [object, RegExp][] = [
      [{ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, /span 12 bytes but F32 \[2,2\] needs 16/],
      [{ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, v: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, /overlap/],
      [{ w: { dtype: 'F32', shape: [2, 2], data_offsets: [8, 24] } }, /end at 24 but the file has only 16/],
      [{ w: { dtype: 'Q4', shape: [2], data_offsets: [0, 1] } }, /unknown dtype "Q4"/],
      [{ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, /bad shape/],
      [{ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, /bad data_offsets/],
    ];
    for (const [header, msg] of cases) expect(() => readSafetensors(withHeader(header, 16), 'a.safetensors')).toThrow(msg);
    const garbage = withHeader({ padding: 'xxxxxxxxxxxx' }, 0);
    garbage.set(new TextEncoder().encode('{"w": '), 8);
    expect(() => readSafetensors(garbage, 'a.safetensors')).toThrow(/a\.safetensors: header is not valid JSON/);
    const i32 = withHeader({ w: { dtype: 'I32', shape: [4], data_offsets: [0, 16] } }, 16);
    expect(() => readSafetensors(i32, 'a.safetensors')).toThrow(/is I32; only F32, F16 and BF16/);
  });
});
