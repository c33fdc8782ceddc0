/**
 * ggml_quants.ts against gguf-py's dequantization (the gguf package, which
 * transformers' GGUF loader uses, mirroring ggml's dequantize_row_*): bit for
 * bit, on 40 random blocks of every quantized type (finite f16 scales), 1000
 * random F32/F16/BF16 values, and on real blocks of the SmolLM2-135M-Instruct
 * file (its Q8_0 embedding and two Q4_1 matrices, read by our GGUF reader).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGgufHeader, readGgufTensorBytes } from '../../src/engine/io/gguf';
import { BLOCK, dequantize, typeNameOf, type GgmlTypeName } from '../../src/engine/io/ggml_quants';
import { fileByteSource } from '../../src/engine/io/node_source';
import { peerPython, smolGguf } from '../helpers/python';

const REAL = ['token_embd.weight', 'blk.0.attn_q.weight', 'blk.3.ffn_down.weight'];
let out: string;

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'dequant-'));
  const r = spawnSync(peerPython(), [path.join(__dirname, 'dequant_reference.py'), '--out', out, '--gguf', smolGguf(), '--tensors', REAL.join(',')], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`dequant_reference.py failed (${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`);
});

const f32File = (name: string) => {
  const b = fs.readFileSync(path.join(out, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** Indices where two f32 arrays differ in their bits (so -0 ≠ 0 and NaN patterns count). */
function bitDiffs(a: Float32Array, b: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) bad.push(i);
  return bad;
}

describe('ggml dequantization equals gguf-py bit for bit', () => {
  for (const type of Object.keys(BLOCK) as GgmlTypeName[]) {
    it(type, () => {
      const blocks = new Uint8Array(fs.readFileSync(path.join(out, `${type}.blocks`)));
      const want = f32File(`${type}.f32`);
      const got = new Float32Array(want.length);
      dequantize(type, blocks, want.length, got);
      const bad = bitDiffs(got, want);
      if (bad.length) console.log(`${type}: first difference at ${bad[0]}: ours ${got[bad[0]]}, gguf-py ${want[bad[0]]}`);
      expect(bad.length).toBe(0);
      console.log(`${type}: ${want.length} values equal`);
    });
  }

  it('real blocks of SmolLM2-135M-Instruct (Q8_0 embedding, Q4_1 matrices)', async () => {
    const src = fileByteSource(smolGguf());
    const h = await readGgufHeader(src);
    for (const name of REAL) {
      const t = h.tensors.find((x) => x.name === name)!;
      const want = f32File(`real_${name}.f32`);
      const got = new Float32Array(want.length);
      dequantize(typeNameOf(t.type), await readGgufTensorBytes(src, t), want.length, got);
      expect(bitDiffs(got, want).length).toBe(0);
      console.log(`${name} (${t.typeName}, ${t.shape}): ${want.length} values equal`);
    }
  });
});
