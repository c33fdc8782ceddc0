/**
 * The curated subset's pure logic (src/worker/subset.ts): which rows a choice
 * keeps, how the run names them, their training samples by row key (mixed-in
 * rows told apart from the dataset's rows on the same line), and carrying a
 * subset over a re-preparation of the same files.
 */
import { describe, expect, it } from 'vitest';
import type { TokenizedSample } from '../../src/engine/data';
import type { DatasetReport } from '../../src/worker/protocol';
import { carrySubset, describeSubset, restoredSubset, rowKey, subsetIndices, subsetInfo, subsetSamples, type Curation, type CurateSources } from '../../src/worker/subset';

const sample = (line: number): TokenizedSample => ({ line, ids: [1, 2], labels: [-100, 2], truncated: false, responseTokens: 1, boundaryMerges: 0 });

// 10 rows: 0 and 5 exact duplicates of earlier rows (dropped), {1, 4, 7} and {2, 8} near-duplicate groups
const curation = (picked: number[] | null): Curation => ({
  rows: 10,
  filters: { kept: [1, 2, 3, 4, 6, 7, 8, 9], dropped: [{ reason: 'exact duplicate' }, { reason: 'exact duplicate' }] },
  nearDuplicates: { groups: [[1, 4, 7], [2, 8]] },
  candidates: [1, 2, 3, 6, 9],
  selected: picked ?? [1, 2, 3, 6, 9],
  picked: picked !== null,
});

const report = (train: number): DatasetReport => ({ name: 'd.jsonl', container: 'jsonl', format: 'alpaca', fields: {}, keys: [], warnings: [], errors: [], stats: {} as DatasetReport['stats'], train, validation: 0, mixed: 0, heldOutPrompts: [] });

describe('subset choice', () => {
  it('keeps every filtered row, one of each near-duplicate group, or the k-center pick, in file order', () => {
    expect(subsetIndices(curation(null), { onePerGroup: false })).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
    expect(subsetIndices(curation(null), { onePerGroup: true })).toEqual([1, 2, 3, 6, 9]);
    // the pick is in k-center order; the subset is in file order, and the pick ignores onePerGroup (it is taken from one of each already)
    expect(subsetIndices(curation([9, 1, 6]), { onePerGroup: false })).toEqual([1, 6, 9]);
    expect(subsetIndices(curation([9, 1, 6]), { onePerGroup: true })).toEqual([1, 6, 9]);
  });

  it('names how it was chosen', () => {
    expect(describeSubset(curation([9, 1, 6]), { onePerGroup: false }, 3)).toBe('3 diverse (k-center) of 10, near-duplicates removed (one of each of 2 groups), filters dropped 2 (2 exact duplicates)');
    expect(describeSubset(curation(null), { onePerGroup: true }, 5)).toBe('5 of 10, near-duplicates removed (one of each of 2 groups), filters dropped 2 (2 exact duplicates)');
    expect(describeSubset(curation(null), { onePerGroup: false }, 8)).toBe('8 of 10, filters dropped 2 (2 exact duplicates)');
    const clean: Curation = { rows: 4, filters: { kept: [0, 1, 2, 3], dropped: [] }, nearDuplicates: { groups: [] }, candidates: [0, 1, 2, 3], selected: [0, 1, 2, 3], picked: false };
    expect(describeSubset(clean, { onePerGroup: true }, 4)).toBe('4 of 4, nothing removed');
    const mixedReasons: Curation = { ...clean, rows: 6, filters: { kept: [0, 1, 2, 3], dropped: [{ reason: 'too short' }, { reason: 'answer shorter than prompt' }] } };
    expect(describeSubset(mixedReasons, { onePerGroup: false }, 4)).toBe('4 of 6, filters dropped 2 (1 too short, 1 with an answer shorter than the prompt)');
  });

  it('counts the mixed-in rows it keeps', () => {
    const sourceOf = [0, 0, 1, 0, 0, 0, 1, 0, 0, 1];
    expect(subsetInfo(curation(null), { onePerGroup: true }, sourceOf)).toEqual({ rows: 5, of: 10, mixed: 3, description: describeSubset(curation(null), { onePerGroup: true }, 5), kind: 'filtered' });
  });
});

