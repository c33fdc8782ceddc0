/**
 * "Frozen weights: Auto / 16-bit / 8-bit / 4-bit", the page's choice of how
 * many bits the base model's frozen matrices keep on the GPU (QLoRA, Dettmers
 * et al. 2023: the frozen base in 4-bit blocks, LoRA and everything it
 * trains in full precision), resolved to UploadOptions.frozenBits for one
 * model at the page's training settings:
 *
 *   16-bit  bf16 halves (a GGUF's blocks dequantized to bf16)
 *   8-bit   Q8_0 blocks: 32 weights and one f16 scale, 8.5 bits a weight
 *   4-bit   Q4_0 blocks: 32 weights and one f16 scale, 4.5 bits a weight
 *           (a GGUF's own Q8_0/Q4_0/Q4_1/Q4_K blocks stay as they are at 8 and 4)
 *   Auto    the most bits at which training fits the GPU budget, trying the
 *           checkpoint as it is stored first (an F32 checkpoint stays f32
 *           when it fits, a quantized GGUF keeps its blocks), then 16, 8 and
 *           4 bits where each is smaller than the one before. Each try
 *           resolves Save memory first (lib/save_memory.ts): activation
 *           checkpointing costs time but not exactness, so Auto prefers it
 *           to fewer bits. When no bits fit these settings, the most bits at
 *           which a smaller batch would (the page's suggestion), else the
 *           smallest; the page warns either way.
 *
 * The choice applies when a model is loaded: the weights are quantized on
 * upload. Pure: no Svelte, no GPU, so unit tests call it as it is.
 */
import { checkFit, suggestFit, type MemoryLimits, type MemoryQuery } from '../../engine/memory_model';
import type { FrozenBits } from '../../engine/frozen';
import type { FrozenSizes, SaveMemory } from '../../worker/protocol';
import { decideSaveMemory, type SaveMemoryDecision } from './save_memory';

export type FrozenChoice = 'auto' | FrozenBits;

export const FROZEN_CHOICE_DEFAULT: FrozenChoice = 'auto';

export const FROZEN_CHOICES: { value: FrozenChoice; label: string; help: string }[] = [
  { value: 'auto', label: 'Auto', help: 'the most bits that fit your GPU budget' },
  { value: 16, label: '16-bit', help: 'bf16, as the Hub ships most models' },
  { value: 8, label: '8-bit', help: 'Q8_0 blocks, about half of 16-bit' },
  { value: 4, label: '4-bit', help: 'Q4_0 blocks, about a quarter of 16-bit (QLoRA)' },
];

/**
 * The held-out loss at 16- and 4-bit frozen weights, after the same training
 * run, as BENCHMARKS.md records it ("Issue 23: frozen weights at 16, 8 and 4 bits" section:
 * the 30-step stories260K run at 16, 8 and 4 bits, bench/frozen_bits_quality.ts,
 * measured on SwiftShader 2026-12-07). null would make the note say what 4-bit
 * does without a number.
 */
export const HELDOUT_LOSS_16_VS_4: { model: string; steps: number; loss16: number; loss4: number } | null = { model: 'stories260K', steps: 30, loss16: 1.00747, loss4: 1.05473 };

/** The model panel's note on what 4-bit costs in quality (one place for its wording). */
export function qualityNote(m = HELDOUT_LOSS_16_VS_4): string {
  const what =
    '4-bit keeps 16 levels per block of 32 weights (8-bit: 256), so the frozen base computes slightly different logits than at 16 bits; ' +
    'the adapter still trains in full precision on top of it.';
  if (!m) return `${what} Pick the most bits that fit.`;
  const pct = ((m.loss4 / m.loss16 - 1) * 100).toFixed(1);
  return `${what} Measured on ${m.model} after the same ${m.steps}-step run: held-out loss ${m.loss16.toFixed(3)} at 16 bits, ${m.loss4.toFixed(3)} at 4 bits (${pct}% higher; BENCHMARKS.md). Pick the most bits that fit.`;
}

/** What an upload asks: `stored` (no frozenBits: as the file stores them) or a number of bits. */
export type Residency = 'stored' | FrozenBits;

/** The frozenBits a residency sends with load-model (undefined: as stored). */
export const uploadBits = (r: Residency): FrozenBits | undefined => (r === 'stored' ? undefined : r);

export const residencyBytes = (sizes: FrozenSizes, r: Residency): number => (r === 'stored' ? sizes.stored.bytes : sizes[r]);

/** The residency as the page names it: a 16-bit checkpoint as stored is just 16-bit (the table's 16-bit row). */
export const shownResidency = (sizes: FrozenSizes, r: Residency): Residency => (r === 'stored' && sizes.stored.bytes === sizes[16] ? 16 : r);

/** "16-bit", or for another stored form its bits and format: "32-bit (f32, as stored)", "4.9-bit (Q4_1 + Q8_0, as stored)". */
export function residencyLabel(sizes: FrozenSizes, r: Residency): string {
  const shown = shownResidency(sizes, r);
  if (shown !== 'stored') return `${shown}-bit`;
  return `${bitsLabel(sizes.stored.bytes)} (${sizes.stored.format}, as stored)`;
}

