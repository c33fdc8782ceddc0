/**
 * A link that sets the stage: URL query parameters that choose the catalogue
 * model, the dataset (built in, or a URL), the preset, the prompt template
 * and any training setting, e.g.
 *
 *   ?model=stories260K&data=demo&preset=quick&lr=0.001&steps=20
 *   ?model=qwen2.5-1.5b-instruct&frozen=4     (Frozen weights: 4-bit)
 *
 * Pure (no DOM, no state): parseSetupLink reads a query string against what
 * the page offers and returns the setup with one message per bad parameter,
 * naming it; buildSetupQuery writes the query for a setup (settings that
 * differ from the preset's only, so links stay short). The page applies a
 * parsed setup in state/setup_link.svelte.ts.
 */
import { LINEAR_NAMES, type LinearName } from '../../engine/config';
import { TEMPLATE_IDS, type TemplateId } from '../../engine/data/templates';
import type { TrainSettings } from '../../worker/protocol';
import { FROZEN_CHOICES, type FrozenChoice } from './frozen_bits';

/** The setting a URL parameter sets, and what values it takes. */
type Spec =
  | { key: keyof TrainSettings; kind: 'int'; min: number; max: number }
  | { key: keyof TrainSettings; kind: 'number'; min: number; max: number }
  | { key: keyof TrainSettings; kind: 'bool' }
  | { key: keyof TrainSettings; kind: 'choice'; choices: readonly string[] }
  | { key: 'targets'; kind: 'targets' };

/** URL parameter → training setting. Names are the settings' own, except the two a teacher types most. */
export const SETTING_PARAMS: Record<string, Spec> = {
  lr: { key: 'lr', kind: 'number', min: 0, max: 1 },
  steps: { key: 'maxSteps', kind: 'int', min: 0, max: 1_000_000 },
  batch: { key: 'batchSize', kind: 'int', min: 1, max: 4096 },
  epochs: { key: 'epochs', kind: 'int', min: 1, max: 1000 },
  rank: { key: 'rank', kind: 'int', min: 1, max: 256 },
  alpha: { key: 'alpha', kind: 'number', min: 0, max: 4096 },
  dropout: { key: 'dropout', kind: 'number', min: 0, max: 0.9 },
  rslora: { key: 'rslora', kind: 'bool' },
  targets: { key: 'targets', kind: 'targets' },
  schedule: { key: 'schedule', kind: 'choice', choices: ['constant', 'linear', 'cosine'] },
  warmup: { key: 'warmup', kind: 'int', min: 0, max: 1_000_000 },
  optimizer: { key: 'optimizer', kind: 'choice', choices: ['adamw', 'sgd'] },
  weightDecay: { key: 'weightDecay', kind: 'number', min: 0, max: 10 },
  maxGradNorm: { key: 'maxGradNorm', kind: 'number', min: 0, max: 1e6 },
  gradAccum: { key: 'gradAccum', kind: 'int', min: 1, max: 4096 },
  maxLength: { key: 'maxLength', kind: 'int', min: 8, max: 1_048_576 },
  packing: { key: 'packing', kind: 'bool' },
  seed: { key: 'seed', kind: 'int', min: 0, max: 2 ** 31 - 1 },
  shuffle: { key: 'shuffle', kind: 'bool' },
  evalEvery: { key: 'evalEvery', kind: 'int', min: 0, max: 1_000_000 },
  sampleEvery: { key: 'sampleEvery', kind: 'int', min: 0, max: 1_000_000 },
  checkpointEvery: { key: 'checkpointEvery', kind: 'int', min: 0, max: 1_000_000 },
  saveMemory: { key: 'saveMemory', kind: 'choice', choices: ['auto', 'on', 'off'] },
};

/** Held-out shares the dataset step offers. */
export const HELDOUT_CHOICES = [0, 0.05, 0.1, 0.2];

export type LinkData = { kind: 'builtin'; id: string } | { kind: 'url'; url: string };

