/**
 * The models a user can pick for a side-by-side (Compare, the model judge):
 * the base model, the runs trained on the loaded base model (another model's
 * adapter does not fit these weights), and an imported adapter.
 */
import type { Pick, PickOption } from './compare.svelte';
import { incontext, inContextLabel } from './incontext.svelte';
import { models } from './model.svelte';
import { runs } from './runs.svelte';
import { takeaway } from './takeaway.svelte';
import { train } from './train.svelte';

export const BASE_LABEL = 'Base model (adapter off)';

/** The options, base first and the newest run last; read inside a $derived to follow the runs. */
export function pickOptions(): PickOption[] {
  return [
    { value: 'base', label: BASE_LABEL },
    // once set (Compare: In-context baseline); before the runs, so side B still defaults to the newest run
    ...(incontext.summary ? [{ value: 'incontext', label: inContextLabel() }] : []),
    ...runs.list.filter((r) => r.modelId === models.loadedId && (r.saved || r.id === train.runId)).map((r) => ({ value: `run:${r.id}`, label: r.name })),
    ...(takeaway.imported ? [{ value: 'current', label: 'Imported adapter' }] : []),
  ];
}

/** A pick's label among `options` (a pick no longer offered keeps its value as its name). */
export function pickLabel(options: PickOption[], p: Pick): string {
  return options.find((o) => o.value === p)?.label ?? (p === 'base' ? BASE_LABEL : p);
}

/** Keeps both sides among the options: A defaults to base, B to the newest run (or the imported adapter). */
export function ensurePicks(options: PickOption[], sides: { a: Pick; b: Pick }): void {
  const has = (p: Pick) => options.some((o) => o.value === p);
  if (!has(sides.a)) sides.a = 'base';
  if (!has(sides.b) || (sides.b === 'base' && sides.a === 'base' && options.length > 1)) sides.b = options.at(-1)?.value ?? 'base';
}
