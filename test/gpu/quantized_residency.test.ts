/**
 * Frozen weights kept as ggml blocks on the GPU (issue 23, QLoRA in a tab):
 * Q8_0, Q4_0, Q4_1 and Q4_K matrices stay packed as a GGUF holds them, and
 * every kernel that reads a frozen matrix (both matmul flavours, the LoRA
 * linear, the embedding and target-row gather, the LM head and the chunked
 * loss) dequantizes in registers. Held against the f32 upload of the same
 * dequantized values (ggml_quants.ts, bit-exact with gguf-py): logits,
 * greedy tokens and the fused LoRA gradients agree within 1e-5 relative,
 * for Llama (GQA, no bias) and Qwen2 (biases, tied) shapes, rows that are
 * not a whole number of blocks (zero-padded: intermediate 48, and Q4_K's
 * 256-weight super-blocks over 64-wide rows), and an embedding split into
 * row blocks past a small binding limit. Both kernel flavours. And a
 * safetensors checkpoint (stories260K) quantized on load at 8 and 4 bits
 * (io/quantize.ts) runs as the f32 upload of the values its blocks hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import { dequantizeRows } from '../../src/engine/io/ggml_quants';
import { blocksPerRow, isPacked, QUANT_BLOCK, type QuantFormat } from '../../src/engine/frozen';
import type { HostTensor, WeightMap } from '../../src/engine/io/weights';
import { LlamaModel, type UploadOptions } from '../../src/engine/model';
import { generate } from '../../src/engine/generate';
import { setKernelFlavor, type KernelFlavor } from '../../kernels/program';
import { writeTinyCheckpoint } from '../helpers/tiny_checkpoint';
import { fixedLoraGrads, promptLogits } from '../helpers/model_probes';
import type { ModelConfig } from '../../src/engine/config';
import { quantizeRows } from '../../src/engine/io/quantize';
import { sharedPath } from '../helpers/shared';

beforeAll(async () => {
  await initGpu();
});
afterAll(() => setKernelFlavor(null));

const ids = [1, 45, 300, 7, 99, 511, 260, 3, 128, 42, 17];

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** f16 bits of 2^(e−15)·(1 + m/1024) for a random mantissa, e in [eLo, eHi] (0: subnormal); optionally negative. */
const f16 = (r: () => number, eLo: number, eHi: number, negative = false) => ((negative ? 0x8000 : 0) | ((eLo + Math.floor(r() * (eHi - eLo + 1))) << 10) | Math.floor(r() * 1024)) & 0xffff;

/**
 * Random blocks of `format` for a (rows, cols) matrix, rows of whole blocks,
 * with scales that keep weights near the sizes of a trained model's (|w| ≲ 0.4).
 * One block in 16 has a subnormal or negative scale.
 */
function randomBlocks(format: QuantFormat, rows: number, cols: number, seed: number): Uint8Array {
  const r = rng(seed);
  const [, size] = QUANT_BLOCK[format];
  const n = rows * blocksPerRow(format, cols);
  const out = new Uint8Array(n * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < n; b++) {
    const o = b * size;
    const odd = b % 16 === 5;
    if (format === 'Q8_0') dv.setUint16(o, odd ? f16(r, 0, 0) : f16(r, 3, 5), true);
    if (format === 'Q4_0') dv.setUint16(o, f16(r, 5, 7, odd), true);
    if (format === 'Q4_1') dv.setUint16(o, f16(r, 5, 7, odd), true), dv.setUint16(o + 2, f16(r, 9, 11, true), true);
    if (format === 'Q4_K') dv.setUint16(o, f16(r, odd ? 0 : 1, 3), true), dv.setUint16(o + 2, f16(r, 1, 3), true);
  }
  return out;
}


/** Every matrix of `w` as random `format` blocks: the block-carrying host weights and the f32 weights of the same values. */
function asBlocks(w: WeightMap, format: QuantFormat, seed: number): { blocks: WeightMap; f32: WeightMap } {
  const blocks: WeightMap = new Map();
  const f32: WeightMap = new Map();
  let k = 0;
  for (const [name, t] of w) {
    if (t.shape.length !== 2) {
      blocks.set(name, t);
      f32.set(name, t);
      continue;
    }
    const [rows, cols] = t.shape;
    const b = randomBlocks(format, rows, cols, seed * 1000 + k++);
    const data = dequantizeRows(format, b, rows, cols);
    blocks.set(name, { shape: t.shape, data, gguf: { type: format, blocks: b } } as HostTensor);
    f32.set(name, { shape: t.shape, data });
  }
  return { blocks, f32 };
}

const logits = (model: LlamaModel) => promptLogits(model, ids);

