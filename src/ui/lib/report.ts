/**
 * The experiment report: one self-contained HTML file (inline CSS, inline SVG
 * charts, no scripts) with what a class needs to keep after a run — the model,
 * the dataset, every training setting, the loss curves, held-out loss base vs
 * tuned, the comparisons with their votes, and the runs table (lib/runs.ts's
 * rows, both evaluation paradigms: benchmark scores and blind votes).
 *
 * Pure: `reportHtml(snapshot)` reads a plain snapshot (state/report.svelte.ts
 * gathers it from the page) and returns the file's text. Every piece of user
 * text (names, prompts, outputs) goes through `esc`, so a prompt containing
 * `<script>` stays text.
 */
import type { EvalPoint, McScore, StepPoint } from '../../worker/protocol';
import { fmtParams, wilson } from './format';
import type { BaselineRow, RunRow } from './runs';
import type { ModelSummary } from '../../worker/protocol';

/** The model as the report names it: the worker's summary less what only the page's logic reads. */
/** The loaded model as the report shows it; weightFormat is absent in reports made before it existed (then weightBytes says 16-bit or f32). */
export type ReportModel = Omit<ModelSummary, 'templates' | 'shape' | 'frozenSizes' | 'weightFormat' | 'frozenBits'> & { weightFormat?: string };

export interface ReportDataset {
  name: string;
  format: string | null;
  template: string;
  train: number;
  validation: number;
  mixed: number;
  rowsUsable: number;
  rowsRejected: number;
  length: { min: number; median: number; p90: number; max: number; mean: number };
  truncated: number;
  duplicates: number;
  responseTokens: number;
  responseTokensMean: number;
  warnings: string[];
}

export interface ReportRun {
  id: number | null;
  name: string;
  state: string;
  /** the preset's title, or 'custom' */
  preset: string;
  /** every training setting, as the run used them */
  settings: Record<string, unknown>;
  adapterParams: number;
  steps: Pick<StepPoint, 'step' | 'loss'>[];
  totalSteps: number;
  evals: EvalPoint[];
}

export interface ReportComparison {
  at: number;
  prompt: string;
  /** Alpaca's input sent with the instruction, when there was one */
  input?: string;
  raw: boolean;
  blind: boolean;
  settings: Record<string, unknown>;
  a: { name: string; text: string };
  b: { name: string; text: string } | null;
  vote: 'a' | 'b' | 'tie' | null;
}

export interface ReportSnapshot {
  /** when the report was made (ms since the epoch) */
  createdAt: number;
  model: ReportModel | null;
  dataset: ReportDataset | null;
  run: ReportRun | null;
  /** Compare's held-out loss: the two picks scored on the same rows */
  heldout: { rows: number; labels: string[]; points: EvalPoint[] } | null;
  comparisons: ReportComparison[];
  runs: RunRow[];
  mcBase: McScore | null;
  /** the in-context baseline's row (lib/runs inContextRow), when it has a score; absent in reports made before it existed */
  baseline?: BaselineRow | null;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and quoted attributes. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !isFinite(v) ? '–' : v.toFixed(digits));
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;
const int = (v: number) => v.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Labels for the settings the page shows (TrainSettings); a setting without one is listed by its key. */
const SETTING_LABELS: Record<string, string> = {
  preset: 'Preset',
  rank: 'LoRA rank',
  alpha: 'LoRA alpha',
  dropout: 'LoRA dropout',
  rslora: 'rsLoRA scaling',
  targets: 'Target layers',
  lr: 'Learning rate',
  schedule: 'Schedule',
  warmup: 'Warmup steps',
  optimizer: 'Optimizer',
  weightDecay: 'Weight decay',
  maxGradNorm: 'Gradient clipping (max norm)',
  batchSize: 'Batch size',
  gradAccum: 'Gradient accumulation',
  epochs: 'Epochs',
  maxSteps: 'Max steps (0: epochs decide)',
  maxLength: 'Max length (tokens)',
  packing: 'Packing',
  seed: 'Seed',
  shuffle: 'Shuffle',
  evalEvery: 'Validation every N steps',
  sampleEvery: 'Sample every N steps',
  checkpointEvery: 'Checkpoint every N steps',
  saveMemory: 'Save memory (recompute activations)',
  gradientCheckpointing: 'Activation checkpointing',
  memoryBudgetBytes: 'GPU memory budget (bytes)',
  temperature: 'Temperature',
  topK: 'Top-k',
  topP: 'Top-p',
  repetitionPenalty: 'Repetition penalty',
  maxNewTokens: 'Max new tokens',
};

