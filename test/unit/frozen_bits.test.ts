/**
 * The page's Frozen weights choice (src/ui/lib/frozen_bits.ts) and the sizes
 * it weighs (src/worker/frozen_sizes.ts): what each matrix type takes at each
 * choice, by the upload's rules; Auto's tries in order (stored, then 16, 8, 4
 * where smaller), the most bits that fit, Save memory resolved at each before
 * fewer bits; a fixed choice as it is; the quality note's figure from its one
 * constant; choices saved before it existed read as Auto; the report's words.
 */
import { describe, expect, it } from 'vitest';
import { bitsWeightBytes, type MemoryLimits } from '../../src/engine/memory_model';
import { autoCandidates, decideFrozenBits, qualityNote, readFrozenChoice, residencyLabel, tryResidency, uploadBits } from '../../src/ui/lib/frozen_bits';
import { CATALOGUE, entryQuery } from '../../src/ui/lib/hub';
import { entrySizes } from '../../src/ui/lib/model_basis';
import { frozenWeights } from '../../src/ui/lib/report';
import { frozenSizes, residentFormat } from '../../src/worker/frozen_sizes';

const GiB = 2 ** 30;
const limits = (budgetBytes: number): MemoryLimits => ({ budgetBytes, maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 31 });
const qwen = CATALOGUE.find((e) => e.id === 'qwen2.5-1.5b-instruct')!;
const stories = CATALOGUE.find((e) => e.id === 'stories260K')!;
const base = entryQuery(qwen, { rank: 8, batchSize: 1, maxLength: 128, optimizer: 'adamw' });

describe('frozen sizes (the upload rules)', () => {
  it('maps each file type to its resident format at each choice', () => {
    expect(['F32', 'BF16', 'F16', 'Q8_0', 'Q4_1', 'Q6_K'].map((t) => residentFormat(t, undefined))).toEqual(['f32', 'bf16', 'f16', 'Q8_0', 'Q4_1', 'bf16']);
    expect(['F32', 'BF16', 'F16', 'Q8_0', 'Q4_1', 'Q6_K'].map((t) => residentFormat(t, 16))).toEqual(['bf16', 'bf16', 'f16', 'bf16', 'bf16', 'bf16']);
    expect(['F32', 'BF16', 'Q4_K', 'Q6_K'].map((t) => residentFormat(t, 8))).toEqual(['Q8_0', 'Q8_0', 'Q4_K', 'Q8_0']);
    expect(['F32', 'BF16', 'Q8_0', 'Q5_0'].map((t) => residentFormat(t, 4))).toEqual(['Q4_0', 'Q4_0', 'Q8_0', 'Q4_0']);
  });

  it('means bytes a weight over the matrices, rows padded to whole blocks, formats most weights first', () => {
    // a SmolLM2-style GGUF: Q4_1 matrices, one Q8_0 embedding (fewer weights), a 172-wide row padded to 192
    const s = frozenSizes([
      { type: 'Q4_1', rows: 64, cols: 4096 },
      { type: 'Q8_0', rows: 32, cols: 2048 },
      { type: 'F32', rows: 64, cols: 172 },
    ]);
    const weights = 64 * 4096 + 32 * 2048 + 64 * 172;
    expect(s.stored.format).toBe('Q4_1 + Q8_0 + f32');
    expect(s.stored.bytes).toBeCloseTo((64 * 128 * 20 + 32 * 64 * 34 + 64 * 172 * 4) / weights, 12);
    expect(s[16]).toBe(2);
    expect(s[4]).toBeCloseTo((64 * 128 * 20 + 32 * 64 * 34 + 64 * 6 * 18) / weights, 12);
    expect(s[8]).toBeCloseTo((64 * 128 * 20 + 32 * 64 * 34 + 64 * 6 * 34) / weights, 12);
  });
});

