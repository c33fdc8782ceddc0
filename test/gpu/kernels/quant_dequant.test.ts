/**
 * ggml blocks held packed on the GPU (uploadFrozen, frozenBits 4: a GGUF
 * tensor's Q8_0/Q4_0/Q4_1/Q4_K blocks kept as they are) read back three ways
 * and held against a float64 dequantization of the same blocks
 * (test/peers/quant_reference.py, written from ggml-common.h's layouts,
 * independent of gguf-py and of ggml_quants.ts), rounded once to f32: exact,
 * every value (issue 23 item 2). Every ggml product and sum here is exact in
 * f32 but the last, so an exact kernel gives the f32 rounding of the f64 value.
 *   (1) frozenF32(w)          the dequantize pass (the reference path's copy)
 *   (2) embeddingRows(w, ids) the row gather, every row
 *   (3) logitsFor(I, w)       the LM head's matmul by the identity (cols, cols), I·wᵀ:
 *                             each output is one weight times 1 plus zeros, so wᵀ exactly
 *   (4) timesFrozen(I, w)     the loss backward's p·W by the identity (rows, rows): w
 *                             (a split W sums its row blocks' partial products)
 * Both kernel flavours, kernel mode 'fused'. Cases: real rows of the
 * SmolLM2-135M-Instruct Q4_1 GGUF (8 rows each of blk.0.attn_q and
 * blk.0.ffn_down in Q4_1, token_embd in Q8_0) and random blocks of every
 * format (finite f16 scales of both signs, subnormal ones included; Q4_K
 * also on rows that are not a whole number of 256 weights); two of them
 * uploaded in ≥ 3 row blocks (a small blockBytes) for the split path.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../../src/engine/gpu/device';
import { blocksPerRow, disposeFrozen, frozenF32, isPacked, QUANT_BLOCK, uploadFrozen, type QuantFormat } from '../../../src/engine/frozen';
import { dequantize } from '../../../src/engine/io/ggml_quants';
import type { HostTensor } from '../../../src/engine/io/weights';
import { embeddingRows, logitsFor, timesFrozen } from '../../../src/engine/ops/frozen_matmul';
import { setKernelMode } from '../../../src/engine/ops/mode';
import { setKernelFlavor, type KernelFlavor } from '../../../kernels/program';
import { peerPython, smolGguf } from '../../helpers/python';

interface Case { name: string; format: QuantFormat; rows: number; cols: number }
/** cases uploaded with a blockBytes of 3 or 4 rows, so in ≥ 3 row blocks */
const SPLIT: Record<string, number> = { 'real_blk.0.ffn_down.weight': 3, random_Q4_K_12x64: 4 };

let out: string;
let cases: Case[];

beforeAll(async () => {
  await initGpu();
  setKernelMode('fused');
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'quant-ref-'));
  const r = spawnSync(peerPython(), [path.join(__dirname, '../../peers/quant_reference.py'), '--out', out, '--gguf', smolGguf()], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`quant_reference.py failed (${r.status ?? r.signal}):\n${r.stderr.slice(-3000)}`);
  cases = JSON.parse(fs.readFileSync(path.join(out, 'cases.json'), 'utf8'));
});
afterAll(() => setKernelFlavor(null));

const read = (c: Case, ext: string) => fs.readFileSync(path.join(out, `${c.name}.${ext}`));

/** The raw blocks, and the f64 reference of the (rows, cols) weights rounded once to f32 (each row's padding dropped). */
function load(c: Case): { blocks: Uint8Array; want: Float32Array } {
  const blocks = new Uint8Array(read(c, 'blocks'));
  const b = read(c, 'f64');
  const f64 = new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const padded = blocksPerRow(c.format, c.cols) * QUANT_BLOCK[c.format][0];
  expect(f64.length).toBe(c.rows * padded);
  const want = new Float32Array(c.rows * c.cols);
  for (let r = 0; r < c.rows; r++) for (let j = 0; j < c.cols; j++) want[r * c.cols + j] = Math.fround(f64[r * padded + j]);
  return { blocks, want };
}

