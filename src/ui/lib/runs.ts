/**
 * The results table's rows, from the runs kept in IndexedDB and the blind
 * votes, and their CSV. Pure functions (no Svelte, no IndexedDB): the table,
 * the bar charts and the CSV download read the same rows.
 */
import type { AdapterUse, EvalPoint, JudgeReport, RunRecord, SubsetKind, Vote } from '../../worker/protocol';
import { decidedWinRate } from '../../engine/eval/wilson';
import type { StoredMcScore } from '../../worker/db';

export interface RunRow {
  id: number;
  name: string;
  model: string;
  dataset: string;
  /** how the curated subset it trained on was chosen (RunRecord.dataset.subset); absent: every training row */
  subset?: string;
  /** how that subset was chosen (RunRecord.dataset.subsetKind), when the record says */
  subsetKind?: SubsetKind;
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
  /** multiple-choice benchmark (set name, items, acc, acc_norm), when scored; takenAt: the step it was scored at, once the run has trained on since (else absent) */
  mc: { set: string; n: number; acc: number; accNorm: number; takenAt?: number } | null;
  /** wins / decided votes, with a Wilson 95% interval; null without a decided vote */
  winRate: { p: number; lo: number; hi: number } | null;
  /** the model judge's latest verdicts on this run against base (ties and unparsed pairs apart from the rate), when judged */
  judge: { wins: number; losses: number; ties: number; unparsed: number; rate: { p: number; lo: number; hi: number } | null; takenAt?: number } | null;
}

/** A judge result as the page keeps it: the report and, when known, the step each run was at when judged (state/judge.svelte.ts). */
export type JudgedAt = JudgeReport & { runSteps?: Record<number, number> };

/** The step a score was taken at, when the run has trained on since (a score stays with the version of the run it was taken on). */
const takenAtOf = (taken: number | undefined, now: number): { takenAt?: number } => (taken !== undefined && taken !== now ? { takenAt: taken } : {});

/** wins / decided comparisons (ties apart) with a 95% Wilson interval: the page's one win-rate definition, for votes and judge alike. */
const decidedRate = decidedWinRate;

const isRun = (u: AdapterUse, id: number) => typeof u === 'object' && u.run === id;

/** Run `id`'s side of the newest judge result between it and base (`judged` oldest first), with the step it was judged at once the run is past it. */
function judgeVsBase(id: number, step: number, judged: JudgedAt[]): RunRow['judge'] {
  const r = [...judged].reverse().find((j) => (j.a === 'base' && isRun(j.b, id)) || (j.b === 'base' && isRun(j.a, id)));
  if (!r) return null;
  const [wins, losses] = r.a === 'base' ? [r.bWins, r.aWins] : [r.aWins, r.bWins];
  return { wins, losses, ties: r.ties, unparsed: r.unparsed, rate: decidedRate(wins, losses), ...takenAtOf(r.runSteps?.[id], step) };
}

function lastEval(evals: EvalPoint[]): EvalPoint | null {
  return evals.length ? evals[evals.length - 1] : null;
}

export function runRows(records: RunRecord[], votes: Vote[], judged: JudgedAt[] = []): RunRow[] {
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
      const e = lastEval(r.evals);
      return {
        id: r.id,
        name: r.name,
        model: r.modelName,
        dataset: r.datasetName,
        subset: r.dataset.subset,
        ...(r.dataset.subsetKind ? { subsetKind: r.dataset.subsetKind } : {}),
        samples: r.dataset.train,
        steps: r.step,
        totalSteps: r.totalSteps,
        state: r.state,
        trainLoss: r.steps.length ? r.steps[r.steps.length - 1].loss : null,
        heldoutLoss: e?.loss ?? null,
        perplexity: e?.perplexity ?? null,
        votes: v,
        mc: r.mc ? { set: r.mc.set, n: r.mc.n, acc: r.mc.acc, accNorm: r.mc.accNorm, ...takenAtOf((r.mc as StoredMcScore).step, r.step) } : null,
        winRate: decidedRate(v.wins, v.losses),
        judge: judgeVsBase(r.id, r.step, judged),
      };
    });
}

/**
 * The in-context baseline's row (issue 15 item 2: base model + k training
 * examples, no training): its blind votes and the judge's latest verdicts,
 * both against the bare base model, so "did tuning beat prompting?" reads off
 * the table beside the runs' own rates against base.
 */
export interface BaselineRow {
  name: string;
  votes: { wins: number; losses: number; ties: number };
  winRate: { p: number; lo: number; hi: number } | null;
  judge: RunRow['judge'];
  /** its held-out loss from Compare, on `rows` held-out rows (null until scored) */
  heldout: { loss: number; perplexity: number; rows: number; examples: number } | null;
}

