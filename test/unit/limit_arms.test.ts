/**
 * The LIMIT filter step's arms (src/ui/lib/limit_arms.ts): a run's arm from
 * the subset kind its record keeps, each arm's newest run of the loaded model
 * on the loaded dataset, and the leader per metric only where two arms are
 * measured.
 */
import { describe, expect, it } from 'vitest';
import { armOf, armRuns, leader, PARADIGM_METRICS } from '../../src/ui/lib/limit_arms';
import type { RunRow } from '../../src/ui/lib/runs';

function row(id: number, over: Partial<RunRow> = {}): RunRow {
  return {
    id,
    name: `Run ${id}`,
    model: 'stories260K',
    dataset: 'limit-mix',
    samples: 190,
    steps: 4,
    totalSteps: 4,
    state: 'done',
    trainLoss: 3,
    heldoutLoss: null,
    perplexity: null,
    votes: { wins: 0, losses: 0, ties: 0 },
    mc: null,
    winRate: null,
    judge: null,
    ...over,
  };
}
const metric = (key: string) => PARADIGM_METRICS.find((m) => m.key === key)!;

describe('LIMIT filter arms', () => {
  it("takes a run's arm from its subset kind; other subsets and kindless ones belong to none", () => {
    expect(armOf({})).toBe('all');
    expect(armOf({ subset: '12 of 190 scoring ≥ 4 by the judge j', subsetKind: 'judge' })).toBe('judge');
    expect(armOf({ subset: '12 diverse (k-center) of 190', subsetKind: 'diverse' })).toBe('diverse');
    expect(armOf({ subset: '180 of 190, near-duplicates removed', subsetKind: 'filtered' })).toBeNull();
    expect(armOf({ subset: '12 diverse (k-center) of 190' })).toBeNull(); // saved before kinds were kept
  });

  it("finds each arm's newest run of the loaded model on the loaded dataset", () => {
    const rows = [
      row(1),
      row(2, { subset: 'j', subsetKind: 'judge' }),
      row(3),
      row(4, { dataset: 'limit-qa' }),
      row(5, { model: 'other' }),
      row(6, { subset: 'f', subsetKind: 'filtered' }),
    ];
    const arms = armRuns(rows, { model: 'stories260K', dataset: 'limit-mix' });
    expect([arms.all?.id, arms.judge?.id, arms.diverse]).toEqual([3, 2, null]);
  });

  it('names a leader per metric only where two arms are measured, lower loss and higher rates winning, a shared best a tie', () => {
    const arms = {
      all: row(1, { heldoutLoss: 2.5, mc: { set: 's', n: 60, acc: 0.4, accNorm: 0.4 }, winRate: { p: 0.5, lo: 0.1, hi: 0.9 } }),
      judge: row(2, { heldoutLoss: 2.4, mc: { set: 's', n: 60, acc: 0.4, accNorm: 0.4 } }),
      diverse: row(3, { heldoutLoss: 2.6 }),
    };
    expect(leader(arms, metric('heldoutLoss'))).toBe('judge');
    expect(leader(arms, metric('mcAcc'))).toBe('tie');
    expect(leader(arms, metric('winRate'))).toBeNull();
    expect(leader({ ...arms, judge: null }, metric('heldoutLoss'))).toBe('all');
    expect(leader(arms, metric('judgeRate'))).toBeNull();
  });
});
