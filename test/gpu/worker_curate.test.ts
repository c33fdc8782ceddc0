/**
 * The worker's curation (src/worker/curate.ts) in-process on stories260K-hf,
 * with a second dataset mixed in: the candidates are exactly the training
 * rows (the validation split untouched), mixed-in rows are marked by file,
 * a k-center subset trains on its own samples and counts its mixed-in rows,
 * it is carried over a re-tokenization of the same file (a new Max length),
 * dropped with a warning when the new preparation lost rows of it and
 * silently for another file, and the export holds the subset's rows as
 * they were in their files, the dataset's first, each file in its order;
 * Stop ends a run between embedding batches and leaves the last curation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initGpu } from '../../src/engine/gpu/device';
import { exportSubset, isCurating, runCuration, setSubset, stopCuration } from '../../src/worker/curate';
import type { CurateRunOptions, DatasetOptions } from '../../src/worker/protocol';
import { loadDataset, loadModel, requireDataset } from '../../src/worker/session';
import { sharedPath } from '../helpers/shared';

const HF = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
const STORIES = sharedPath('data/tinystories-instruct-1k.jsonl');
const ALPACA = sharedPath('data/alpaca-1k.jsonl');
const read = (f: string) => new Uint8Array(fs.readFileSync(f));
const lines = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim());

const OPTS: DatasetOptions = { template: 'plain', maxLength: 256, validationFraction: 0.1, seed: 0, mix: { name: 'alpaca-1k.jsonl', bytes: read(ALPACA), ratio: 0.2 } };
const RUN: CurateRunOptions = { threshold: 0.8, select: 40, clusters: 4, filters: { answerShorterThanPrompt: false, exactDuplicates: true } };
const noProgress = () => {};

describe('curation in the worker', () => {
  beforeAll(async () => {
    await initGpu();
    const dir = sharedPath('models/stories260K-hf');
    await loadModel({ format: 'hf', name: 'stories260K-hf', files: HF.map((f) => ({ name: f, bytes: read(path.join(dir, f)) })) }, 'test:stories260K-hf');
  });

  it('curates the training rows of both files, trains on the pick, exports it; a Max length that changes the mix drops it with a warning', async () => {
    const report = await loadDataset('tinystories-instruct-1k.jsonl', read(STORIES), OPTS, noProgress);
    expect(report.mixed).toBeGreaterThan(0);
    const stages = new Set<string>();
    const view = await runCuration(RUN, (label) => stages.add(label));
    console.log(`train ${report.train} (${report.mixed} mixed in), validation ${report.validation}; stages: ${[...stages].join(' → ')}; ${view.groups.length} near-duplicate groups, dropped ${view.dropped.map((d) => `${d.rows} ${d.reason}`).join(', ') || 'none'}`);
    expect(view.rows).toBe(report.train);
    expect(view.sources).toEqual(['tinystories-instruct-1k.jsonl', 'alpaca-1k.jsonl']);
    const droppedRows = view.dropped.reduce((n, d) => n + d.rows, 0);
    expect(view.points.length).toBe(report.train - droppedRows);
    const mixedPoints = view.points.filter((p) => p.source === 1);
    expect(mixedPoints.length).toBeGreaterThan(0);
    expect(mixedPoints.length).toBeLessThanOrEqual(report.mixed);
    expect(mixedPoints[0].label).toMatch(/^line \d+ of alpaca-1k\.jsonl$/);
    expect(view.points.find((p) => p.source === 0)!.label).toMatch(/^line \d+ of tinystories-instruct-1k\.jsonl$/);
    expect(view.clusters.length).toBe(4);
    expect(view.subsets.all.rows).toBe(40);
    expect(view.subsets.all.description).toMatch(/^40 diverse \(k-center\) of \d+/);

    const info = setSubset({ onePerGroup: false })!;
    const d = requireDataset();
    expect(d.subset!.samples.length).toBe(40);
    expect(info.mixed).toBe(d.subset!.samples.filter((s) => d.sources!.mixed.has(s)).length);
    expect(d.report.subset).toEqual(info);
    expect(d.validation.length).toBe(report.validation); // held-out rows as they were

    // the export: 40 rows, each a row of its file, the dataset's rows first, each file in file order
    const out = exportSubset({ onePerGroup: false });
    const got = out.text.trim().split('\n');
    expect(got.length).toBe(40);
    const norm = (l: string) => JSON.stringify(JSON.parse(l));
    const own = lines(STORIES).map(norm);
    const mix = lines(ALPACA).map(norm);
    const where = got.map((l) => (own.includes(norm(l)) ? { file: 0, at: own.indexOf(norm(l)) } : { file: 1, at: mix.indexOf(norm(l)) }));
    expect(where.every((w) => w.at >= 0)).toBe(true);
    expect(where.filter((w) => w.file === 1).length).toBe(info.mixed);
    expect(where.map((w) => w.file)).toEqual([...where.map((w) => w.file)].sort());
    for (const f of [0, 1]) {
      const at = where.filter((w) => w.file === f).map((w) => w.at);
      expect(at).toEqual([...at].sort((a, b) => a - b));
    }

    // at Max length 128 fewer Alpaca rows fit, so other rows are mixed in: the subset is dropped, and the report says why
    const shorter = await loadDataset('tinystories-instruct-1k.jsonl', read(STORIES), { ...OPTS, maxLength: 128 }, noProgress);
    expect(shorter.subset).toBeUndefined();
    expect(requireDataset().subset).toBeNull();
    expect(shorter.warnings.at(-1)).toMatch(/^The curated subset \(40 diverse \(k-center\) of \d+.*\) was dropped: \d+ of its 40 rows are no longer training rows/);
    expect(() => exportSubset({ onePerGroup: false })).not.toThrow(); // the same files: the curation still stands
  });

  it('carries a subset over a re-tokenization of the same file, and drops it for another file', async () => {
    const report = await loadDataset('tinystories-instruct-1k.jsonl', read(STORIES), { ...OPTS, mix: null }, noProgress);
    await runCuration({ ...RUN, select: null }, noProgress); // no pick: every filtered row, one of each near-duplicate group
    const info = setSubset({ onePerGroup: true })!;
    expect(info.of).toBe(report.train);
    expect(info.mixed).toBe(0);

    const again = await loadDataset('tinystories-instruct-1k.jsonl', read(STORIES), { ...OPTS, mix: null, maxLength: 128 }, noProgress);
    expect(again.subset).toEqual(info);
    const d = requireDataset();
    expect(d.subset!.samples.length).toBe(info.rows);
    expect(d.subset!.samples.every((s) => s.ids.length <= 128 && d.train.includes(s))).toBe(true);

    const other = await loadDataset('alpaca-1k.jsonl', read(ALPACA), { ...OPTS, mix: null }, noProgress);
    expect(other.subset).toBeUndefined();
    expect(other.warnings.some((w) => w.includes('curated subset'))).toBe(false);
    expect(() => setSubset({ onePerGroup: false })).toThrow(/Run the curation/);
  });

  it('stops between embedding batches when asked, and runs again after', async () => {
    await loadDataset('tinystories-instruct-1k.jsonl', read(STORIES), { ...OPTS, mix: null }, noProgress);
    const stop = (label: string) => label.startsWith('Finding near-duplicates') && stopCuration();
    await expect(runCuration(RUN, stop)).rejects.toThrow('Curation stopped: nothing was changed.');
    expect(isCurating()).toBe(false);
    expect(setSubset({ onePerGroup: true })!.description).not.toMatch(/k-center/); // nothing changed: the previous curation (no pick) stands
    const view = await runCuration({ ...RUN, select: 10 }, noProgress);
    expect(view.subsets.all.rows).toBe(10);
  });
});
