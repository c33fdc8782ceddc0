/**
 * The results table's rows, from the runs kept in IndexedDB and the blind
 * votes, and their CSV. Pure functions (no Svelte, no IndexedDB): the table,
 * the bar charts and the CSV download read the same rows.
 */
import type { EvalPoint, RunRecord, Vote } from '../../worker/protocol';
import { wilson } from './format';

export interface RunRow {
  id: number;
  name: string;
  model: string;
  dataset: string;
  /** training rows (mixed-in ones included) */
  samples: number;
  steps: number;
  totalSteps: number;
  state: RunRecord['state'];
  /** the last step's training loss */
  trainLoss: number | null;
  /** the last evaluation on the run's own held-out rows */
  heldoutLoss: number | null;
  perplexity: number | null;
  /** blind votes this run took part in (against base or another run); ties excluded from the rate */
  votes: { wins: number; losses: number; ties: number };
  /** multiple-choice benchmark (set name, items, acc, acc_norm), when scored */
  mc: { set: string; n: number; acc: number; accNorm: number } | null;
  /** wins / decided votes, with a Wilson 95% interval; null without a decided vote */
  winRate: { p: number; lo: number; hi: number } | null;
}

function lastEval(evals: EvalPoint[]): EvalPoint | null {
  return evals.length ? evals[evals.length - 1] : null;
}

export function runRows(records: RunRecord[], votes: Vote[]): RunRow[] {
  return [...records]
    .sort((x, y) => x.id - y.id)
    .map((r) => {
      const v = { wins: 0, losses: 0, ties: 0 };
      for (const vote of votes) {
        const side = vote.a === r.id ? 'a' : vote.b === r.id ? 'b' : null;
        if (!side || vote.a === vote.b) continue;
        if (vote.winner === 'tie') v.ties++;
        else if (vote.winner === side) v.wins++;
        else v.losses++;
      }
      const n = v.wins + v.losses;
      const e = lastEval(r.evals);
      return {
        id: r.id,
        name: r.name,
        model: r.modelName,
        dataset: r.datasetName,
        samples: r.dataset.train,
        steps: r.step,
        totalSteps: r.totalSteps,
        state: r.state,
        trainLoss: r.steps.length ? r.steps[r.steps.length - 1].loss : null,
        heldoutLoss: e?.loss ?? null,
        perplexity: e?.perplexity ?? null,
        votes: v,
        mc: r.mc ?? null,
        winRate: n > 0 ? wilson(v.wins, n) : null,
      };
    });
}

/** The metrics that get a bar chart: what each is, and whether lower is better. */
export const METRICS = [
  { key: 'trainLoss', label: 'Final train loss', lowerIsBetter: true },
  { key: 'heldoutLoss', label: 'Held-out loss', lowerIsBetter: true },
  { key: 'perplexity', label: 'Held-out perplexity', lowerIsBetter: true },
  { key: 'mcAcc', label: 'Multiple-choice accuracy', lowerIsBetter: false },
  { key: 'winRate', label: 'Blind-vote win rate', lowerIsBetter: false },
] as const;

export type MetricKey = (typeof METRICS)[number]['key'];

export function metricValue(row: RunRow, key: MetricKey): number | null {
  if (key === 'winRate') return row.winRate?.p ?? null;
  if (key === 'mcAcc') return row.mc?.acc ?? null;
  return row[key];
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function field(v: string | number | null): string {
  if (v === null) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_HEADER = [
  'run',
  'name',
  'model',
  'dataset',
  'samples',
  'steps',
  'total_steps',
  'state',
  'final_train_loss',
  'heldout_loss',
  'heldout_perplexity',
  'votes_won',
  'votes_lost',
  'votes_tied',
  'win_rate',
  'win_rate_lo',
  'win_rate_hi',
  'mc_set',
  'mc_items',
  'mc_acc',
  'mc_acc_norm',
];

/** The table as CSV, one line per run (CRLF line ends, as RFC 4180 writes them). */
export function runsCsv(rows: RunRow[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const r of rows) {
    lines.push(
      [
        r.id,
        r.name,
        r.model,
        r.dataset,
        r.samples,
        r.steps,
        r.totalSteps,
        r.state,
        r.trainLoss,
        r.heldoutLoss,
        r.perplexity,
        r.votes.wins,
        r.votes.losses,
        r.votes.ties,
        r.winRate?.p ?? null,
        r.winRate?.lo ?? null,
        r.winRate?.hi ?? null,
        r.mc?.set ?? null,
        r.mc?.n ?? null,
        r.mc?.acc ?? null,
        r.mc?.accNorm ?? null,
      ]
        .map(field)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}