export function inContextRow(name: string, votes: Vote[], judged: JudgeReport[] = [], heldout: BaselineRow['heldout'] = null): BaselineRow {
  const v = { wins: 0, losses: 0, ties: 0 };
  for (const vote of votes) {
    const side = vote.a === 'incontext' && vote.b === 'base' ? 'a' : vote.b === 'incontext' && vote.a === 'base' ? 'b' : null;
    if (!side) continue;
    if (vote.winner === 'tie') v.ties++;
    else if (vote.winner === side) v.wins++;
    else v.losses++;
  }
  const r = [...judged].reverse().find((j) => (j.a === 'base' && j.b === 'incontext') || (j.b === 'base' && j.a === 'incontext'));
  const judge = r ? (([wins, losses]) => ({ wins, losses, ties: r.ties, unparsed: r.unparsed, rate: decidedRate(wins, losses) }))(r.a === 'base' ? [r.bWins, r.aWins] : [r.aWins, r.bWins]) : null;
  return { name, votes: v, winRate: decidedRate(v.wins, v.losses), judge, heldout };
}

/** Whether the baseline has anything to show: a vote or a judge result against base. */
export const baselineScored = (b: BaselineRow) => b.votes.wins + b.votes.losses + b.votes.ties > 0 || b.judge !== null || b.heldout !== null;

/** The metrics that get a bar chart: what each is, and whether lower is better. */
export const METRICS = [
  { key: 'trainLoss', label: 'Final train loss', lowerIsBetter: true },
  { key: 'heldoutLoss', label: 'Held-out loss', lowerIsBetter: true },
  { key: 'perplexity', label: 'Held-out perplexity', lowerIsBetter: true },
  { key: 'mcAcc', label: 'Multiple-choice accuracy', lowerIsBetter: false },
  { key: 'winRate', label: 'Blind-vote win rate', lowerIsBetter: false },
  { key: 'judgeRate', label: 'Judge win rate vs base', lowerIsBetter: false },
] as const;

export type MetricKey = (typeof METRICS)[number]['key'];

export function metricValue(row: RunRow, key: MetricKey): number | null {
  if (key === 'winRate') return row.winRate?.p ?? null;
  if (key === 'judgeRate') return row.judge?.rate?.p ?? null;
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
  'judge_wins_vs_base',
  'judge_losses_vs_base',
  'judge_ties_vs_base',
  'judge_unparsed_vs_base',
  'judge_win_rate_vs_base',
  'judge_win_rate_lo',
  'judge_win_rate_hi',
];

/** The table as CSV, one line per run and one for the in-context baseline when given (run "incontext"; CRLF line ends, as RFC 4180 writes them). */
export function runsCsv(rows: RunRow[], baseline: BaselineRow | null = null): string {
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
        r.judge?.wins ?? null,
        r.judge?.losses ?? null,
        r.judge?.ties ?? null,
        r.judge?.unparsed ?? null,
        r.judge?.rate?.p ?? null,
        r.judge?.rate?.lo ?? null,
        r.judge?.rate?.hi ?? null,
      ]
        .map(field)
        .join(','),
    );
  }
  if (baseline) {
    const b = baseline;
    const cells: (string | number | null)[] = CSV_HEADER.map(() => null);
    const set = (col: string, v: string | number | null) => (cells[CSV_HEADER.indexOf(col)] = v);
    set('run', 'incontext');
    set('name', b.name);
    set('heldout_loss', b.heldout?.loss ?? null);
    set('heldout_perplexity', b.heldout?.perplexity ?? null);
    set('votes_won', b.votes.wins);
    set('votes_lost', b.votes.losses);
    set('votes_tied', b.votes.ties);
    set('win_rate', b.winRate?.p ?? null);
    set('win_rate_lo', b.winRate?.lo ?? null);
    set('win_rate_hi', b.winRate?.hi ?? null);
    set('judge_wins_vs_base', b.judge?.wins ?? null);
    set('judge_losses_vs_base', b.judge?.losses ?? null);
    set('judge_ties_vs_base', b.judge?.ties ?? null);
    set('judge_unparsed_vs_base', b.judge?.unparsed ?? null);
    set('judge_win_rate_vs_base', b.judge?.rate?.p ?? null);
    set('judge_win_rate_lo', b.judge?.rate?.lo ?? null);
    set('judge_win_rate_hi', b.judge?.rate?.hi ?? null);
    lines.push(cells.map(field).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