export interface Setup {
  model?: string;
  data?: LinkData;
  preset?: string;
  template?: TemplateId;
  /** share of the dataset held out for validation */
  heldout?: number;
  /** the Frozen weights choice (lib/frozen_bits.ts) */
  frozen?: FrozenChoice;
  settings: Partial<TrainSettings>;
}

export interface LinkProblem {
  param: string;
  message: string;
}

/** What the page offers, to check names against. */
export interface LinkContext {
  models: string[];
  datasets: string[];
  presets: string[];
}

const list = (xs: readonly (string | number)[]) => xs.map((x) => `"${x}"`).join(', ');

/** One setting's value from its text, or the message saying why not. */
function parseSetting(param: string, spec: Spec, raw: string): { value: TrainSettings[keyof TrainSettings] } | { error: string } {
  const v = raw.trim();
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n = v === '' ? NaN : Number(v);
      if (!Number.isFinite(n)) return { error: `"${param}" must be a number, got "${raw}".` };
      if (spec.kind === 'int' && !Number.isInteger(n)) return { error: `"${param}" must be a whole number, got "${raw}".` };
      if (n < spec.min || n > spec.max) return { error: `"${param}" must be between ${spec.min} and ${spec.max}, got ${raw}.` };
      return { value: n };
    }
    case 'bool':
      if (['1', 'true', 'on', 'yes'].includes(v.toLowerCase())) return { value: true };
      if (['0', 'false', 'off', 'no'].includes(v.toLowerCase())) return { value: false };
      return { error: `"${param}" must be true or false, got "${raw}".` };
    case 'choice':
      if (!spec.choices.includes(v)) return { error: `"${param}" must be one of ${list(spec.choices)}, got "${raw}".` };
      return { value: v as TrainSettings[keyof TrainSettings] };
    case 'targets': {
      const names = v.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = names.filter((n) => !(LINEAR_NAMES as readonly string[]).includes(n));
      if (bad.length) return { error: `"${param}" names layers this model family does not have: ${list(bad)} (known: ${list(LINEAR_NAMES)}).` };
      if (!names.length) return { error: `"${param}" needs at least one layer (of ${list(LINEAR_NAMES)}).` };
      return { value: [...new Set(names)] as LinearName[] };
    }
  }
}

/** Reads a query string (`?a=b&…`, or without the `?`). Bad parameters are left out of the setup and named in `problems`. */
export function parseSetupLink(query: string, ctx: LinkContext): { setup: Setup; problems: LinkProblem[] } {
  const params = new URLSearchParams(query);
  const setup: Setup = { settings: {} };
  const problems: LinkProblem[] = [];
  const seen = new Set<string>();
  for (const [param, raw] of params) {
    if (seen.has(param)) {
      problems.push({ param, message: `"${param}" is given more than once; the first value is used.` });
      continue;
    }
    seen.add(param);
    const value = raw.trim();
    if (param === 'model') {
      if (ctx.models.includes(value)) setup.model = value;
      else problems.push({ param, message: `"model": no catalogue model "${raw}" (the catalogue has ${list(ctx.models)}).` });
    } else if (param === 'data') {
      if (ctx.datasets.includes(value)) setup.data = { kind: 'builtin', id: value };
      else if (/^https?:\/\//i.test(value)) {
        try {
          setup.data = { kind: 'url', url: new URL(value).href };
        } catch {
          problems.push({ param, message: `"data": "${raw}" is not a valid URL.` });
        }
      } else problems.push({ param, message: `"data" must be a built-in dataset (${list(ctx.datasets)}) or an http(s) URL of a JSONL/JSON file, got "${raw}".` });
    } else if (param === 'preset') {
      if (ctx.presets.includes(value)) setup.preset = value;
      else problems.push({ param, message: `"preset": no preset "${raw}" (the presets are ${list(ctx.presets)}).` });
    } else if (param === 'template') {
      if ((TEMPLATE_IDS as string[]).includes(value)) setup.template = value as TemplateId;
      else problems.push({ param, message: `"template" must be one of ${list(TEMPLATE_IDS)}, got "${raw}".` });
    } else if (param === 'heldout') {
      const n = Number(value);
      if (value !== '' && HELDOUT_CHOICES.includes(n)) setup.heldout = n;
      else problems.push({ param, message: `"heldout" (the share held out for validation) must be one of ${list(HELDOUT_CHOICES)}, got "${raw}".` });
    } else if (param === 'frozen') {
      const c = FROZEN_CHOICES.find((x) => String(x.value) === value);
      if (c) setup.frozen = c.value;
      else problems.push({ param, message: `"frozen" (the frozen weights' bits) must be one of ${list(FROZEN_CHOICES.map((x) => String(x.value)))}, got "${raw}".` });
    } else if (param in SETTING_PARAMS) {
      const spec = SETTING_PARAMS[param];
      const r = parseSetting(param, spec, raw);
      if ('error' in r) problems.push({ param, message: r.error });
      else (setup.settings as Record<string, unknown>)[spec.key] = r.value;
    } else {
      const known = ['model', 'data', 'preset', 'template', 'heldout', 'frozen', ...Object.keys(SETTING_PARAMS)];
      problems.push({ param, message: `"${param}" is not a setting this page knows; it was ignored (known: ${known.join(', ')}).` });
    }
  }
  return { setup, problems };
}

