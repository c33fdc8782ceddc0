/**
 * Setup links (src/ui/lib/setup_link.ts): a query string chooses model,
 * dataset, preset and training settings; every bad value is named by its
 * parameter and left out (never thrown); a setup written as a link reads back
 * as the same setup.
 */
import { describe, expect, it } from 'vitest';
import { buildSetupQuery, describeSetup, parseSetupLink, SETTING_PARAMS, type Setup } from '../../src/ui/lib/setup_link';
import { CATALOGUE } from '../../src/ui/lib/hub';
import { DEFAULT_SETTINGS, PRESETS } from '../../src/ui/presets';

const ctx = { models: CATALOGUE.map((e) => e.id), datasets: ['demo', 'limit-open', 'limit-qa', 'limit-mix'], presets: PRESETS.map((p) => p.id) };

describe('parseSetupLink', () => {
  it("reads the issue's example", () => {
    const r = parseSetupLink('?model=stories260K&data=demo&preset=quick&lr=0.001&steps=20', ctx);
    expect(r.problems).toEqual([]);
    expect(r.setup).toEqual({ model: 'stories260K', data: { kind: 'builtin', id: 'demo' }, preset: 'quick', settings: { lr: 0.001, maxSteps: 20 } });
    expect(describeSetup(r.setup)).toEqual(['model: stories260K', 'dataset: demo', 'preset: quick', 'lr: 0.001', 'steps: 20']);
  });

  it('reads every kind of setting, and a dataset URL', () => {
    const r = parseSetupLink(
      'data=https%3A%2F%2Fexample.org%2Fmy%20data.jsonl&template=chatml&heldout=0.05&batch=4&rslora=true&shuffle=0&targets=q_proj,v_proj&schedule=linear&optimizer=sgd&saveMemory=on&dropout=0.1',
      ctx,
    );
    expect(r.problems).toEqual([]);
    expect(r.setup).toEqual({
      data: { kind: 'url', url: 'https://example.org/my%20data.jsonl' },
      template: 'chatml',
      heldout: 0.05,
      settings: { batchSize: 4, rslora: true, shuffle: false, targets: ['q_proj', 'v_proj'], schedule: 'linear', optimizer: 'sgd', saveMemory: 'on', dropout: 0.1 },
    });
  });

  it('reads the Frozen weights choice', () => {
    const r = parseSetupLink('model=qwen2.5-1.5b-instruct&frozen=4', { ...ctx, models: [...ctx.models, 'qwen2.5-1.5b-instruct'] });
    expect(r.problems).toEqual([]);
    expect(r.setup).toEqual({ model: 'qwen2.5-1.5b-instruct', frozen: 4, settings: {} });
    expect(describeSetup(r.setup)).toEqual(['model: qwen2.5-1.5b-instruct', 'frozen weights: 4-bit']);
    expect(parseSetupLink('frozen=auto', ctx).setup).toEqual({ frozen: 'auto', settings: {} });
  });

  it('an empty query chooses nothing', () => {
    expect(parseSetupLink('', ctx)).toEqual({ setup: { settings: {} }, problems: [] });
  });

  const bad: [string, string, RegExp][] = [
    ['model=gpt5', 'model', /"model": no catalogue model "gpt5" \(the catalogue has "stories260K", /],
    ['data=mydisk.jsonl', 'data', /"data" must be a built-in dataset \("demo", .*\) or an http\(s\) URL .*got "mydisk.jsonl"/],
    ['data=javascript:alert(1)', 'data', /"data" must be a built-in dataset/],
    ['data=http://', 'data', /"data": "http:\/\/" is not a valid URL/],
    ['preset=fast', 'preset', /"preset": no preset "fast" \(the presets are "quick", "lima", "smoke"\)/],
    ['template=llama', 'template', /"template" must be one of "plain", .*got "llama"/],
    ['heldout=0.3', 'heldout', /"heldout" .* must be one of "0", "0.05", "0.1", "0.2", got "0.3"/],
    ['lr=fast', 'lr', /"lr" must be a number, got "fast"/],
    ['lr=', 'lr', /"lr" must be a number, got ""/],
    ['lr=2', 'lr', /"lr" must be between 0 and 1, got 2/],
    ['steps=2.5', 'steps', /"steps" must be a whole number, got "2.5"/],
    ['steps=-1', 'steps', /"steps" must be between 0 and 1000000, got -1/],
    ['batch=0', 'batch', /"batch" must be between 1 and 4096, got 0/],
    ['rank=1e9', 'rank', /"rank" must be between 1 and 256/],
    ['rslora=maybe', 'rslora', /"rslora" must be true or false, got "maybe"/],
    ['schedule=step', 'schedule', /"schedule" must be one of "constant", "linear", "cosine", got "step"/],
    ['optimizer=adam', 'optimizer', /"optimizer" must be one of "adamw", "sgd", got "adam"/],
    ['targets=q_proj,attn', 'targets', /"targets" names layers .*"attn" \(known: "q_proj", /],
    ['targets=,', 'targets', /"targets" needs at least one layer/],
    ['frozen=2', 'frozen', /"frozen" \(the frozen weights' bits\) must be one of "auto", "16", "8", "4", got "2"/],
    ['saveMemory=yes', 'saveMemory', /"saveMemory" must be one of "auto", "on", "off", got "yes"/],
    ['learning_rate=0.1', 'learning_rate', /"learning_rate" is not a setting this page knows; it was ignored \(known: model, data, preset, .*lr, steps/],
    ['lr=0.1&lr=0.2', 'lr', /"lr" is given more than once; the first value is used/],
  ];
  for (const [query, param, message] of bad)
    it(`names "${param}" for ${query}`, () => {
      const r = parseSetupLink(query, ctx);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0].param).toBe(param);
      expect(r.problems[0].message).toMatch(message);
      // the bad value is left out; a good one beside it still counts
      if (param === 'lr' && query.includes('&')) expect(r.setup.settings).toEqual({ lr: 0.1 });
      else expect(r.setup).toEqual({ settings: {} });
    });

  it('keeps the good parameters beside bad ones', () => {
    const r = parseSetupLink('model=stories260K&lr=abc&steps=5&data=nope', ctx);
    expect(r.problems.map((p) => p.param)).toEqual(['lr', 'data']);
    expect(r.setup).toEqual({ model: 'stories260K', settings: { maxSteps: 5 } });
  });
});

describe('buildSetupQuery', () => {
  it('round-trips a setup through its link', () => {
    const setups: Setup[] = [
      { model: 'stories260K', data: { kind: 'builtin', id: 'demo' }, preset: 'quick', settings: { lr: 0.001, maxSteps: 20 } },
      { model: 'smollm2-135m', data: { kind: 'url', url: 'https://example.org/a b/data.jsonl?x=1&y=2' }, preset: 'lima', template: 'chatml', heldout: 0, settings: { batchSize: 2, targets: ['q_proj', 'v_proj'], rslora: true, schedule: 'constant' } },
      { model: 'stories260K', frozen: 8, settings: {} },
      { settings: {} },
    ];
    for (const s of setups) {
      const q = buildSetupQuery(s);
      const back = parseSetupLink(q, ctx);
      expect(back.problems).toEqual([]);
      const want = s.data?.kind === 'url' ? { ...s, data: { kind: 'url', url: new URL(s.data.url).href } } : s;
      expect(back.setup).toEqual(want);
    }
    expect(buildSetupQuery({ settings: {} })).toBe('');
    expect(buildSetupQuery(setups[0])).toBe('?model=stories260K&data=demo&preset=quick&lr=0.001&steps=20');
  });

  it('every setting survives the round trip (all of DEFAULT_SETTINGS, each a value other than the default)', () => {
    const settings: Record<string, unknown> = {};
    for (const spec of Object.values(SETTING_PARAMS)) {
      const d = (DEFAULT_SETTINGS as unknown as Record<string, unknown>)[spec.key];
      settings[spec.key] =
        spec.kind === 'bool' ? !d : spec.kind === 'choice' ? spec.choices.find((c) => c !== d) : spec.kind === 'targets' ? ['k_proj', 'down_proj'] : spec.kind === 'int' ? Math.max(spec.min, Number(d) + 1) : Number(d) / 2 || 0.25;
    }
    const q = buildSetupQuery({ settings }, DEFAULT_SETTINGS);
    const back = parseSetupLink(q, ctx);
    expect(back.problems).toEqual([]);
    expect(back.setup.settings).toEqual(settings);
  });

  it('leaves out settings equal to the baseline (the preset), so links stay short', () => {
    const quick = PRESETS[0].settings;
    expect(buildSetupQuery({ preset: 'quick', settings: { ...quick } }, quick)).toBe('?preset=quick');
    expect(buildSetupQuery({ preset: 'quick', settings: { ...quick, lr: 0.003 } }, quick)).toBe('?preset=quick&lr=0.003');
  });
});