/** max |a − b| over max |b|. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) (d = Math.max(d, Math.abs(a[i] - b[i]))), (m = Math.max(m, Math.abs(b[i])));
  return d / m;
}

const grads = fixedLoraGrads;

const gen = async (m: LlamaModel) => (await generate(m, ids.slice(0, 4), { maxNewTokens: 8, stopIds: [] })).ids;

/** Quantized-resident vs f32 on the same values: logits, fused LoRA gradients, greedy tokens. */
async function compare(label: string, config: ModelConfig, w: { blocks: WeightMap; f32: WeightMap }, opts: UploadOptions = {}): Promise<LlamaModel> {
  const q = LlamaModel.fromWeights(config, w.blocks, { frozenBits: 4, ...opts });
  const f = LlamaModel.fromWeights(config, w.f32, { halves: false });
  const dl = relDiff(await logits(q), await logits(f));
  const dg = relDiff(await grads(q), await grads(f));
  const [gq, gf] = [await gen(q), await gen(f)];
  console.log(`${label}: weights ${q.weightBytes()} B as blocks vs ${f.weightBytes()} B f32; logits rel diff ${dl.toExponential(2)}, LoRA grads rel diff ${dg.toExponential(2)}; greedy ${gq.join(',')}`);
  expect(dl).toBeLessThanOrEqual(1e-5);
  expect(dg).toBeLessThanOrEqual(1e-5);
  expect(gq).toEqual(gf);
  f.dispose();
  return q;
}

const FORMATS: QuantFormat[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q4_K'];

for (const flavor of ['simple', 'tiled'] as KernelFlavor[])
  describe(`ggml blocks on the GPU equal the f32 path on the same values (${flavor})`, () => {
    beforeAll(() => setKernelFlavor(flavor));

    FORMATS.forEach((format, fi) => {
      const arch = fi % 2 === 0 ? 'LlamaForCausalLM' : 'Qwen2ForCausalLM';
      it(`${format}, ${arch}: kept as blocks; logits, LoRA gradients and greedy tokens`, async () => {
        const { dir } = writeTinyCheckpoint({ arch, dtype: 'F32', tied: arch === 'Qwen2ForCausalLM', heads: 4, kvHeads: 2, headDim: 16, hidden: 64 });
        const loaded = await loadHF(folderSource(dir));
        const w = asBlocks(loaded.weights, format, 7 + fi);
        const q = await compare(`${flavor} ${format} ${arch}`, loaded.config, w);
        for (const m of [q.params.embed, q.params.layers[0].qkv, q.params.layers[1].down]) expect(isPacked(m) && m.format).toBe(format);
        q.dispose();
      });
    });

    it('an embedding of Q4_1 blocks split into row blocks (small binding limit)', async () => {
      const { dir } = writeTinyCheckpoint({ dtype: 'F32', tied: false, hidden: 64, heads: 4, kvHeads: 2, headDim: 16 });
      const loaded = await loadHF(folderSource(dir));
      const w = asBlocks(loaded.weights, 'Q4_1', 31);
      const q = await compare(`${flavor} Q4_1 split embedding`, loaded.config, w, { blockBytes: 200 * 2 * 20 }); // 200 rows of 2 blocks: 3 row blocks of 512
      const e = q.params.embed;
      expect(isPacked(e) && e.blocks.map((b) => b.rows)).toEqual([200, 200, 112]);
      q.dispose();
    });
  });

describe('stories260K quantized on load (frozenBits 8 and 4)', () => {
  beforeAll(() => setKernelFlavor('simple'));
  for (const [bits, format] of [[8, 'Q8_0'], [4, 'Q4_0']] as const)
    it(`${bits} bits: every matrix as ${format} blocks, deterministic; the same results as f32 weights of the values they hold`, async () => {
      const loaded = await loadHF(folderSource(sharedPath('models/stories260K-hf')));
      const f32: WeightMap = new Map();
      for (const [name, t] of loaded.weights) {
        if (t.shape.length !== 2) f32.set(name, t);
        else f32.set(name, { shape: t.shape, data: dequantizeRows(format, quantizeRows(t.data, t.shape[0], t.shape[1], format), t.shape[0], t.shape[1]) });
      }
      const q = await compare(`simple ${format} on load`, loaded.config, { blocks: loaded.weights, f32 }, { frozenBits: bits });
      const again = LlamaModel.fromLoaded(loaded, { frozenBits: bits });
      const words = async (m: LlamaModel) => {
        const w = m.params.layers[2].down; // (64, 172): rows padded to whole blocks
        if (!isPacked(w) || w.format !== format) throw new Error(`down_proj held as ${isPacked(w) ? w.format : 'f32'}`);
        return Array.from(await w.blocks[0].words.data());
      };
      expect(await words(again)).toEqual(await words(q));
      q.dispose();
      again.dispose();
    });
});