/** A GGUF-like host tensor carrying its blocks; data (for paths that want f32) is our host dequantization. */
function hostTensor(c: Case, blocks: Uint8Array): HostTensor {
  const [per, size] = QUANT_BLOCK[c.format];
  const bpr = blocksPerRow(c.format, c.cols);
  return {
    shape: [c.rows, c.cols],
    gguf: { type: c.format, blocks },
    get data() {
      const row = new Float32Array(bpr * per);
      const data = new Float32Array(c.rows * c.cols);
      for (let r = 0; r < c.rows; r++) {
        dequantize(c.format, blocks.subarray(r * bpr * size, (r + 1) * bpr * size), bpr * per, row);
        data.set(row.subarray(0, c.cols), r * c.cols);
      }
      return data;
    },
  };
}

/** Mismatches of got (laid out as want, or as its transpose) against want, exact equality, and the largest |difference|. */
function mismatches(got: ArrayLike<number>, want: Float32Array, rows: number, cols: number, transposed = false): { bad: number; maxDiff: number; first: string } {
  let bad = 0;
  let maxDiff = 0;
  let first = '';
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < cols; j++) {
      const g = got[transposed ? j * rows + r : r * cols + j];
      const w = want[r * cols + j];
      if (g !== w) {
        if (!bad) first = ` first at (${r}, ${j}): got ${g}, want ${w}`;
        bad++;
        maxDiff = Math.max(maxDiff, Number.isNaN(g) ? Infinity : Math.abs(g - w));
      }
    }
  return { bad, maxDiff, first };
}

describe('the float64 reference', () => {
  it('equals our host dequantization (ggml_quants.ts) of the same blocks', () => {
    for (const c of cases) {
      const { blocks, want } = load(c);
      const m = mismatches(hostTensor(c, blocks).data, want, c.rows, c.cols);
      expect(m.bad, `${c.name}:${m.first}`).toBe(0);
    }
    console.log(`${cases.length} cases: ${cases.map((c) => `${c.name} ${c.format} (${c.rows}, ${c.cols})`).join(', ')}`);
  });
});

for (const flavor of ['simple', 'tiled'] as KernelFlavor[])
  describe(`ggml blocks on the GPU read back exactly (${flavor})`, () => {
    beforeAll(() => setKernelFlavor(flavor));

    it('every case: dequantize pass, row gather, both identity matmuls', async () => {
      expect(cases.length).toBeGreaterThanOrEqual(9);
      for (const c of cases) {
        const { blocks, want } = load(c);
        const rowBytes = blocksPerRow(c.format, c.cols) * QUANT_BLOCK[c.format][1];
        const split = SPLIT[c.name];
        const w = uploadFrozen(hostTensor(c, blocks), { frozenBits: 4, ...(split ? { blockBytes: split * rowBytes } : {}) });
        expect(isPacked(w) && w.format, c.name).toBe(c.format);
        if (!isPacked(w)) throw new Error('not packed');
        if (split) expect(w.blocks.length, `${c.name} row blocks`).toBeGreaterThanOrEqual(3);

        const ids = tf.range(0, c.rows, 1, 'int32') as tf.Tensor1D;
        const eyeCols = tf.eye(c.cols) as tf.Tensor2D;
        const eyeRows = tf.eye(c.rows) as tf.Tensor2D;
        const t0 = performance.now();
        const [dense, gathered, logits, pw] = await Promise.all(
          [frozenF32(w), embeddingRows(w, ids), logitsFor(eyeCols, w), timesFrozen(eyeRows, w)].map(async (t) => {
            const d = await t.data();
            t.dispose();
            return d as Float32Array;
          }),
        );
        const ms = performance.now() - t0;
        const checks = {
          frozenF32: mismatches(dense, want, c.rows, c.cols),
          embeddingRows: mismatches(gathered, want, c.rows, c.cols),
          'logitsFor(I, w)': mismatches(logits, want, c.rows, c.cols, true),
          'timesFrozen(I, w)': mismatches(pw, want, c.rows, c.cols),
        };
        console.log(
          `${flavor} ${c.name} ${c.format} (${c.rows}, ${c.cols})${split ? `, ${w.blocks.length} row blocks` : ''}: ` +
            Object.entries(checks).map(([k, m]) => `${k} ${m.bad} of ${want.length} differ (max |Δ| ${m.maxDiff})`).join('; ') +
            ` [${ms.toFixed(0)} ms]`,
        );
        for (const [k, m] of Object.entries(checks)) expect(m.bad, `${flavor} ${c.name} ${k}:${m.first}`).toBe(0);
        tf.dispose([ids, eyeCols, eyeRows]);
        disposeFrozen(w);
      }
    });
  });
