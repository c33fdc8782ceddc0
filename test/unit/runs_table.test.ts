/**
 * The results table's rows and CSV (src/ui/lib/runs.ts): final losses from
 * each run's history, win rates from the votes a run took part in (either
 * side, ties excluded, Wilson interval), and a CSV that quotes what needs it.
 */
import { describe, expect, it } from 'vitest';
import { CSV_HEADER, runRows, runsCsv } from '../../src/ui/lib/runs';
import { PRESETS } from '../../src/ui/presets';
import type { JudgeReport, RunRecord, TrainSettings, Vote } from '../../src/worker/protocol';
import { Z95 } from '../../src/engine/eval/wilson';

function record(id: number, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: `Run ${id}`,
    modelId: 'local:stories',
    modelName: 'stories260K',
    datasetName: 'tiny.jsonl',
    dataset: { format: 'instruction-response', train: 900, validation: 100, mixed: 0, template: 'plain' },
    settings: PRESETS[0].settings as TrainSettings,
    state: 'done',
    step: 4,
    totalSteps: 4,
    steps: [1, 2, 3, 4].map((step) => ({ step, totalSteps: 4, epoch: step / 450, loss: 3 - step / 10, lr: 1e-3, gradNorm: 1, tokensPerSec: 100, etaSec: 0 })),
    evals: [
      { step: 0, loss: 2.9, perplexity: Math.exp(2.9) },
      { step: 4, loss: 2.5, perplexity: Math.exp(2.5) },
    ],
    saved: true,
    createdAt: 0,
    savedAt: 0,
    ...over,
  };
}

const vote = (a: Vote['a'], b: Vote['b'], winner: Vote['winner']): Vote => ({ a, b, winner, at: 0 });

describe('runRows', () => {
  it('takes the last step and the last evaluation, sorts by id', () => {
    const rows = runRows([record(2, { steps: [], evals: [], state: 'running', step: 0 }), record(1)], []);
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
    expect(rows[0]).toMatchObject({ name: 'Run 1', samples: 900, steps: 4, trainLoss: 2.6, heldoutLoss: 2.5, winRate: null });
    expect(rows[0].perplexity).toBeCloseTo(Math.exp(2.5), 12);
    expect(rows[1]).toMatchObject({ trainLoss: null, heldoutLoss: null, perplexity: null, state: 'running' });
  });

  it('counts a run on either side of a vote, ties apart', () => {
    const votes = [vote(1, 2, 'a'), vote(2, 1, 'a'), vote('base', 1, 'b'), vote(1, 'base', 'tie'), vote('base', 'base', 'a')];
    const [one, two] = runRows([record(1), record(2)], votes);
    expect(one.votes).toEqual({ wins: 2, losses: 1, ties: 1 });
    expect(two.votes).toEqual({ wins: 1, losses: 1, ties: 0 });
    expect(one.winRate!.p).toBeCloseTo(2 / 3, 12);
    // Wilson 95% for 2 of 3: centre (p + z²/2n)/(1 + z²/n)
    const z2 = Z95 ** 2;
    const centre = (2 / 3 + z2 / 6) / (1 + z2 / 3);
    expect((one.winRate!.lo + one.winRate!.hi) / 2).toBeCloseTo(centre, 12);
  });
});

describe('runsCsv', () => {
  it('writes a header and one line per run, quoting commas and quotes', () => {
    const rows = runRows([record(1, { name: 'LIMA, "short"', mc: { set: 'stories-mc.jsonl', n: 60, acc: 0.5, accNorm: 0.45 } }), record(2, { datasetName: 'mix\nnew' })], [vote(1, 2, 'a')]);
    const csv = runsCsv(rows);
    expect(csv.endsWith('\r\n')).toBe(true);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(lines[1]).toBe('1,"LIMA, ""short""",stories260K,tiny.jsonl,900,4,4,done,2.60000,2.50000,12.1825,1,0,0,1,' + rows[0].winRate!.lo.toPrecision(6) + ',1,stories-mc.jsonl,60,0.500000,0.450000,,,,,,,');
    expect(lines[2].startsWith('2,Run 2,stories260K,"mix\nnew",900,')).toBe(true);
    expect(lines[2]).toContain(',0,1,0,0,');
  });

  it('leaves missing metrics empty', () => {
    const csv = runsCsv(runRows([record(3, { steps: [], evals: [] })], []));
    expect(csv.split('\r\n')[1]).toBe('3,Run 3,stories260K,tiny.jsonl,900,4,4,done,,,,0,0,0,,,,,,,,,,,,,,');
  });
});

describe('judge win rate vs base', () => {
  const report = (a: JudgeReport['a'], b: JudgeReport['b'], bWins: number, aWins: number, ties: number, unparsed: number): JudgeReport => ({
    a,
    b,
    pairs: [],
    bWins,
    aWins,
    ties,
    unparsed,
    unparsedReplies: unparsed,
    rate: null,
  });

  it("takes a run's newest result against base, from the run's side in either order, ties and unparsed apart", () => {
    const judged = [report('base', { run: 1 }, 1, 1, 0, 0), report({ run: 2 }, { run: 1 }, 5, 0, 0, 0), report({ run: 1 }, 'base', 3, 1, 2, 4)];
    const [one, two] = runRows([record(1), record(2)], [], judged);
    // the newest base-vs-run-1 result has run 1 as pick A: its wins are A's (1), its losses B's (3)
    expect(one.judge).toMatchObject({ wins: 1, losses: 3, ties: 2, unparsed: 4 });
    expect(one.judge!.rate!.p).toBe(0.25);
    expect(two.judge).toBeNull(); // judged against run 1 only
    const line = runsCsv([one]).split('\r\n')[1];
    expect(line.endsWith(`,1,3,2,4,0.250000,${one.judge!.rate!.lo.toPrecision(6)},${one.judge!.rate!.hi.toPrecision(6)}`)).toBe(true);
  });

  it('has no rate when every pair was a tie or unparsed', () => {
    const [one] = runRows([record(1)], [], [report('base', { run: 1 }, 0, 0, 3, 5)]);
    expect(one.judge).toEqual({ wins: 0, losses: 0, ties: 3, unparsed: 5, rate: null });
  });
});

describe('scores stay with the version of the run they were taken on', () => {
  const judgedAt = (step: number) => ({ a: 'base' as const, b: { run: 1 }, pairs: [], bWins: 2, aWins: 1, ties: 0, unparsed: 0, unparsedReplies: 0, rate: null, runSteps: { 1: step } });
  const mc = { set: 'stories-mc.jsonl', n: 60, acc: 0.5, accNorm: 0.45 };

  it('marks the MC score and the judge result taken at step K once the run trained on', () => {
    // scored and judged at step 4; the run resumed to step 8
    const [one] = runRows([record(1, { step: 8, totalSteps: 8, mc: { ...mc, step: 4 } as typeof mc })], [], [judgedAt(4)]);
    expect(one.mc).toEqual({ ...mc, takenAt: 4 });
    expect(one.judge).toMatchObject({ wins: 2, losses: 1, takenAt: 4 });
  });

  it('says nothing more while the run is where it was scored, or when the step is not known', () => {
    const [one] = runRows([record(1, { mc: { ...mc, step: 4 } as typeof mc })], [], [judgedAt(4)]);
    expect(one.mc).toEqual(mc);
    expect(one.judge!.takenAt).toBeUndefined();
    const [old] = runRows([record(1, { step: 8, mc })], [], [{ ...judgedAt(4), runSteps: undefined }]);
    expect(old.mc).toEqual(mc);
    expect(old.judge!.takenAt).toBeUndefined();
  });
});