/** True when the query asks for anything at all (a page opened without parameters shows no link summary). */
export const hasSetupParams = (query: string) => [...new URLSearchParams(query).keys()].length > 0;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The query string (with its `?`, or '' for nothing) for a setup; settings
 * equal to `baseline` (the preset's, or the page's defaults) are left out.
 */
export function buildSetupQuery(setup: Setup, baseline: Partial<TrainSettings> = {}): string {
  const p = new URLSearchParams();
  if (setup.model) p.set('model', setup.model);
  if (setup.data) p.set('data', setup.data.kind === 'builtin' ? setup.data.id : setup.data.url);
  if (setup.preset) p.set('preset', setup.preset);
  if (setup.template) p.set('template', setup.template);
  if (setup.heldout !== undefined) p.set('heldout', String(setup.heldout));
  if (setup.frozen !== undefined) p.set('frozen', String(setup.frozen));
  for (const [param, spec] of Object.entries(SETTING_PARAMS)) {
    const v = (setup.settings as Record<string, unknown>)[spec.key];
    if (v === undefined || same(v, (baseline as Record<string, unknown>)[spec.key])) continue;
    p.set(param, Array.isArray(v) ? v.join(',') : String(v));
  }
  const q = p.toString().replace(/%2C/g, ','); // targets read better with plain commas
  return q ? `?${q}` : '';
}

/** A readable line per choice, for the page's "this link chose" summary. */
export function describeSetup(setup: Setup, names: { model?: string; data?: string; preset?: string } = {}): string[] {
  const out: string[] = [];
  if (setup.model) out.push(`model: ${names.model ?? setup.model}`);
  if (setup.data) out.push(`dataset: ${names.data ?? (setup.data.kind === 'builtin' ? setup.data.id : setup.data.url)}`);
  if (setup.preset) out.push(`preset: ${names.preset ?? setup.preset}`);
  if (setup.template) out.push(`prompt template: ${setup.template}`);
  if (setup.heldout !== undefined) out.push(`held out for validation: ${Math.round(setup.heldout * 100)}%`);
  if (setup.frozen !== undefined) out.push(`frozen weights: ${FROZEN_CHOICES.find((c) => c.value === setup.frozen)!.label}`);
  for (const [param, spec] of Object.entries(SETTING_PARAMS)) {
    const v = (setup.settings as Record<string, unknown>)[spec.key];
    if (v !== undefined) out.push(`${param}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  }
  return out;
}