function settingValue(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join(', ');
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return '–';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function settingsTable(settings: Record<string, unknown>, caption: string): string {
  const rows = Object.keys(settings)
    .map((k) => `<tr><th scope="row">${esc(SETTING_LABELS[k] ?? k)}</th><td data-setting="${esc(k)}">${esc(settingValue(settings[k]))}</td></tr>`)
    .join('');
  return `<table class="kv"><caption>${esc(caption)}</caption><tbody>${rows}</tbody></table>`;
}

/** Round tick steps (1, 2, 5 × 10^k) giving about `count` ticks over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** The loss curves as an inline SVG: training loss per step (line), validation loss at its evaluations (line and dots). */
export function lossSvg(steps: Pick<StepPoint, 'step' | 'loss'>[], evals: EvalPoint[], totalSteps: number): string {
  const W = 720;
  const H = 300;
  const m = { l: 56, r: 16, t: 16, b: 44 };
  const all = [...steps.map((s) => s.loss), ...evals.map((e) => e.loss)].filter((v) => isFinite(v));
  if (all.length === 0) return '<p class="muted">No loss recorded yet.</p>';
  const xMax = Math.max(1, totalSteps, ...steps.map((s) => s.step), ...evals.map((e) => e.step));
  let yLo = Math.min(...all);
  let yHi = Math.max(...all);
  const pad = Math.max((yHi - yLo) * 0.08, 0.05);
  yLo = Math.max(0, yLo - pad);
  yHi += pad;
  const x = (v: number) => m.l + (v / xMax) * (W - m.l - m.r);
  const y = (v: number) => m.t + (1 - (v - yLo) / (yHi - yLo)) * (H - m.t - m.b);
  const f = (v: number) => v.toFixed(1);
  const grid = niceTicks(yLo, yHi)
    .filter((t) => t >= yLo && t <= yHi)
    .map((t) => `<line x1="${m.l}" x2="${W - m.r}" y1="${f(y(t))}" y2="${f(y(t))}" class="grid"/><text x="${m.l - 6}" y="${f(y(t) + 4)}" text-anchor="end">${t}</text>`)
    .join('');
  const xTicks = niceTicks(0, xMax, 6)
    .filter((t) => Number.isInteger(t))
    .map((t) => `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${H - m.b}" y2="${H - m.b + 5}" class="axis"/><text x="${f(x(t))}" y="${H - m.b + 18}" text-anchor="middle">${t}</text>`)
    .join('');
  const line = (pts: { step: number; loss: number }[]) => pts.map((p) => `${f(x(p.step))},${f(y(p.loss))}`).join(' ');
  const train = steps.length ? `<polyline points="${line(steps)}" class="train"/>` : '';
  const val = evals.length
    ? `<polyline points="${line(evals)}" class="val"/>` +
      evals.map((e) => `<circle cx="${f(x(e.step))}" cy="${f(y(e.loss))}" r="4" class="val-dot"><title>step ${e.step}: validation loss ${e.loss.toFixed(4)}</title></circle>`).join('')
    : '';
  const legend =
    `<g transform="translate(${W - m.r - 250},${m.t + 4})"><rect width="250" height="44" class="legend"/>` +
    `<line x1="10" x2="34" y1="14" y2="14" class="train"/><text x="40" y="18">training loss (${plural(steps.length, 'step')})</text>` +
    `<line x1="10" x2="34" y1="32" y2="32" class="val"/><circle cx="22" cy="32" r="4" class="val-dot"/><text x="40" y="36">validation loss (${plural(evals.length, 'point')})</text></g>`;
  return (
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Loss curves: training loss over ${steps.length} steps, validation loss at ${evals.length} evaluations" xmlns="http://www.w3.org/2000/svg">` +
    `${grid}<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" class="axis"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" class="axis"/>${xTicks}` +
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">step</text><text transform="translate(14,${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">loss</text>` +
    `${train}${val}${legend}</svg>`
  );
}

/** Horizontal bars for a few labelled values (held-out loss base vs tuned). */
function barsSvg(items: { label: string; value: number }[], digits: number): string {
  const W = 720;
  const rowH = 30;
  const labelW = 260;
  const H = items.length * rowH + 8;
  const max = Math.max(...items.map((i) => i.value), 1e-9);
  const bars = items
    .map((it, i) => {
      const w = ((W - labelW - 80) * it.value) / max;
      const yy = 4 + i * rowH;
      return `<text x="${labelW - 8}" y="${yy + 19}" text-anchor="end">${esc(it.label)}</text><rect x="${labelW}" y="${yy + 4}" width="${w.toFixed(1)}" height="${rowH - 10}" class="bar b${i % 2}"/><text x="${(labelW + w + 6).toFixed(1)}" y="${yy + 19}">${it.value.toFixed(digits)}</text>`;
    })
    .join('');
  return `<svg class="chart bars" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(items.map((i) => `${i.label}: ${i.value.toFixed(digits)}`).join('; '))}" xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}

/** The votes of the comparisons made, tallied per pair (by name): how often the second beat the first. */
export function voteTally(comparisons: ReportComparison[]): { a: string; b: string; aWins: number; bWins: number; ties: number; n: number; p: number; lo: number; hi: number }[] {
  const pairs = new Map<string, { a: string; b: string; aWins: number; bWins: number; ties: number }>();
  for (const c of comparisons) {
    if (!c.b || c.vote === null || c.a.name === c.b.name) continue;
    const key = JSON.stringify([c.a.name, c.b.name]);
    const flipped = JSON.stringify([c.b.name, c.a.name]);
    const k = pairs.has(flipped) ? flipped : key;
    const t = pairs.get(k) ?? { a: c.a.name, b: c.b.name, aWins: 0, bWins: 0, ties: 0 };
    pairs.set(k, t);
    if (c.vote === 'tie') t.ties++;
    else if ((c.vote === 'a') === (t.a === c.a.name)) t.aWins++;
    else t.bWins++;
  }
  return [...pairs.values()].map((t) => ({ ...t, n: t.aWins + t.bWins, ...wilson(t.bWins, t.aWins + t.bWins) }));
}

/** "Q4_0, 4.5 bits a weight": the format(s) the frozen matrices had on the GPU and their mean bits (bf16 16, Q8_0 8.5, Q4_0 4.5). */
export function frozenWeights(m: ReportModel): string {
  if (!m.weightFormat) return m.weightBytes === 2 ? '16-bit' : '32-bit float';
  const bits = m.weightBytes * 8;
  return `${m.weightFormat}, ${Number(bits.toFixed(2))} bits a weight`;
}

function modelSection(m: ReportModel | null): string {
  if (!m) return '<section><h2>Model</h2><p class="muted">No model was loaded.</p></section>';
  return (
    `<section><h2>Model</h2><p class="lead"><strong data-field="model-name">${esc(m.name)}</strong> · <span data-field="model-params">${esc(fmtParams(m.params))}</span> parameters (${int(m.params)})</p>` +
    `<table class="kv"><tbody>` +
    [
      ['Format', { hf: 'Hugging Face (safetensors)', llama2c: 'llama2.c', gguf: 'GGUF' }[m.format]],
      ['Layers', m.layers],
      ['Hidden size', m.hidden],
      ['Attention heads (key/value heads)', `${m.heads} (${m.kvHeads})`],
      ['Vocabulary', int(m.vocab)],
      ['Context (tokens)', int(m.context)],
      ['Frozen weights on the GPU', frozenWeights(m)],
    ]
      .map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`)
      .join('') +
    `</tbody></table></section>`
  );
}

function datasetSection(d: ReportDataset | null): string {
  if (!d) return '<section><h2>Dataset</h2><p class="muted">No dataset was loaded.</p></section>';
  const l = d.length;
  const rows: [string, string][] = [
    ['Format', d.format ?? 'not detected'],
    ['Prompt template', d.template],
    ['Usable rows (rejected)', `${int(d.rowsUsable)} (${int(d.rowsRejected)})`],
    ['Training rows', int(d.train) + (d.mixed ? ` (${int(d.mixed)} mixed in)` : '')],
    ['Held out for validation', int(d.validation)],
    ['Length in tokens: min / median / p90 / max (mean)', `${l.min} / ${l.median} / ${l.p90} / ${l.max} (${l.mean.toFixed(1)})`],
    ['Cut at max length', int(d.truncated)],
    ['Exact duplicates', int(d.duplicates)],
    ['Response tokens (per sample)', `${int(d.responseTokens)} (${d.responseTokensMean.toFixed(1)})`],
  ];
  return (
    `<section><h2>Dataset</h2><p class="lead"><strong data-field="dataset-name">${esc(d.name)}</strong>: ${int(d.train)} training rows, ${int(d.validation)} held out</p>` +
    `<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>` +
    (d.warnings.length ? `<h3>Warnings</h3><ul>${d.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '') +
    `</section>`
  );
}

function trainingSection(r: ReportRun | null): string {
  if (!r) return '<section><h2>Training</h2><p class="muted">No training run yet.</p></section>';
  const last = r.steps.at(-1);
  const first = r.evals.find((e) => e.step === 0) ?? null;
  const lastEval = r.evals.at(-1) ?? null;
  const summary =
    `<p class="lead"><strong>${esc(r.name)}</strong> (${esc(r.state)}) · step <span data-field="steps">${last?.step ?? 0}</span> of <span data-field="total-steps">${r.totalSteps}</span>` +
    ` · final training loss <span data-field="final-loss">${num(last?.loss, 4)}</span>` +
    (lastEval ? ` · validation loss <span data-field="val-loss">${num(lastEval.loss, 4)}</span> (perplexity ${num(lastEval.perplexity, 2)})` : '') +
    (r.adapterParams ? ` · ${int(r.adapterParams)} adapter parameters` : '') +
    `</p>`;
  const heldout =
    first && lastEval && lastEval.step > 0
      ? `<h3>Held-out loss before and after training</h3>` +
        barsSvg(
          [
            { label: `Base (step 0)`, value: first.loss },
            { label: `Tuned (step ${lastEval.step})`, value: lastEval.loss },
          ],
          4,
        )
      : '';
  return (
    `<section><h2>Training</h2>${summary}<h3>Loss curves</h3>${lossSvg(r.steps, r.evals, r.totalSteps)}${heldout}` +
    settingsTable({ preset: r.preset, ...r.settings }, 'Every training setting') +
    `</section>`
  );
}

function heldoutSection(h: ReportSnapshot['heldout']): string {
  if (!h || h.points.length === 0) return '';
  const rows = h.points
    .map((p, i) => `<tr><th scope="row">${esc(h.labels[i] ?? `pick ${i + 1}`)}</th><td data-field="heldout-loss-${i}">${num(p.loss, 3)}</td><td>${num(p.perplexity, 2)}</td></tr>`)
    .join('');
  return (
    `<section><h2>Held-out loss, base vs tuned</h2><p>Scored on the same <strong>${int(h.rows)}</strong> held-out rows (response tokens only), in Compare.</p>` +
    barsSvg(
      h.points.map((p, i) => ({ label: h.labels[i] ?? `pick ${i + 1}`, value: p.loss })),
      3,
    ) +
    `<table><thead><tr><th scope="col">Model</th><th scope="col">Held-out loss</th><th scope="col">Perplexity</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

function comparisonsSection(cs: ReportComparison[]): string {
  if (cs.length === 0) return '<section><h2>Comparisons</h2><p class="muted">No comparison was made on the page.</p></section>';
  const tallies = voteTally(cs);
  const voted = cs.filter((c) => c.vote !== null).length;
  const tally = tallies.length
    ? `<table><caption>Blind votes of these comparisons, per pair (ties excluded from the rate; Wilson 95% interval)</caption><thead><tr><th scope="col">Pair</th><th scope="col">Wins</th><th scope="col">Ties</th><th scope="col">Win rate of the second</th></tr></thead><tbody>` +
      tallies
        .map(
          (t) =>
            `<tr><th scope="row">${esc(t.b)} vs ${esc(t.a)}</th><td>${t.bWins}–${t.aWins}</td><td>${t.ties}</td><td data-field="win-rate">${t.n ? `${pct(t.p)} (${pct(t.lo)}–${pct(t.hi)}) of ${t.n}` : '–'}</td></tr>`,
        )
        .join('') +
      `</tbody></table>`
    : '';
  const items = cs
    .map((c, i) => {
      const s = c.settings;
      const sampling = `temperature ${esc(s.temperature)}, top-k ${esc(s.topK)}, top-p ${esc(s.topP)}, repetition penalty ${esc(s.repetitionPenalty)}, ${esc(s.maxNewTokens)} new tokens, seed ${esc(s.seed)}${c.raw ? ', raw text' : ''}`;
      const vote =
        c.vote === null ? (c.blind ? 'not voted' : 'not blind (no vote)') : c.vote === 'tie' ? 'vote: tie' : `vote: <strong>${esc((c.vote === 'a' ? c.a : c.b!).name)}</strong> better`;
      const side = (o: { name: string; text: string }, won: boolean) => `<div class="side${won ? ' won' : ''}"><h4>${esc(o.name)}${won ? ' ✓' : ''}</h4><p class="out">${esc(o.text)}</p></div>`;
      return (
        `<article class="cmp" data-comparison="${i + 1}"><h3>${i + 1}. <span class="prompt">${esc(c.prompt)}</span></h3>` +
        (c.input ? `<p class="prompt" data-field="input"><span class="muted">Input:</span> ${esc(c.input)}</p>` : '') +
        `<p class="muted small">${new Date(c.at).toISOString().replace('T', ' ').slice(0, 19)} UTC · ${c.blind ? 'blind' : 'open'} · ${sampling} · <span data-field="vote">${vote}</span></p>` +
        `<div class="sides">${side(c.a, c.vote === 'a')}${c.b ? side(c.b, c.vote === 'b') : '<div class="side"><p class="muted">Only the base model answered.</p></div>'}</div></article>`
      );
    })
    .join('');
  return `<section><h2>Comparisons</h2><p>${cs.length} comparison${cs.length === 1 ? '' : 's'} made, ${voted} voted.</p>${tally}${items}</section>`;
}

const rateCell = (rate: { p: number; lo: number; hi: number } | null, wins: number, losses: number) => (rate ? `${pct(rate.p)} of ${wins + losses} (${pct(rate.lo)}–${pct(rate.hi)})` : '–');
const takenAt = (k: number | undefined) => (k !== undefined ? `<br><span class="muted small">taken at step ${k}</span>` : '');
const judgeCell = (j: RunRow['judge']) => (j?.rate ? rateCell(j.rate, j.wins, j.losses) : j ? `no decided pair (${j.ties} ties, ${j.unparsed} unparsed)` : '–') + takenAt(j?.takenAt);

/** The in-context baseline (base model + k training examples, no training) as a row of the runs table: no steps, its votes and judge against base. */
function baselineRow(b: BaselineRow): string {
  const h = b.heldout;
  return (
    `<tr data-run="incontext"><th scope="row">${esc(b.name)}</th><td colspan="5" class="muted">no training: the base model with training examples before each prompt</td>` +
    `<td>–</td><td>${h ? `${num(h.loss)}<br><span class="muted small">${h.rows} rows, ${h.examples.toFixed(1)} examples fit a row</span>` : '–'}</td><td>${h ? num(h.perplexity, 2) : '–'}</td><td>–</td>` +
    `<td>${rateCell(b.winRate, b.votes.wins, b.votes.losses)}${b.votes.ties ? `, ${b.votes.ties} ties` : ''} <span class="muted small">vs base</span></td><td>${judgeCell(b.judge)}</td></tr>`
  );
}

function runsSection(rows: RunRow[], mcBase: McScore | null, baseline: BaselineRow | null = null): string {
  if (rows.length === 0 && !baseline) return '<section><h2>Runs</h2><p class="muted">No runs kept in this browser.</p></section>';
  const body = rows
    .map(
      (r) =>
        `<tr data-run="${r.id}"><th scope="row">${esc(r.name)}</th><td>${esc(r.model)}</td><td>${esc(r.dataset)}${r.subset ? `<br><span class="muted">subset: ${esc(r.subset)}</span>` : ''}</td><td>${int(r.samples)}</td><td>${r.steps} / ${r.totalSteps}</td><td>${esc(r.state)}</td>` +
        `<td>${num(r.trainLoss)}</td><td>${num(r.heldoutLoss)}</td><td>${num(r.perplexity, 2)}</td>` +
        `<td>${r.mc ? `${pct(r.mc.acc)} (${pct(r.mc.accNorm)})<br><span class="muted small">${esc(r.mc.set)} · ${r.mc.n} items</span>${takenAt(r.mc.takenAt)}` : '–'}</td>` +
        `<td>${rateCell(r.winRate, r.votes.wins, r.votes.losses)}${r.votes.ties ? `, ${r.votes.ties} ties` : ''}</td><td>${judgeCell(r.judge)}</td></tr>`,
    )
    .join('') + (baseline ? baselineRow(baseline) : '');
  return (
    `<section><h2>Runs</h2><p>Every run kept in this browser. Two ways to evaluate: scores against references (held-out loss and perplexity, multiple-choice accuracy) and judgement (blind-vote win rate, every vote the run took part in; a model judge's win rate against base, when one was run).</p>` +
    (mcBase ? `<p>Base model on ${esc(mcBase.set)}: acc ${pct(mcBase.acc)}, acc_norm ${pct(mcBase.accNorm)} over ${mcBase.n} items.</p>` : '') +
    `<div class="scroll"><table class="runs"><thead><tr><th scope="col">Run</th><th scope="col">Model</th><th scope="col">Dataset</th><th scope="col">Samples</th><th scope="col">Steps</th><th scope="col">State</th>` +
    `<th scope="col">Final train loss</th><th scope="col">Held-out loss</th><th scope="col">Perplexity</th><th scope="col">MC acc (acc_norm)</th><th scope="col">Blind-vote win rate</th><th scope="col">Judge win rate vs base</th></tr></thead><tbody>${body}</tbody></table></div></section>`
  );
}

const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #dfe3ec; --accent: #3b5bdb; --val: #e8590c; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--fg); line-height: 1.45; }
body { margin: 0; background: #f6f7fb; }
main { max-width: 980px; margin: 0 auto; padding: 1.5rem; }
header h1 { margin: 0 0 0.25rem; font-size: 1.6rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; margin: 1rem 0; }
h2 { font-size: 1.2rem; margin: 0 0 0.5rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
h4 { margin: 0 0 0.3rem; font-size: 0.95rem; }
.muted { color: var(--muted); }
.small { font-size: 0.85rem; }
.lead { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
thead th { background: #f1f3fa; }
table.kv th { font-weight: 500; color: var(--muted); }
.scroll { overflow-x: auto; }
table.runs { font-size: 0.9rem; }
table.runs td:nth-child(n+4):nth-child(-n+9) { white-space: nowrap; } /* counts and losses on one line; names, scores and rates wrap */
svg.chart { width: 100%; height: auto; display: block; margin: 0.5rem 0; font-size: 12px; }
svg text { fill: var(--fg); }
svg .grid { stroke: #eceef3; }
svg .axis { stroke: #9aa1b1; }
svg .train { fill: none; stroke: var(--accent); stroke-width: 2; }
svg .val { fill: none; stroke: var(--val); stroke-width: 2; }
svg .val-dot { fill: var(--val); }
svg .legend { fill: #fff; stroke: var(--line); }
svg .bar.b0 { fill: #adb5bd; }
svg .bar.b1 { fill: var(--accent); }
svg.bars { font-size: 14px; }
.cmp { border-top: 1px solid var(--line); padding-top: 0.5rem; margin-top: 0.75rem; }
.prompt { white-space: pre-wrap; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 0.75rem; }
.side { border: 1px solid var(--line); border-radius: 8px; padding: 0.5rem 0.75rem; }
.side.won { border-color: #2b8a3e; background: #f3faf5; }
.out { white-space: pre-wrap; margin: 0; }
footer { color: var(--muted); font-size: 0.85rem; text-align: center; }
@media (max-width: 700px) { .sides { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; } .scroll { overflow: visible; } }
`;

/** The report as one HTML file's text. */
export function reportHtml(s: ReportSnapshot): string {
  const when = new Date(s.createdAt).toISOString().replace('T', ' ').slice(0, 16);
  const title = `LIMA playground report: ${s.model?.name ?? 'no model'}${s.dataset ? ` on ${s.dataset.name}` : ''}`;
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(title)}</title><style>${CSS}</style></head><body><main>` +
    `<header><h1>LIMA playground: experiment report</h1><p class="muted">Made ${when} UTC. LoRA instruction tuning in the browser; this file needs nothing else to be read.</p></header>` +
    modelSection(s.model) +
    datasetSection(s.dataset) +
    trainingSection(s.run) +
    heldoutSection(s.heldout) +
    comparisonsSection(s.comparisons) +
    runsSection(s.runs, s.mcBase, s.baseline ?? null) +
    `<footer><p>Written by the LIMA playground.</p></footer></main></body></html>\n`
  );
}
