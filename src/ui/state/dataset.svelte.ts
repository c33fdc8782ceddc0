/**
 * The dataset: the dropped/picked file (or the demo), how to read it
 * (template, format, field map, split), the worker's report and the sample
 * viewer. Files are kept on the page so a new model or new options re-run
 * the preparation without picking them again.
 */
import type { FieldMap, FormatId, RowLocation, TemplateId } from '../../engine/data';
import type { DatasetReport, SubsetInfo, TokenPiece } from '../../worker/protocol';
import { engine } from './app.svelte';
import { models, onModelLoaded } from './model.svelte';
import { DEFAULT_SETTINGS } from '../presets';

/**
 * The token length rows are prepared at: the training settings' Max length.
 * Training state sits above dataset state (it prepares the dataset before a
 * run), so it hands this in (`prepareAtLengthOf`) rather than being imported.
 */
let preparedLength: () => number = () => DEFAULT_SETTINGS.maxLength;
export function prepareAtLengthOf(f: () => number): void {
  preparedLength = f;
}

export const DEMO = { name: 'TinyStories instructions (demo, 400 rows)', url: `${import.meta.env.BASE_URL}demo/tinystories-instruct-400.jsonl` };

/**
 * The LIMIT walkthrough's built-in datasets (public/demo/limit-*.jsonl), one
 * list for its buttons and for setup links (`limit-<id>`); the names are
 * what the runs table's Dataset column shows for each run.
 */
export const LIMIT_SETS = [
  { id: 'open', style: 'Stories (open-ended)', name: 'limit-open (200 stories)', url: `${import.meta.env.BASE_URL}demo/limit-open.jsonl` },
  { id: 'qa', style: 'Questions (short answers)', name: 'limit-qa (200 short answers)', url: `${import.meta.env.BASE_URL}demo/limit-qa.jsonl` },
  { id: 'mix', style: 'Mix', name: 'limit-mix (100 stories + 100 answers)', url: `${import.meta.env.BASE_URL}demo/limit-mix.jsonl` },
];

export const dataset = $state({
  file: null as { name: string; bytes: Uint8Array } | null,
  mix: null as { name: string; bytes: Uint8Array } | null,
  mixRatio: 0.25,
  template: 'plain' as TemplateId,
  format: null as FormatId | null,
  fieldMap: {} as FieldMap,
  validationFraction: 0.1,
  seed: 0,
  report: null as DatasetReport | null,
  /** the maxLength the report was made with */
  reportMaxLength: 0,
  busy: null as { label: string; done: number; total: number } | null,
  error: null as string | null,
  sample: { index: 0, split: 'train' as 'train' | 'validation', pieces: [] as TokenPiece[], at: { line: 0 } as RowLocation, truncated: false },
});

export async function setFile(f: File): Promise<void> {
  dataset.file = { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) };
  dataset.format = null;
  dataset.fieldMap = {};
  await prepare();
}

export async function setMix(f: File | null): Promise<void> {
  dataset.mix = f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : null;
  if (dataset.file) await prepare();
}

export const loadDemo = () => loadBuiltin(DEMO);

/** Fetches one of the page's own datasets (public/demo) and prepares it as if it had been picked. */
export async function loadBuiltin(b: { name: string; url: string }): Promise<void> {
  dataset.error = null;
  try {
    const res = await fetch(b.url);
    if (!res.ok) throw new Error(`${b.url}: ${res.status}`);
    dataset.file = { name: b.name, bytes: new Uint8Array(await res.arrayBuffer()) };
    dataset.format = null;
    dataset.fieldMap = {};
    await prepare();
  } catch (e) {
    dataset.error = `Could not load ${b.name}: ${(e as Error).message}`;
  }
}

/** (Re)prepares the current file with the current options, in the worker. */
export async function prepare(): Promise<void> {
  if (!dataset.file) return;
  if (!models.loaded) {
    dataset.error = null;
    return; // prepared as soon as a model is loaded (it needs the tokenizer)
  }
  dataset.error = null;
  dataset.busy = { label: 'Reading', done: 0, total: 1 };
  const maxLength = preparedLength();
  try {
    // copies: the page keeps its bytes to re-prepare later
    const r = await engine().call(
      {
        type: 'load-dataset',
        name: dataset.file.name,
        bytes: dataset.file.bytes.slice(),
        options: {
          template: dataset.template,
          ...(dataset.format ? { format: dataset.format, fieldMap: { ...dataset.fieldMap } } : {}),
          maxLength,
          validationFraction: dataset.validationFraction,
          seed: dataset.seed,
          mix: dataset.mix ? { name: dataset.mix.name, bytes: dataset.mix.bytes.slice(), ratio: dataset.mixRatio } : null,
        },
      },
      'dataset',
      { onEvent: (e) => e.type === 'progress' && (dataset.busy = { label: e.label, done: e.done, total: e.total }) },
    );
    dataset.report = r.report;
    dataset.reportMaxLength = maxLength;
    if (!dataset.format && r.report.format) {
      dataset.format = r.report.format;
      dataset.fieldMap = { ...r.report.fields };
    }
    if (r.report.train > 0) await showSample(0, 'train');
  } catch (e) {
    dataset.error = (e as Error).message;
    dataset.report = null;
  } finally {
    dataset.busy = null;
  }
}

/** The dataset of a run restored from IndexedDB (the worker holds its samples; the page has no file). */
export function restoredDataset(report: DatasetReport, template: TemplateId, maxLength: number): void {
  dataset.report = report;
  dataset.reportMaxLength = maxLength;
  dataset.template = template;
  dataset.format = report.format;
  dataset.fieldMap = { ...report.fields };
  if (report.train > 0) void showSample(0, 'train');
}

/** Whether training uses a curated subset: the worker's answer to curate-subset (null: every training row). */
export function setSubset(subset: SubsetInfo | null): void {
  if (!dataset.report) return;
  const { subset: _old, ...report } = dataset.report;
  dataset.report = subset ? { ...report, subset } : report;
}

export async function showSample(index: number, split: 'train' | 'validation'): Promise<void> {
  try {
    const r = await engine().call({ type: 'sample-tokens', index, split }, 'tokens');
    dataset.sample = { index, split, pieces: r.pieces, at: r.at, truncated: r.truncated };
  } catch (e) {
    dataset.error = (e as Error).message;
  }
}

onModelLoaded((m) => {
  if (!m.templates.includes(dataset.template)) dataset.template = 'plain';
  void prepare();
});
