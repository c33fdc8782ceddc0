/**
 * The worker's model claim (src/worker/model_use.ts): embedding prompts (a
 * curation, the in-context baseline) runs alone on the model, other model
 * work may overlap (Compare's stop and a generation, say), requests that do
 * not run the model are never refused, and a released claim frees the model.
 */
import { describe, expect, it } from 'vitest';
import { claimModel } from '../../src/worker/model_use';

describe('claimModel', () => {
  it('refuses an embedding while the judge runs, and the judge while an embedding runs', () => {
    const judge = claimModel({ type: 'judge-run', id: 1 });
    expect(() => claimModel({ type: 'curate-run', id: 2 })).toThrow('Wait for the judge to finish (or stop it): embedding prompts switches the adapter off on the model, so it runs alone.');
    judge();
    const curate = claimModel({ type: 'curate-run', id: 3 });
    expect(() => claimModel({ type: 'judge-run', id: 4 })).toThrow(/^Wait for the curation to finish/);
    expect(() => claimModel({ type: 'incontext-set', id: 5 })).toThrow(/^Wait for the curation to finish/);
    expect(() => claimModel({ type: 'train-start', id: 6 })).toThrow(/^Wait for the curation to finish/);
    // what does not run the model still goes: Stop, exports, the sample viewer
    for (const type of ['curate-stop', 'generate-stop', 'export-adapter', 'sample-tokens'] as const) claimModel({ type, id: 7 })();
    curate();
    claimModel({ type: 'incontext-set', id: 8 })();
  });

  it('lets other model work overlap, and an embedding start once all of it is released', () => {
    const a = claimModel({ type: 'generate-pair', id: 10 });
    const b = claimModel({ type: 'heldout-eval', id: 11 });
    expect(() => claimModel({ type: 'incontext-set', id: 12 })).toThrow(/^Wait for the answers being generated to finish/);
    a();
    expect(() => claimModel({ type: 'incontext-set', id: 13 })).toThrow(/^Wait for the held-out scoring to finish/);
    b();
    claimModel({ type: 'incontext-set', id: 14 })();
  });
});
