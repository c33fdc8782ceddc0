/**
 * The LIMIT walkthrough's filter step (issue 24): the same dataset trained
 * three ways, all rows, the rows the quality judge scored >= N, and as many
 * k-center diverse rows, each a run. This finds each arm's newest run among
 * the results table's rows (by the subset kind its record keeps) and which
 * arm leads on each metric of the two evaluation paradigms. Pure functions.
 */
import type { RunRow } from './runs';

export type ArmId = 'all' | 'judge' | 'diverse';

export const ARMS: readonly { id: ArmId; label: string }[] = [
  { id: 'all', label: 'Unfiltered' },
  { id: 'judge', label: 'Judge-filtered' },
  { id: 'diverse', label: 'k-center diverse' },
];

/** The arm a run belongs to: every row (no subset), the judge's subset, the k-center pick; null for other subsets (filters, near-duplicates) and subsets saved without their kind. */
export function armOf(r: Pick<RunRow, 'subset' | 'subsetKind'>): ArmId | null {
  if (r.subset === undefined) return 'all';
  if (r.subsetKind === 'judge') return 'judge';
  if (r.subsetKind === 'diverse') return 'diverse';
  return null;
}

/** Each arm's newest run (highest id) of this model on this dataset, or null. */
export function armRuns(rows: readonly RunRow[], on: { model: string; dataset: string }): Record<ArmId, RunRow | null> {
  const out: Record<ArmId, RunRow | null> = { all: null, judge: null, diverse: null };
  for (const r of rows) {
    if (r.model !== on.model || r.dataset !== on.dataset) continue;
    const arm = armOf(r);
    if (arm && (!out[arm] || r.id > out[arm]!.id)) out[arm] = r;
  }
  return out;
}

/** The two paradigms' metrics the step compares: benchmark-style (held-out loss, multiple choice) and side-by-side preference (blind votes, judge vs base). */
export const PARADIGM_METRICS = [
  { key: 'heldoutLoss', label: 'held-out loss', paradigm: 'benchmark', lowerIsBetter: true, value: (r: RunRow) => r.heldoutLoss },
  { key: 'mcAcc', label: 'multiple-choice accuracy', paradigm: 'benchmark', lowerIsBetter: false, value: (r: RunRow) => r.mc?.acc ?? null },
  { key: 'winRate', label: 'blind-vote win rate', paradigm: 'preference', lowerIsBetter: false, value: (r: RunRow) => r.winRate?.p ?? null },
  { key: 'judgeRate', label: 'judge win rate vs base', paradigm: 'preference', lowerIsBetter: false, value: (r: RunRow) => r.judge?.rate?.p ?? null },
] as const;

export type ParadigmMetric = (typeof PARADIGM_METRICS)[number];

/**
 * The arm that leads on a metric, when at least two arms have a value for it;
 * 'tie' when the best value is shared; null when fewer than two are measured.
 */
export function leader(arms: Record<ArmId, RunRow | null>, m: ParadigmMetric): ArmId | 'tie' | null {
  const have = ARMS.flatMap(({ id }) => {
    const r = arms[id];
    const v = r ? m.value(r) : null;
    return v === null || !Number.isFinite(v) ? [] : [{ id, v }];
  });
  if (have.length < 2) return null;
  const best = m.lowerIsBetter ? Math.min(...have.map((h) => h.v)) : Math.max(...have.map((h) => h.v));
  const at = have.filter((h) => h.v === best);
  return at.length > 1 ? 'tie' : at[0].id;
}
