/**
 * Setup links on the page: at start, the URL's parameters (lib/setup_link.ts)
 * choose the preset, settings, dataset, Frozen weights choice and model; the page lists what the
 * link chose and names every bad parameter. The model loads by itself only
 * when that needs no download (the built-in copy, or one cached in this
 * browser); a Hub download waits for a click. "Copy link to this setup"
 * writes the current choices back into a link.
 */
import type { TrainSettings } from '../../worker/protocol';
import { buildSetupQuery, describeSetup, hasSetupParams, parseSetupLink, type LinkProblem, type Setup } from '../lib/setup_link';
import { CATALOGUE, type CatalogueEntry } from '../lib/hub';
import { DEFAULT_SETTINGS, PRESETS } from '../presets';
import { gpu } from './app.svelte';
import { memory, setFrozenBits } from './memory.svelte';
import { DEMO, dataset, LIMIT_SETS, loadBuiltin } from './dataset.svelte';
import { isCached, loadEntry, models, refreshCache } from './model.svelte';
import { applyPreset, train } from './train.svelte';

/** The datasets a link can name (the page's own, public/demo; names as the dataset step and the LIMIT walkthrough load them). */
export const LINK_DATASETS: Record<string, { name: string; url: string }> = {
  demo: DEMO,
  ...Object.fromEntries(LIMIT_SETS.map((d) => [`limit-${d.id}`, { name: d.name, url: d.url }])),
};

const CONTEXT = { models: CATALOGUE.map((e) => e.id), datasets: Object.keys(LINK_DATASETS), presets: PRESETS.map((p) => p.id) };
const DEFAULT_HELDOUT = 0.1;
const DEFAULT_TEMPLATE = 'plain';

export const link = $state({
  /** what the opening link chose, one line each ([] when the page was opened without parameters) */
  chose: [] as string[],
  problems: [] as LinkProblem[],
  /** a catalogue model the link chose that needs a download: loaded only when the user says so */
  pending: null as CatalogueEntry | null,
  /** the last link built by "Copy link to this setup", and whether it reached the clipboard */
  copied: null as { url: string; clipboard: boolean; notes: string[] } | null,
});

/** Resolves once the GPU probe has answered (the model loads only onto a found GPU). */
async function gpuReady(): Promise<boolean> {
  while (!gpu.info && !gpu.error) await new Promise((r) => setTimeout(r, 100));
  return !!gpu.info;
}

/** Applies the page's own URL parameters (once, at start). */
export async function applySetupLink(query = location.search): Promise<void> {
  if (!hasSetupParams(query)) return;
  const { setup, problems } = parseSetupLink(query, CONTEXT);
  link.problems = problems;
  const entry = setup.model ? CATALOGUE.find((e) => e.id === setup.model) : undefined;
  const data = setup.data?.kind === 'builtin' ? LINK_DATASETS[setup.data.id] : setup.data ? { name: setup.data.url, url: setup.data.url } : undefined;
  link.chose = describeSetup(setup, { model: entry?.name, data: data?.name, preset: PRESETS.find((p) => p.id === setup.preset)?.title });

  if (setup.preset) applyPreset(setup.preset);
  Object.assign(train.settings, setup.settings);
  if (setup.heldout !== undefined) dataset.validationFraction = setup.heldout;
  if (setup.template) dataset.template = setup.template;
  if (setup.frozen !== undefined) setFrozenBits(setup.frozen); // before the model loads: it loads at these bits
  if (data) void loadBuiltin(data); // prepared once a model is loaded

  if (!entry) return;
  await refreshCache();
  if (!(await gpuReady())) return;
  if (entry.bundled || isCached(entry.id)) await loadEntry(entry, entry.bundled ? 'bundled' : 'hub');
  else link.pending = entry; // a download: ask first
  // a model's load resets a template it has no chat format for; the link's choice applies when it does
  if (setup.template && models.loaded?.templates.includes(setup.template)) dataset.template = setup.template;
}

/** Loads the model the link chose after the user agreed to the download. */
export async function loadPending(): Promise<void> {
  const e = link.pending;
  if (!e) return;
  link.pending = null;
  await loadEntry(e);
}

export const dismissPending = () => (link.pending = null);

/** The setup the page shows now, and what of it a link cannot carry. */
export function currentSetup(): { setup: Setup; baseline: Partial<TrainSettings>; notes: string[] } {
  const notes: string[] = [];
  const setup: Setup = { settings: $state.snapshot(train.settings) as TrainSettings };
  if (models.loadedId && CATALOGUE.some((e) => e.id === models.loadedId)) setup.model = models.loadedId;
  else if (models.loadedId) notes.push('The model is your own files: a link cannot carry them, so it leaves the model out.');
  const name = dataset.file?.name;
  const builtin = Object.entries(LINK_DATASETS).find(([, d]) => d.name === name)?.[0];
  if (builtin) setup.data = { kind: 'builtin', id: builtin };
  else if (name && /^https?:\/\//.test(name)) setup.data = { kind: 'url', url: name };
  else if (name) notes.push(`The dataset is a file from your computer (${name}): a link cannot carry it, so it leaves the dataset out.`);
  const preset = PRESETS.find((p) => p.id === train.preset);
  if (preset) setup.preset = preset.id;
  if (dataset.template !== DEFAULT_TEMPLATE) setup.template = dataset.template;
  if (dataset.validationFraction !== DEFAULT_HELDOUT) setup.heldout = dataset.validationFraction;
  if (memory.frozenBits !== 'auto') setup.frozen = memory.frozenBits;
  return { setup, baseline: preset?.settings ?? DEFAULT_SETTINGS, notes };
}

/** Builds the link to the current setup and copies it to the clipboard (shown on the page either way). */
export async function copySetupLink(): Promise<void> {
  const { setup, baseline, notes } = currentSetup();
  const url = `${location.origin}${location.pathname}${buildSetupQuery(setup, baseline)}`;
  let clipboard = false;
  try {
    await navigator.clipboard.writeText(url);
    clipboard = true;
  } catch {
    // no clipboard permission (or an insecure page): the link is shown to copy by hand
  }
  link.copied = { url, clipboard, notes };
}