describe('subset samples', () => {
  it('finds the samples by file and line, in the split order, a mixed-in row apart from the dataset row on its line', () => {
    const own = [sample(3), sample(5), sample(7)];
    const mix = [sample(3), sample(9)];
    const train = [mix[0], own[2], own[0], mix[1], own[1]]; // shuffled as loadDataset mixes them
    const mixed = new Set(mix);
    const keys = new Set([rowKey(0, { line: 3 }), rowKey(1, { line: 9 }), rowKey(0, { line: 5 })]);
    expect(subsetSamples(train, mixed, keys)).toEqual([own[0], mix[1], own[1]]);
    expect(subsetSamples(train, mixed, keys)[0]).toBe(own[0]); // not the mixed-in row of line 3
    expect(rowKey(0, { line: 1, index: 4 })).not.toBe(rowKey(0, { line: 1, index: 5 })); // a one-line JSON array: rows by position
  });

  it('carries a subset over to a new preparation of the same files while every row is still a training row', () => {
    const bytes = new TextEncoder().encode('{"a":1}\n');
    const sources = (b: Uint8Array, mixed: TokenizedSample[] = []): CurateSources => ({ files: [{ name: 'd.jsonl', bytes: b, format: 'alpaca', fieldMap: {} }], mixed: new Set(mixed) });
    const info = { rows: 2, of: 3, mixed: 0, description: '2 of 3' };
    const old = { sources: sources(bytes), subset: { keys: new Set([rowKey(0, { line: 1 }), rowKey(0, { line: 2 })]), samples: [sample(1), sample(2)], info } };

    const again = { sources: sources(bytes.slice()), train: [sample(2), sample(3), sample(1)], report: report(3), subset: undefined as unknown };
    carrySubset(old, again as Parameters<typeof carrySubset>[1]);
    expect((again.subset as { samples: TokenizedSample[] }).samples).toEqual([again.train[0], again.train[2]]);
    expect(again.report.subset).toEqual(info);

    const otherFile = { sources: sources(new TextEncoder().encode('{"a":2}\n')), train: [sample(1), sample(2)], report: report(2), subset: undefined as unknown };
    carrySubset(old, otherFile as Parameters<typeof carrySubset>[1]);
    expect(otherFile.subset).toBeNull();
    expect(otherFile.report.subset).toBeUndefined();

    const heldOutNow = { sources: sources(bytes), train: [sample(2), sample(3)], report: report(2), subset: undefined as unknown };
    carrySubset(old, heldOutNow as Parameters<typeof carrySubset>[1]);
    expect(heldOutNow.subset).toBeNull();
    expect(heldOutNow.report.warnings).toEqual([expect.stringMatching(/^The curated subset \(2 of 3\) was dropped: 1 of its 2 rows are no longer training rows/)]);
    expect(otherFile.report.warnings).toEqual([]); // a new file simply starts without a subset
  });

  it("a restored run's report names the subset its record names, and only then", () => {
    const d = { train: [sample(1), sample(2)], report: { ...report(9), subset: { rows: 1, of: 9, mixed: 0, description: 'stale' } }, subset: null as Parameters<typeof restoredSubset>[0]['subset'] };
    restoredSubset(d, { dataset: { subset: '2 diverse (k-center) of 9', mixed: 0 } }); // saved before the kind was kept
    expect(d.report.subset).toEqual({ rows: 2, of: 9, mixed: 0, description: '2 diverse (k-center) of 9' });
    restoredSubset(d, { dataset: { subset: '2 diverse (k-center) of 9', subsetKind: 'diverse', mixed: 0 } });
    expect(d.report.subset).toEqual({ rows: 2, of: 9, mixed: 0, description: '2 diverse (k-center) of 9', kind: 'diverse' });
    expect(d.subset?.samples).toBe(d.train);
    restoredSubset(d, { dataset: { mixed: 0 } }); // a run saved before subsets existed, or trained on every row
    expect(d.report.subset).toBeUndefined();
    expect(d.subset).toBeNull();
  });
});
