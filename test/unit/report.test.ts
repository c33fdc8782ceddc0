/**
 * The experiment report (src/ui/lib/report.ts): user text escaped (a prompt
 * with <script> stays text, no script element anywhere), the numbers of the
 * snapshot present, the loss curve drawn through the real points, the vote
 * tally, and the runs table from lib/runs.ts's rows.
 */
import { describe, expect, it } from 'vitest';
import { esc, lossSvg, niceTicks, reportHtml, voteTally, type ReportComparison, type ReportSnapshot } from '../../src/ui/lib/report';
import { inContextRow, runRows } from '../../src/ui/lib/runs';
import { wilson } from '../../src/ui/lib/format';
import type { RunRecord, Vote } from '../../src/worker/protocol';

const EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';

function cmp(over: Partial<ReportComparison>): ReportComparison {
  return {
    at: Date.UTC(2026, 0, 2, 3, 4, 5),
    prompt: 'Write a story about Tom.',
    raw: false,
    blind: true,
    settings: { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxNewTokens: 12, seed: 1 },
    a: { name: 'Run 1', text: 'Tom had a dog.' },
    b: { name: 'Run 2', text: 'Once upon a time.' },
    vote: 'b',
    ...over,
  };
}

function record(id: number, name: string, losses: number[], heldout: number): RunRecord {
  return {
    id,
    name,
    modelId: 'local:stories260K',
    modelName: 'stories260K',
    datasetName: 'tiny.jsonl',
    dataset: { format: 'instruction-response', train: 950, validation: 50, mixed: 0, template: 'plain' },
    settings: {} as RunRecord['settings'],
    state: 'done',
    step: losses.length,
    totalSteps: losses.length,
    steps: losses.map((loss, i) => ({ step: i + 1, totalSteps: losses.length, epoch: 0, loss, lr: 1e-3, gradNorm: 1, tokensPerSec: 1, etaSec: 0 })),
    evals: [{ step: losses.length, loss: heldout, perplexity: Math.exp(heldout) }],
    mc: id === 2 ? { set: 'stories-mc.jsonl', n: 60, acc: 0.35, accNorm: 0.4 } : undefined,
    saved: true,
    savedAt: 1,
    createdAt: 1,
  } as RunRecord;
}

function snapshot(): ReportSnapshot {
  return {
    createdAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    model: { name: 'stories260K', format: 'hf', params: 260_000, layers: 5, hidden: 64, heads: 8, kvHeads: 4, vocab: 512, context: 512, weightBytes: 4 },
    dataset: {
      name: `tiny ${EVIL}.jsonl`,
      format: 'instruction-response',
      template: 'plain',
      train: 950,
      validation: 50,
      mixed: 0,
      rowsUsable: 1000,
      rowsRejected: 2,
      length: { min: 20, median: 110, p90: 160, max: 240, mean: 112.5 },
      truncated: 3,
      duplicates: 1,
      responseTokens: 91234,
      responseTokensMean: 96.04,
      warnings: ['2 rows had no response'],
    },
    run: {
      id: 2,
      name: 'Run 2',
      state: 'done',
      preset: 'Smoke test: 3 steps',
      settings: { rank: 8, alpha: 16, lr: 0.02, targets: ['q', 'k', 'v'], packing: false, maxSteps: 3, saveMemory: 'auto' },
      adapterParams: 46240,
      steps: [
        { step: 1, loss: 5.4321 },
        { step: 2, loss: 4.9876 },
        { step: 3, loss: 4.5678 },
      ],
      totalSteps: 3,
      evals: [
        { step: 0, loss: 5.5555, perplexity: Math.exp(5.5555) },
        { step: 3, loss: 4.6543, perplexity: Math.exp(4.6543) },
      ],
    },
    heldout: { rows: 8, labels: ['Base model (adapter off)', 'Run 2'], points: [{ step: 0, loss: 5.111, perplexity: Math.exp(5.111) }, { step: 0, loss: 4.222, perplexity: Math.exp(4.222) }] },
    comparisons: [cmp({ prompt: EVIL, a: { name: 'Base model (adapter off)', text: `out ${EVIL}` } }), cmp({ vote: 'a' }), cmp({ vote: 'tie' }), cmp({ vote: null, blind: false })],
    runs: runRows([record(1, `Run <b>1</b>`, [5.5, 5.0], 5.05), record(2, 'Run 2', [5.4, 4.9, 4.5678], 4.6543)], [{ a: 1, b: 2, winner: 'b', at: 1 }], [
      { a: 'base', b: { run: 2 }, pairs: [], bWins: 3, aWins: 1, ties: 1, unparsed: 0, unparsedReplies: 0, rate: { p: 0.75, lo: 0.3, hi: 0.95 } },
    ]),
    mcBase: { set: 'stories-mc.jsonl', n: 60, acc: 0.3, accNorm: 0.3167 },
  };
}