describe('the Frozen weights choice', () => {
  const sizes = entrySizes(qwen);
  const at = (bits: 16 | 8 | 4) => tryResidency(bits, sizes, base, 'on', limits(64 * GiB)).save.with.total;

  it("tries the stored form first, then 16, 8 and 4 bits where each is smaller", () => {
    expect(autoCandidates(sizes)).toEqual(['stored', 8, 4]); // BF16: stored is 16-bit
    expect(autoCandidates(entrySizes(stories))).toEqual(['stored', 16, 8, 4]); // F32
    expect(sizes[8]).toBe(bitsWeightBytes(8));
    expect(residencyLabel(entrySizes(stories), 'stored')).toBe('32-bit (f32, as stored)');
    expect(residencyLabel(sizes, 'stored')).toBe('16-bit');
    expect(uploadBits('stored')).toBeUndefined();
  });

  it('Auto: the most bits that fit, Save memory before fewer bits; the smallest when nothing fits', () => {
    const roomy = decideFrozenBits('auto', sizes, base, 'auto', limits(64 * GiB));
    expect(roomy.residency).toBe('stored');
    const between = (at(4) + at(8)) / 2;
    const tight = decideFrozenBits('auto', sizes, base, 'auto', limits(between));
    expect(tight.residency).toBe(4);
    expect(tight.tried.map((t) => t.residency)).toEqual(['stored', 8, 4]);
    // a budget that holds 16 bits only with Save memory, and 8 bits without it: Auto keeps 16 bits and turns
    // checkpointing on (time, not exactness) rather than drop to 8 (batch 4 × 512: activations dominate)
    const big = entryQuery(qwen, { rank: 8, batchSize: 4, maxLength: 512, optimizer: 'adamw' });
    const without = (r: 'stored' | 8) => tryResidency(r, sizes, big, 'off', limits(64 * GiB)).save.without.total;
    const budget = (without('stored') + without(8)) / 2;
    expect(tryResidency(8, sizes, big, 'off', limits(budget)).fits).toBe(true);
    const ck = decideFrozenBits('auto', sizes, big, 'auto', limits(budget));
    expect(ck.residency).toBe('stored');
    expect(ck.save.checkpointing).toBe(true);
    const eight = decideFrozenBits('auto', sizes, base, 'auto', limits((at(8) + tryResidency('stored', sizes, base, 'on', limits(64 * GiB)).save.with.total) / 2));
    expect(eight.residency).toBe(8);
    const none = decideFrozenBits('auto', sizes, base, 'auto', limits(0.1 * GiB));
    expect(none).toMatchObject({ residency: 4, noneFits: true });
    // nothing fits batch 8 × 512 of stories260K at a 16 MiB budget, but a smaller batch does as stored: Auto keeps f32
    const tiny = entryQuery(stories, { rank: 8, batchSize: 8, maxLength: 512, optimizer: 'adamw' });
    expect(decideFrozenBits('auto', entrySizes(stories), tiny, 'auto', limits(16 * 2 ** 20))).toMatchObject({ residency: 'stored', noneFits: true });
  });

  it('a fixed choice is taken as it is, fitting or not', () => {
    const d = decideFrozenBits(16, sizes, base, 'auto', limits(between()));
    expect(d).toMatchObject({ residency: 16, weightBytes: 2 });
    expect(d.tried).toHaveLength(1);
    expect(d.tried[0].fits).toBe(false);
    function between() {
      return (at(4) + at(8)) / 2;
    }
  });

  it('reads a stored choice, anything else as Auto', () => {
    expect(['4', '8', '16', 'auto', '3', null, undefined, 'x'].map(readFrozenChoice)).toEqual([4, 8, 16, 'auto', 'auto', 'auto', 'auto', 'auto']);
  });

  it("the quality note cites the measured held-out losses when given, and invents none without", () => {
    expect(qualityNote(null)).not.toMatch(/\d\.\d{3}/);
    expect(qualityNote({ model: 'stories260K', steps: 30, loss16: 2.0, loss4: 2.05 })).toMatch(/held-out loss 2\.000 at 16 bits, 2\.050 at 4 bits \(2\.5% higher; BENCHMARKS\.md\)/);
  });

  it('the report names the format and bits a weight', () => {
    const m = { name: 'x', format: 'hf' as const, params: 1, layers: 1, hidden: 1, heads: 1, kvHeads: 1, vocab: 1, context: 1 };
    expect(frozenWeights({ ...m, weightBytes: 18 / 32, weightFormat: 'Q4_0' })).toBe('Q4_0, 4.5 bits a weight');
    expect(frozenWeights({ ...m, weightBytes: 2, weightFormat: 'bf16' })).toBe('bf16, 16 bits a weight');
    expect(frozenWeights({ ...m, weightBytes: 4 })).toBe('32-bit float'); // a report made before the format was kept
  });
});
