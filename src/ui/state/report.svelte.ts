/**
 * Gathers the experiment report's snapshot from the page's state (model,
 * dataset, train, compare, runs, judge) and downloads it as one HTML file
 * (lib/report.ts builds it; nothing here formats).
 */
import type { ModelSummary, TrainSettings } from '../../worker/protocol';
import { download } from '../lib/format';
import { reportHtml, type ReportModel, type ReportRun, type ReportSnapshot } from '../lib/report';
import { baselineScored, inContextRow, runRows, type BaselineRow } from '../lib/runs';
import { incontext, inContextLabel } from './incontext.svelte';
import { PRESETS } from '../presets';
import { compare } from './compare.svelte';
import { dataset } from './dataset.svelte';
import { judge } from './judge.svelte';
import { models } from './model.svelte';
import { runs } from './runs.svelte';
import { train } from './train.svelte';

/** Why there is nothing to report yet, or null when the button can work. */
export function reportBlocker(): string | null {
  if (!models.loaded && runs.list.length === 0) return 'Load a model and train a run first: the report keeps its settings, losses and comparisons.';
  if (train.steps.length === 0 && runs.list.length === 0 && compare.history.length === 0) return 'Train a run or compare two models first: there is nothing to report yet.';
  if (train.state === 'running' || train.state === 'pausing') return 'Pause or wait for the run to end: the report is made from a finished step.';
  return null;
}

/** The run the report is about: the one trained (or restored) on the page, else the newest kept one. */
function currentRun(): ReportRun | null {
  const record = runs.list.find((r) => r.id === train.runId) ?? [...runs.list].sort((a, b) => b.id - a.id)[0];
  const live = train.steps.length > 0 && (record === undefined || record.id === train.runId);
  if (!record && !live) return null;
  const settings = (live || !record ? $state.snapshot(train.settings) : record.settings) as TrainSettings;
  const preset = live ? (PRESETS.find((p) => p.id === train.preset)?.title ?? train.preset) : 'as kept with the run';
  const steps = live ? train.steps : record!.steps;
  const evals = live ? train.evals : record!.evals;
  return {
    id: record?.id ?? null,
    name: record?.name ?? 'Current run',
    state: live ? train.state : record!.state,
    preset,
    settings: { ...settings },
    adapterParams: live ? train.adapterParams : 0,
    steps: steps.map((s) => ({ step: s.step, loss: s.loss })),
    totalSteps: steps.at(-1)?.totalSteps ?? record?.totalSteps ?? 0,
    evals: evals.map((e) => ({ ...e })),
  };
}

/** The summary less its templates and shape (the report's ReportModel). */
function reportModel({ templates: _t, shape: _s, frozenSizes: _z, frozenBits: _b, ...rest }: ModelSummary): ReportModel {
  return rest;
}

export function reportSnapshot(now = Date.now()): ReportSnapshot {
  const m = models.loaded;
  const d = dataset.report;
  return {
    createdAt: now,
    model: m && reportModel(m),
    dataset: d && {
      name: d.name,
      format: d.format,
      template: dataset.template,
      train: d.train,
      validation: d.validation,
      mixed: d.mixed,
      rowsUsable: d.stats.rowsUsable,
      rowsRejected: d.stats.rowsRejected,
      length: { ...d.stats.length },
      truncated: d.stats.truncated,
      duplicates: d.stats.duplicates,
      responseTokens: d.stats.responseTokens,
      responseTokensMean: d.stats.responseTokensMean,
      warnings: [...d.warnings],
    },
    run: currentRun(),
    heldout: compare.heldout && $state.snapshot(compare.heldout),
    comparisons: compare.history.map((c) => ({ at: c.at, prompt: c.prompt, ...(c.input ? { input: c.input } : {}), raw: c.raw, blind: c.blind, settings: { ...c.settings }, a: { ...c.a }, b: c.b && { ...c.b }, vote: c.vote })),
    runs: runRows($state.snapshot(runs.list), $state.snapshot(runs.votes), $state.snapshot(judge.results)),
    mcBase: runs.mc.base && { ...runs.mc.base },
    baseline: shownBaseline(inContextRow(inContextLabel(), $state.snapshot(runs.votes), $state.snapshot(judge.results), incontext.heldout && { ...incontext.heldout })),
  };
}

/** The in-context row as the runs table shows it: once set, or while votes or a judge result against base are kept. */
const shownBaseline = (b: BaselineRow) => (incontext.summary || baselineScored(b) ? b : null);

export function downloadReport(): void {
  const now = Date.now();
  const stamp = new Date(now).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  download(`lima-report-${stamp}.html`, reportHtml(reportSnapshot(now)), 'text/html');
}
