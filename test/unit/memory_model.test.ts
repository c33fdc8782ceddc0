/**
 * The memory model at 16, 8 and 4 frozen bits (issue 23): the bytes per
 * matrix weight a choice of bits gives, the mean a loaded model's
 * weightBytes() gives back, and the estimate at each choice for the
 * Qwen2.5 shapes: only the weights (and the weights' buffers in
 * largestBuffer) change with the bits; Qwen2.5-1.5B at 4 bits, 4 × 512 with
 * checkpointing, fits 2.5 GB at full depth; Qwen2.5-0.5B's 4-bit weights
 * stay under 400 MB. The device side of these figures is bench/memory.ts
 * (--only memory) and test/gpu/memory_model.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  bitsWeightBytes,
  bytesPerMatrixWeight,
  frozenParams,
  frozenWeightBytes,
  predictTrainingMemory,
  predictWithinBudget,
  ropeTableBytes,
  type MemoryQuery,
  type ModelShape,
} from '../../src/engine/memory_model';

/** Qwen/Qwen2.5-0.5B's config.json (as models/catalogue.json has it). */
const QWEN_05B: ModelShape = { hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64, vocabSize: 151936, tieWordEmbeddings: true, attentionBias: true, maxPositions: 32768 };
/** Qwen/Qwen2.5-1.5B-Instruct's config.json. */
const QWEN_15B: ModelShape = { hiddenSize: 1536, intermediateSize: 8960, numLayers: 28, numHeads: 12, numKvHeads: 2, headDim: 128, vocabSize: 151936, tieWordEmbeddings: true, attentionBias: true, maxPositions: 32768 };
/** SmolLM2-135M's (untied here, to count an lm_head too). */
const SMOL_UNTIED: ModelShape = { hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64, vocabSize: 49152, tieWordEmbeddings: false, attentionBias: false, maxPositions: 8192 };

const BITS = [16, 8, 4] as const;

describe('bytes per frozen matrix weight', () => {
  it('16 bits: bf16 halves; 8 bits: Q8_0 (34 bytes a 32-weight block); 4 bits: Q4_0 (18 bytes a block)', () => {
    expect(bitsWeightBytes(16)).toBe(2);
    expect(bitsWeightBytes(8)).toBe(34 / 32);
    expect(bitsWeightBytes(4)).toBe(18 / 32);
  });

  it("bytesPerMatrixWeight gives back the bytes a model's weightBytes() was made of (norms and biases f32, RoPE tables not in it)", () => {
    for (const c of [QWEN_05B, QWEN_15B, SMOL_UNTIED]) {
      for (const b of [4, 2, 34 / 32, 18 / 32, 20 / 32, 144 / 256]) {
        const modelWeightBytes = frozenWeightBytes(c, b) - ropeTableBytes(c); // what LlamaModel.weightBytes() counts
        expect(bytesPerMatrixWeight(c, modelWeightBytes)).toBeCloseTo(b, 12);
      }
    }
  });

  it('a mixed model (a GGUF: Q8_0 embedding, Q4_1 layers) gets the mean over its matrices', () => {
    const c = SMOL_UNTIED;
    const p = frozenParams(c);
    const embed = c.vocabSize * c.hiddenSize * 2; // embedding and lm_head
    const weightBytes = embed * (34 / 32) + (p.matrices - embed) * (20 / 32) + p.vectors * 4;
    const mean = bytesPerMatrixWeight(c, weightBytes);
    expect(mean).toBeGreaterThan(20 / 32);
    expect(mean).toBeLessThan(34 / 32);
    expect(frozenWeightBytes(c, mean)).toBeCloseTo(weightBytes + ropeTableBytes(c), 3);
  });
});

describe('the estimate at 16, 8 and 4 bits', () => {
  const query = (c: ModelShape, bits: 16 | 8 | 4, over: Partial<MemoryQuery> = {}): MemoryQuery => ({
    config: c,
    weightBytes: bitsWeightBytes(bits),
    rank: 8,
    batchSize: 4,
    maxLength: 512,
    optimizer: 'adamw',
    checkpointing: true,
    ...over,
  });

  it('only the weights change with the bits: matrices at the format, norms, biases and RoPE tables f32', () => {
    for (const c of [QWEN_05B, QWEN_15B]) {
      const e = Object.fromEntries(BITS.map((b) => [b, predictTrainingMemory(query(c, b))]));
      const p = frozenParams(c);
      for (const b of BITS) {
        expect(e[b].weights).toBeCloseTo(p.matrices * bitsWeightBytes(b) + p.vectors * 4 + ropeTableBytes(c), 0);
        for (const k of ['adapter', 'gradient', 'activations', 'transient'] as const) expect(e[b][k]).toBe(e[16][k]);
        expect(e[b].total).toBeCloseTo(e[b].weights + e[b].adapter + e[b].gradient + e[b].activations + e[b].transient, 0);
      }
      expect(e[16].weights).toBeGreaterThan(e[8].weights);
      expect(e[8].weights).toBeGreaterThan(e[4].weights);
      const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
      console.log(`d=${c.hiddenSize} L=${c.numLayers} 4 × 512, checkpointing: ${BITS.map((b) => `${b}-bit weights ${mb(e[b].weights)}, total ${mb(e[b].total)}`).join('; ')}`);
    }
  });

  it("Qwen2.5-0.5B's weights at 4 bits are under 400 MB; at 16 bits they are not", () => {
    expect(predictTrainingMemory(query(QWEN_05B, 4)).weights).toBeLessThan(400e6);
    expect(predictTrainingMemory(query(QWEN_05B, 16)).weights).toBeGreaterThan(900e6);
  });

  it('Qwen2.5-1.5B at 4 bits, 4 × 512 with checkpointing fits 2.5 GB at full depth (the loss chunk from that budget); at 16 bits it does not', () => {
    const budget = 2.5e9;
    const four = predictWithinBudget(query(QWEN_15B, 4), budget);
    expect(four.total).toBeLessThanOrEqual(budget);
    expect(predictWithinBudget(query(QWEN_15B, 8), budget).total).toBeGreaterThan(budget);
    expect(predictWithinBudget(query(QWEN_15B, 16), budget).total).toBeGreaterThan(budget);
    console.log(`Qwen2.5-1.5B 4-bit 4 × 512: ${(four.total / 1e9).toFixed(3)} GB (weights ${(four.weights / 1e9).toFixed(3)}, activations ${(four.activations / 1e9).toFixed(3)}, transient ${(four.transient / 1e9).toFixed(3)})`);
  });

  it("largestBuffer weighs a layer's weights at their real bytes", () => {
    // one token, SGD at rank 1: nothing but a layer's weights is large
    const small = { batchSize: 1, maxLength: 1, rank: 1, optimizer: 'sgd' as const, checkpointing: false };
    const ff = QWEN_15B.intermediateSize;
    const d = QWEN_15B.hiddenSize;
    for (const b of BITS) {
      const e = predictTrainingMemory(query(QWEN_15B, b, small));
      expect(e.largestBuffer.what).toBe("one layer's gate|up weights");
      expect(e.largestBuffer.bytes).toBeCloseTo(2 * ff * d * bitsWeightBytes(b), 0);
    }
    expect(predictTrainingMemory(query(QWEN_15B, 4, small)).largestBuffer.bytes).toBe(2 * ff * (d / 32) * 18); // whole Q4_0 blocks
    // an f32 model's embedding is one tensor; a quantized one is split into row blocks
    expect(predictTrainingMemory({ ...query(QWEN_15B, 4, small), weightBytes: 4 }).largestBuffer.what).toMatch(/embedding/);
  });
});
