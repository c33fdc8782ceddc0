/**
 * Frozen weights kept at 16 bits (src/engine/frozen.ts): a BF16 or F16
 * checkpoint's matrices stay packed on the GPU, and every result equals the
 * f32 upload of the same values (16-bit → f32 is exact): logits, decoding,
 * the chunked loss, and the fused training gradients; also when the
 * embedding is split into row blocks (as on a device with the 128 MiB
 * binding default) and when an f32 checkpoint is stored as bf16 on request.
 * Both kernel flavours.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import { isPacked } from '../../src/engine/frozen';
import { LlamaModel, type UploadOptions } from '../../src/engine/model';
import { generate } from '../../src/engine/generate';
import { setKernelFlavor, type KernelFlavor } from '../../kernels/program';
import { writeTinyCheckpoint } from '../helpers/tiny_checkpoint';
import { fixedLoraGrads, promptLogits } from '../helpers/model_probes';

beforeAll(async () => {
  await initGpu();
});
afterAll(() => setKernelFlavor(null));

const ids = [1, 45, 300, 7, 99, 511, 260, 3, 128, 42, 17];

const logits = (model: LlamaModel) => promptLogits(model, ids);

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const grads = fixedLoraGrads;

for (const flavor of ['simple', 'tiled'] as KernelFlavor[])
  describe(`16-bit frozen weights equal the f32 path (${flavor})`, () => {
    beforeAll(() => setKernelFlavor(flavor));

    for (const [dtype, arch] of [['BF16', 'Qwen2ForCausalLM'], ['F16', 'LlamaForCausalLM']] as const) {
      it(`${dtype} ${arch}: packed on the GPU at 2 bytes a weight; logits, greedy decoding and LoRA gradients equal f32`, async () => {
        const { dir } = writeTinyCheckpoint({ arch, dtype, tied: arch === 'Qwen2ForCausalLM', heads: 4, kvHeads: 2, headDim: 8, hidden: 32 });
        const loaded = await loadHF(folderSource(dir));
        const packed = LlamaModel.fromLoaded(loaded);
        const f32 = LlamaModel.fromLoaded(loaded, { halves: false });
        expect(isPacked(packed.params.layers[0].qkv)).toBe(true);
        expect(isPacked(packed.params.embed)).toBe(true);
        expect(isPacked(f32.params.embed)).toBe(false);
        const matrices = packed.numParams() - f32.params.layers.length * 2 * 32 - 32 - (arch === 'Qwen2ForCausalLM' ? 2 * 64 : 0); // minus norms and biases
        expect(f32.weightBytes() - packed.weightBytes()).toBe(matrices * 2);
        const dl = maxAbsDiff(await logits(packed), await logits(f32));
        const gen = async (m: LlamaModel) => (await generate(m, ids.slice(0, 4), { maxNewTokens: 8, stopIds: [] })).ids;
        const dg = maxAbsDiff(await grads(packed), await grads(f32));
        console.log(`${flavor} ${dtype}: weights ${packed.weightBytes()} B packed vs ${f32.weightBytes()} B f32; max |logit diff| ${dl.toExponential(2)}, max |grad diff| ${dg.toExponential(2)}`);
        expect(dl).toBeLessThan(1e-5);
        expect(dg).toBeLessThan(1e-5);
        expect(await gen(packed)).toEqual(await gen(f32));
        packed.dispose();
        f32.dispose();
      });
    }

    it('an embedding split into row blocks (small binding limit) gives the same logits, loss gradients and greedy tokens', async () => {
      const { dir } = writeTinyCheckpoint({ dtype: 'BF16', tied: false });
      const loaded = await loadHF(folderSource(dir));
      const whole = LlamaModel.fromLoaded(loaded);
      const opts: UploadOptions = { blockBytes: 200 * 32 * 2 }; // 200 of 512 rows a block: 3 blocks, the last one short
      const split = LlamaModel.fromLoaded(loaded, opts);
      const e = split.params.embed;
      expect(isPacked(e) && e.blocks.map((b) => b.rows)).toEqual([200, 200, 112]);
      const dl = maxAbsDiff(await logits(split), await logits(whole));
      const dg = maxAbsDiff(await grads(split), await grads(whole));
      console.log(`${flavor} split embedding: max |logit diff| ${dl.toExponential(2)}, max |grad diff| ${dg.toExponential(2)}`);
      expect(dl).toBeLessThan(1e-5);
      expect(dg).toBeLessThan(1e-5);
      whole.dispose();
      split.dispose();
    });
  });

describe('an f32 checkpoint stored as bf16 on request', () => {
  it('rounds to bf16: equals the BF16 file of the same weights, and stays near f32', async () => {
    const f32File = writeTinyCheckpoint({ dtype: 'F32', seed: 9 });
    const bf16File = writeTinyCheckpoint({ dtype: 'BF16', seed: 9 });
    const fromF32 = LlamaModel.fromLoaded(await loadHF(folderSource(f32File.dir)), { storeBf16: true });
    const fromBf16 = LlamaModel.fromLoaded(await loadHF(folderSource(bf16File.dir)));
    const exact = LlamaModel.fromLoaded(await loadHF(folderSource(f32File.dir)));
    expect(fromF32.weightBytes()).toBe(fromBf16.weightBytes());
    expect(fromF32.weightBytes()).toBeLessThan(exact.weightBytes() * 0.55);
    // the same bits as the BF16 file's matrices (its writer rounds to nearest even too)
    const words = async (m: LlamaModel) => {
      const w = m.params.layers[1].gateUp;
      if (!isPacked(w)) throw new Error('not packed');
      return Array.from(await w.blocks[0].words.data());
    };
    expect(await words(fromF32)).toEqual(await words(fromBf16));
    const a = await logits(fromF32);
    const b = await logits(exact);
    const dRound = maxAbsDiff(a, b);
    console.log(`storeBf16: max |logit diff| vs exact f32 ${dRound.toExponential(2)}`);
    expect(dRound).toBeGreaterThan(0); // it does round
    expect(dRound).toBeLessThan(0.1);
    fromF32.dispose();
    fromBf16.dispose();
    exact.dispose();
  });
});
