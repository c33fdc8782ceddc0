/**
 * The page's "Save memory" choice resolved to TrainConfig.gradientCheckpointing
 * (src/ui/lib/save_memory.ts), on a real catalogue entry: Auto turns it on
 * exactly when the run fits the budget only with checkpointing (or is over
 * it either way, and checkpointing makes it smaller); On and Off are taken as
 * they are. Budgets come from the memory model itself, so they follow its
 * formulas. Also: settings saved before the choice existed read as Auto.
 */
import { describe, expect, it } from 'vitest';
import { checkFit, suggestFit, type MemoryLimits } from '../../src/engine/memory_model';
import { CATALOGUE, entryQuery } from '../../src/ui/lib/hub';
import { decideSaveMemory, resolveSaveMemory, withSaveMemory } from '../../src/ui/lib/save_memory';
import { DEFAULT_SETTINGS } from '../../src/ui/presets';

const GiB = 2 ** 30;
const entry = CATALOGUE.find((e) => e.id === 'smollm2-135m')!;
// batch 8 × 512 on SmolLM2-135M: activations dominate without checkpointing
const query = entryQuery(entry, { rank: 8, batchSize: 8, maxLength: 512, optimizer: 'adamw' });
// WebGPU's default limits: every buffer of this run fits them
const limits = (budgetBytes: number): MemoryLimits => ({ budgetBytes, maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 });
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

describe('Save memory (activation checkpointing) choice', () => {
  const d = decideSaveMemory('auto', query, limits(64 * GiB));
  // halfway between the two estimates: fits with checkpointing, not without
  const tight = limits((d.with.total + d.without.total) / 2);
  console.log(`${entry.name}, batch 8 × 512: ${mib(d.without.total)} without checkpointing, ${mib(d.with.total)} with; tight budget ${mib(tight.budgetBytes)}`);

  it('has the estimates it needs: checkpointing is much smaller here', () => {
    expect(entry).toBeDefined();
    expect(d.with.total).toBeLessThan(d.without.total);
    expect(d.with.activations).toBeLessThan(d.without.activations / 2);
  });

  it('auto: on when the run fits only with checkpointing', () => {
    expect(checkFit(d.without, tight).fits).toBe(false);
    expect(checkFit(d.with, tight).fits).toBe(true);
    const t = decideSaveMemory('auto', query, tight);
    expect(t.checkpointing).toBe(true);
    expect(t.auto).toBe(true);
    expect(t.withoutFit.overBudget).toBe(true);
    expect(t.withFit.fits).toBe(true);
    expect(resolveSaveMemory('auto', query, tight)).toBe(true);
    // the suggestion at the resolved setting: none needed
    expect(suggestFit({ ...query, checkpointing: true }, tight)).toBeNull();
  });

  it('auto: off when the budget is generous', () => {
    expect(resolveSaveMemory('auto', query, limits(64 * GiB))).toBe(false);
    expect(d.auto).toBe(false);
    expect(d.withoutFit.fits).toBe(true);
  });

  it('auto: on when over the budget either way (it still makes the run smaller)', () => {
    const tiny = limits(d.with.total / 2);
    expect(checkFit(d.with, tiny).fits).toBe(false);
    expect(resolveSaveMemory('auto', query, tiny)).toBe(true);
  });

  it('auto: off when only one buffer is over the device limit (checkpointing does not shrink it)', () => {
    const small = { budgetBytes: 64 * GiB, maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 };
    const r = decideSaveMemory('auto', query, small);
    expect(r.withoutFit.overBuffer).toBe(true);
    expect(r.withoutFit.overBudget).toBe(false);
    expect(r.with.largestBuffer.bytes).toBe(r.without.largestBuffer.bytes);
    expect(r.checkpointing).toBe(false);
  });

  it('on and off are taken as chosen, whatever the budget', () => {
    expect(resolveSaveMemory('on', query, limits(64 * GiB))).toBe(true);
    expect(resolveSaveMemory('on', query, tight)).toBe(true);
    expect(resolveSaveMemory('off', query, tight)).toBe(false);
    expect(resolveSaveMemory('off', query, limits(64 * GiB))).toBe(false);
    expect(decideSaveMemory('on', query, limits(64 * GiB)).auto).toBe(false);
  });

  it('ignores a checkpointing flag already on the query', () => {
    expect(resolveSaveMemory('auto', { ...query, checkpointing: true }, limits(64 * GiB))).toBe(false);
    expect(resolveSaveMemory('auto', { ...query, checkpointing: false }, tight)).toBe(true);
  });

  it('defaults to auto in the presets and for settings saved before the choice existed', () => {
    expect(DEFAULT_SETTINGS.saveMemory).toBe('auto');
    const { saveMemory: _, ...old } = DEFAULT_SETTINGS;
    expect(withSaveMemory(old).saveMemory).toBe('auto');
    expect(withSaveMemory({ ...old, saveMemory: 'bogus' }).saveMemory).toBe('auto');
    expect(withSaveMemory({ ...DEFAULT_SETTINGS, saveMemory: 'off' }).saveMemory).toBe('off');
    expect(withSaveMemory({ ...DEFAULT_SETTINGS, saveMemory: 'on' })).toEqual({ ...DEFAULT_SETTINGS, saveMemory: 'on' });
  });
});