/** Bits a weight from bytes a weight: 2 → "16-bit", 18/32 → "4.5-bit", 0.61 → "4.9-bit". */
export function bitsLabel(bytesPerWeight: number): string {
  const bits = bytesPerWeight * 8;
  return `${Number.isInteger(bits) ? bits : bits.toFixed(1)}-bit`;
}

/** What Auto tries, best first: the stored form, then 16, 8 and 4 bits, each only when smaller than the last kept. */
export function autoCandidates(sizes: FrozenSizes): Residency[] {
  const out: Residency[] = ['stored'];
  for (const b of [16, 8, 4] as const) if (sizes[b] < residencyBytes(sizes, out[out.length - 1]) - 1e-9) out.push(b);
  return out;
}

export interface FrozenTry {
  residency: Residency;
  weightBytes: number;
  save: SaveMemoryDecision;
  fits: boolean;
}

export interface FrozenDecision {
  choice: FrozenChoice;
  /** what the load gets */
  residency: Residency;
  /** bytes per frozen matrix weight at it (MemoryQuery.weightBytes) */
  weightBytes: number;
  /** Save memory resolved at it */
  save: SaveMemoryDecision;
  /** Auto's tries, best first, up to and including the one picked (for the page's why); one entry for a fixed choice */
  tried: FrozenTry[];
  /** Auto found no bits at which these settings fit: it picked the most bits at which a smaller batch fits, else the smallest */
  noneFits: boolean;
}

/** The estimate at one residency, with Save memory resolved at it, and whether it fits. */
export function tryResidency(residency: Residency, sizes: FrozenSizes, base: Omit<MemoryQuery, 'weightBytes'>, save: SaveMemory, limits: MemoryLimits): FrozenTry {
  const weightBytes = residencyBytes(sizes, residency);
  const d = decideSaveMemory(save, { ...base, weightBytes }, limits);
  return { residency, weightBytes, save: d, fits: checkFit(d.checkpointing ? d.with : d.without, limits).fits };
}

/** Resolves the choice for one model (its FrozenSizes) at these settings, Save memory choice and limits. */
export function decideFrozenBits(choice: FrozenChoice, sizes: FrozenSizes, base: Omit<MemoryQuery, 'weightBytes'>, save: SaveMemory, limits: MemoryLimits): FrozenDecision {
  const done = (t: FrozenTry, tried: FrozenTry[], noneFits = false): FrozenDecision => ({ choice, residency: t.residency, weightBytes: t.weightBytes, save: t.save, tried, noneFits });
  if (choice !== 'auto') {
    const t = tryResidency(choice, sizes, base, save, limits);
    return done(t, [t]);
  }
  const tried: FrozenTry[] = [];
  for (const r of autoCandidates(sizes)) {
    const t = tryResidency(r, sizes, base, save, limits);
    tried.push(t);
    if (t.fits) return done(t, tried);
  }
  // nothing fits these settings: the most bits at which the page's suggestion (a smaller batch or length) would
  const withSuggestion = tried.find((t) => suggestFit({ ...base, weightBytes: t.weightBytes, checkpointing: t.save.checkpointing }, limits) !== null);
  return done(withSuggestion ?? tried[tried.length - 1], tried, true);
}

/** The residencies a model's memory table shows: 16, 8 and 4 bits, and first the stored form when it is not 16-bit (an F32 checkpoint, a quantized GGUF). */
export function tableResidencies(sizes: FrozenSizes): Residency[] {
  return [...(shownResidency(sizes, 'stored') === 'stored' ? (['stored'] as const) : []), 16, 8, 4];
}

/** Why Auto picked what it did, in a sentence ('' for a fixed choice). */
export function autoReason(d: FrozenDecision, sizes: FrozenSizes, budget: string, bytes: (n: number) => string): string {
  if (d.choice !== 'auto') return '';
  const picked = residencyLabel(sizes, d.residency);
  const total = (t: FrozenTry) => bytes((t.save.checkpointing ? t.save.with : t.save.without).total);
  if (d.noneFits) {
    const last = d.tried[d.tried.length - 1];
    const smallest = `even at ${residencyLabel(sizes, last.residency)} training needs ~${total(last)}, over your ${budget} budget`;
    return last.residency === d.residency ? `Auto: ${picked}, the smallest; ${smallest}.` : `Auto: ${picked}, the most bits at which a smaller batch fits (below); ${smallest}.`;
  }
  if (d.tried.length === 1) return `Auto: ${picked}, which fits your ${budget} budget (~${total(d.tried[0])}).`;
  const over = d.tried.slice(0, -1).map((t) => `${residencyLabel(sizes, t.residency)} needs ~${total(t)}`);
  return `Auto: ${picked} (~${total(d.tried[d.tried.length - 1])}), the most bits that fit your ${budget} budget: ${over.join(', ')}.`;
}

/** Choices saved before one existed, or a stray value, read as Auto. */
export function readFrozenChoice(v: unknown): FrozenChoice {
  const n = v === 'auto' ? 'auto' : Number(v);
  return FROZEN_CHOICES.some((c) => c.value === n) ? (n as FrozenChoice) : FROZEN_CHOICE_DEFAULT;
}