describe('experiment report', () => {
  it('escapes user text: a prompt with <script> stays text, and no script element is written', () => {
    const html = reportHtml(snapshot());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toContain('<b>1</b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Run &lt;b&gt;1&lt;/b&gt;');
    expect(esc(`a<b>"c"&'d'`)).toBe('a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;');
  });

  it("shows a comparison's input under its prompt (escaped), and none without one", () => {
    const html = reportHtml({ ...snapshot(), comparisons: [cmp({ prompt: 'Rewrite the following sentence.', input: `The cat <sat>.` }), cmp({})] });
    expect(html).toContain('<span class="prompt">Rewrite the following sentence.</span></h3><p class="prompt" data-field="input"><span class="muted">Input:</span> The cat &lt;sat&gt;.</p>');
    expect(html.match(/data-field="input"/g)).toHaveLength(1);
  });

  it('holds the numbers: model size, dataset summary, settings, losses, held-out base vs tuned, votes, runs', () => {
    const html = reportHtml(snapshot());
    for (const s of [
      '<strong data-field="model-name">stories260K</strong>',
      '<span data-field="model-params">260.0K</span> parameters (260,000)',
      '950 training rows, 50 held out',
      '20 / 110 / 160 / 240 (112.5)',
      '91,234 (96.0)',
      '2 rows had no response',
      'step <span data-field="steps">3</span> of <span data-field="total-steps">3</span>',
      'final training loss <span data-field="final-loss">4.5678</span>',
      'validation loss <span data-field="val-loss">4.6543</span>',
      '46,240 adapter parameters',
      '<td data-setting="lr">0.02</td>',
      '<td data-setting="targets">q, k, v</td>',
      '<td data-setting="packing">off</td>',
      '<td data-setting="preset">Smoke test: 3 steps</td>',
      'Scored on the same <strong>8</strong> held-out rows',
      '<td data-field="heldout-loss-0">5.111</td>',
      '<td data-field="heldout-loss-1">4.222</td>',
      '4 comparisons made, 3 voted.',
      'Base on stories-mc.jsonl'.replace('Base', 'Base model'),
      '35% (40%)<br><span class="muted small">stories-mc.jsonl · 60 items</span>',
      '100% of 1 (21%–100%)',
      '0% of 1 (0%–79%)',
      // the model judge's rate against base, from lib/runs' row
      '<th scope="col">Judge win rate vs base</th>',
      '75% of 4 (',
    ])
      expect(html).toContain(s);
    // base (step 0) vs tuned (last evaluation) as bars
    expect(html).toContain('Base (step 0)');
    expect(html).toContain('Tuned (step 3)');
    expect(html).toContain('5.5555');
  });

  it('adds the in-context baseline as a row of the runs table, with its votes, judge and held-out loss against base', () => {
    const votes: Vote[] = [
      { a: 'incontext', b: 'base', winner: 'a', at: 1 },
      { a: 'base', b: 'incontext', winner: 'b', at: 2 },
      { a: 'base', b: 'incontext', winner: 'a', at: 3 },
      { a: 'incontext', b: 1, winner: 'b', at: 4 }, // against a run: not the baseline's rate against base
    ];
    const baseline = inContextRow('In-context (base + 2 examples)', votes, [], { loss: 1.4521, perplexity: 4.272, rows: 8, examples: 1 });
    const html = reportHtml({ ...snapshot(), baseline });
    const row = html.match(/<tr data-run="incontext">.*?<\/tr>/)![0];
    expect(row).toContain('<th scope="row">In-context (base + 2 examples)</th>');
    expect(row).toContain('1.452<br><span class="muted small">8 rows, 1.0 examples fit a row</span>');
    expect(row).toContain('4.27');
    const w = wilson(2, 3);
    expect(row).toContain(`67% of 3 (${(w.lo * 100).toFixed(0)}%–${(w.hi * 100).toFixed(0)}%)`);
    expect(reportHtml({ ...snapshot(), baseline: null })).not.toContain('data-run="incontext"');
    expect(reportHtml(snapshot())).not.toContain('data-run="incontext"'); // reports without the field
  });

  it('tallies the votes per pair whichever side each pick was on', () => {
    const t = voteTally([cmp({ vote: 'b' }), cmp({ vote: 'b', a: { name: 'Run 2', text: '' }, b: { name: 'Run 1', text: '' } }), cmp({ vote: 'tie' }), cmp({ vote: null })]);
    expect(t).toHaveLength(1);
    // Run 2 won the first; in the second Run 1 (as b) won
    expect(t[0]).toMatchObject({ a: 'Run 1', b: 'Run 2', aWins: 1, bWins: 1, ties: 1, n: 2, p: 0.5 });
  });

  it('draws the loss curve through its points', () => {
    const svg = lossSvg(
      [
        { step: 1, loss: 3 },
        { step: 2, loss: 2 },
      ],
      [{ step: 2, loss: 2.5, perplexity: 12 }],
      2,
    );
    const train = svg.match(/<polyline points="([^"]+)" class="train"\/>/)![1].split(' ').map((p) => p.split(',').map(Number));
    expect(train).toHaveLength(2);
    expect(train[1][0]).toBeGreaterThan(train[0][0]); // later step to the right
    expect(train[1][1]).toBeGreaterThan(train[0][1]); // lower loss lower down (larger y)
    expect(svg).toContain('validation loss 2.5000');
    expect(lossSvg([], [], 0)).toContain('No loss recorded');
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it('says what is missing instead of breaking on an empty page', () => {
    const html = reportHtml({ createdAt: 0, model: null, dataset: null, run: null, heldout: null, comparisons: [], runs: [], mcBase: null });
    for (const s of ['No model was loaded.', 'No dataset was loaded.', 'No training run yet.', 'No comparison was made', 'No runs kept']) expect(html).toContain(s);
  });
});
