/**
 * quantize.ts against gguf-py's quantization (gguf.quants.quantize, numpy's
 * copy of ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref): the same
 * bytes, Q8_0 and Q4_0, on weight-like rows, blocks of magnitudes from 1e-9
 * to 1e4, crafted blocks (all zeros, a negative max, ±a as the max, exact
 * half-way points and the f32 values just below them, subnormal, zero and
 * overflowing f16 scales, f16 ties between subnormals, x whose q moves if 1/d
 * or x·(1/d) is not rounded to f32, f32-subnormal d), and rows whose length is
 * not a multiple of 32 (gguf-py quantizes the row padded with zeros). Our
 * dequantization (ggml_quants.ts) of our blocks equals gguf-py's of its own,
 * bit for bit. Inputs and gguf-py's answers come from quantize_reference.py.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantize } from '../../src/engine/io/ggml_quants';
import { quantizeRows, type QuantizeFormat } from '../../src/engine/io/quantize';
import { peerPython } from '../helpers/python';

interface Case { name: string; rows: number; cols: number }
let out: string;
let cases: Case[];

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'quantize-'));
  const r = spawnSync(peerPython(), [path.join(__dirname, 'quantize_reference.py'), '--out', out], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`quantize_reference.py failed (${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`);
  cases = JSON.parse(fs.readFileSync(path.join(out, 'cases.json'), 'utf8'));
});

const bytes = (name: string) => new Uint8Array(fs.readFileSync(path.join(out, name)));
const f32File = (name: string) => {
  const b = bytes(name);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** Indices where two f32 arrays differ in their bits (-0 ≠ 0), NaN matching any NaN (0·inf's NaN bits are the CPU's). */
function bitDiffs(a: Float32Array, b: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) bad.push(i);
  return bad;
}

const BLOCK_BYTES: Record<QuantizeFormat, number> = { Q8_0: 34, Q4_0: 18 };

function ours(c: Case, type: QuantizeFormat): { blocks: Uint8Array; values: Float32Array } {
  const blocks = quantizeRows(f32File(`${c.name}.in.f32`), c.rows, c.cols, type);
  const padded = Math.ceil(c.cols / 32) * 32;
  expect(blocks.length).toBe(c.rows * (padded / 32) * BLOCK_BYTES[type]);
  const values = new Float32Array(c.rows * padded);
  dequantize(type, blocks, values.length, values);
  return { blocks, values };
}

describe('host quantization equals gguf-py byte for byte', () => {
  for (const type of ['Q8_0', 'Q4_0'] as QuantizeFormat[]) {
    it(type, () => {
      let n = 0;
      for (const c of cases.filter((c) => c.name !== 'negative_zero_first')) {
        const { blocks, values } = ours(c, type);
        const want = bytes(`${c.name}.${type}.blocks`);
        const bad = blocks.findIndex((b, i) => b !== want[i]);
        if (bad >= 0) console.log(`${type} ${c.name}: first differing byte ${bad} (block ${Math.floor(bad / BLOCK_BYTES[type])}): ours ${blocks[bad]}, gguf-py ${want[bad]}`);
        expect(bad, `${type} ${c.name}`).toBe(-1);
        const badValues = bitDiffs(values, f32File(`${c.name}.${type}.f32`));
        if (badValues.length) console.log(`${type} ${c.name}: first differing value ${badValues[0]}: ours ${values[badValues[0]]}`);
        expect(badValues.length, `${type} ${c.name} values`).toBe(0);
        n += c.rows * c.cols;
        console.log(`${type} ${c.name} (${c.rows}, ${c.cols}): ${blocks.length} bytes and the dequantized values equal`);
      }
      console.log(`${type}: ${n} weights in ${cases.length - 1} cases`);
    });
  }

  it('a Q4_0 block of zeros led by -0: d = -0 as in ggml C (gguf-py writes +0), the same q', () => {
    const c = cases.find((c) => c.name === 'negative_zero_first')!;
    const q8 = ours(c, 'Q8_0').blocks;
    expect([...q8]).toEqual([...bytes(`${c.name}.Q8_0.blocks`)]);
    const q4 = ours(c, 'Q4_0').blocks;
    const want = bytes(`${c.name}.Q4_0.blocks`);
    expect([q4[0], q4[1]]).toEqual([0x00, 0x80]); // ggml: max stays +0, d = +0 / -8 = -0
    expect([want[0], want[1]]).toEqual([0x00, 0x00]); // gguf-py: max = x[argmax |x|] = -0, d = +0
    expect([...q4.subarray(2)]).toEqual([...want.subarray(2)]); // every q = 8
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => quantizeRows(new Float32Array(10), 3, 4, 'Q8_0')).toThrow(/10 values for \(3, 4\)/);
  });
});
