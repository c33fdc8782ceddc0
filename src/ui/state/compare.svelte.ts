/**
 * Any two of {base, run 1, run 2, …}: the same prompt, seed and sampling,
 * each side's adapter swapped onto the same base weights in the worker
 * (worker/adapters.ts; base = adapter off); both sides stream together,
 * as two rows of one batch (worker/generate_pair.ts). Blind mode shuffles which pick
 * is on the left and hides the names until a vote; votes are kept in
 * IndexedDB (runs.svelte.ts) and tallied for the pair shown, with a Wilson
 * 95% interval (ties excluded).
 */
import type { AdapterUse, EvalPoint, Generated, GenerateSettings, HeldOutPrompt, Vote } from '../../worker/protocol';
import { addKept, listKept, putKept, type Kept } from '../../worker/db';
import { wilson } from '../lib/format';
import { engine } from './app.svelte';
import { incontext, inContextLabel } from './incontext.svelte';
import { recordVote, runName, runs } from './runs.svelte';

interface Output {
  text: string;
  running: boolean;
  info: string;
  /** the in-context baseline's examples were cut for this prompt: how many were used */
  note?: string;
}

/** A select's value: 'base', 'current' (the adapter on the model: an imported one), 'incontext' (the base model after k training examples) or `run:<id>`. */
export type Pick = string;

export interface PickOption {
  value: Pick;
  label: string;
}

/** One comparison made on this page, for the experiment report (state/report.svelte.ts): what was asked, what each side wrote, the vote. */
export interface ComparisonRecord {
  at: number;
  /** the instruction; input and system as the template got them (absent in raw mode and when empty) */
  prompt: string;
  input?: string;
  system?: string;
  raw: boolean;
  blind: boolean;
  settings: GenerateSettings;
  a: { pick: Pick; name: string; text: string };
  /** null when only the base model answered */
  b: { pick: Pick; name: string; text: string } | null;
  /** by pick (a/b), not by side shown; null until voted (only blind mode votes) */
  vote: 'a' | 'b' | 'tie' | null;
  /** its key in IndexedDB (worker/db.ts `comparisons`) once kept */
  key?: number;
}

export const compare = $state({
  prompt: '',
  /** Alpaca's input beside the instruction (filled from a held-out row, or typed); not sent in raw mode */
  input: '',
  /** the chosen held-out row's system message, carried with its prompt until another is chosen or dropped */
  system: '',
  raw: false,
  settings: { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxNewTokens: 120, seed: 1 } as GenerateSettings,
  a: 'base' as Pick,
  b: 'base' as Pick,
  outA: { text: '', running: false, info: '' } as Output,
  outB: { text: '', running: false, info: '' } as Output,
  error: null as string | null,
  running: false,
  stopping: false,
  blind: false,
  /** in blind mode: whether pick B is on the left this round */
  swapped: false,
  /** the picks the shown outputs came from (the selects may have changed since) */
  shown: { a: 'base' as Pick, b: 'base' as Pick },
  voted: true,
  heldout: null as { labels: string[]; points: EvalPoint[]; rows: number; examples?: (number | null)[] } | null,
  heldoutBusy: null as string | null,
  /** held-out rows to score (0 = all) */
  heldoutRows: 32,
  /** comparisons made on this page and kept from earlier visits, oldest first */
  history: [] as ComparisonRecord[],
  /** why a comparison could not be kept in IndexedDB (it stays on the page until reload) */
  keepError: null as string | null,
});

/** The saved runs a pick or picks name (base, imported and in-context name none). */
export const runIdsOf = (...picks: Pick[]): number[] => picks.filter((p) => p.startsWith('run:')).map((p) => Number(p.slice(4)));

function keptComparison(c: ComparisonRecord): Kept<ComparisonRecord> {
  const { key: _key, ...value } = $state.snapshot(c) as ComparisonRecord;
  return { runs: runIdsOf(c.a.pick, ...(c.b ? [c.b.pick] : [])), at: c.at, value };
}

/** The newest comparison's write, so a vote given before it lands waits for its key. */
let keeping: Promise<void> = Promise.resolve();

/** Settles once the newest comparison is kept (or could not be): its key is then set. */
export const comparisonKept = (): Promise<void> => keeping;

function keepComparison(c: ComparisonRecord): void {
  keeping = addKept('comparisons', keptComparison(c))
    .then((key) => {
      if (key !== null) c.key = key;
      compare.keepError = null;
    })
    .catch((e: unknown) => {
      compare.keepError = `This comparison is not kept for the next visit: ${(e as Error).message}`;
    });
}

/** Fills the history from IndexedDB (at start: nothing compared yet on this visit). */
export async function restoreHistory(): Promise<void> {
  const kept = await listKept<ComparisonRecord>('comparisons');
  if (compare.history.length) return;
  compare.history = kept.map(({ key, record }) => ({ ...record.value, key }));
}

/** Drops the comparisons with a deleted run from the page (IndexedDB's went with it: db.ts deleteRun). */
export function forgetRunComparisons(id: number): void {
  compare.history = compare.history.filter((c) => !runIdsOf(c.a.pick, ...(c.b ? [c.b.pick] : [])).includes(id));
}

const pickName = (p: Pick) => (p === 'base' ? 'Base model (adapter off)' : p === 'current' ? 'Imported adapter' : p === 'incontext' ? inContextLabel() : runName(Number(p.slice(4))));

/** What Compare's boxes ask: the instruction, and (unless raw) the input and the held-out row's system message. */
export function comparePrompt(): HeldOutPrompt {
  if (compare.raw) return { instruction: compare.prompt };
  return { instruction: compare.prompt, ...(compare.input.trim() ? { input: compare.input } : {}), ...(compare.system ? { system: compare.system } : {}) };
}

/** A held-out prompt into Compare's boxes (the select of held-out prompts). */
export function chooseHeldOut(p: HeldOutPrompt): void {
  compare.prompt = p.instruction;
  compare.input = p.input ?? '';
  compare.system = p.system ?? '';
}

/** A comparison's prompt as it was sent (the token-shift view asks about the same one). */
export const promptOf = (c: ComparisonRecord): HeldOutPrompt => ({ instruction: c.prompt, ...(c.input ? { input: c.input } : {}), ...(c.system ? { system: c.system } : {}) });

/** Appends the comparison just shown to the history (called once its outputs are done). */
function noteComparison(onlyBase: boolean): void {
  if (compare.error || (!compare.outA.text && !compare.outB.text)) return;
  const { a, b } = compare.shown;
  const { instruction, input, system } = comparePrompt();
  compare.history.push({
    at: Date.now(),
    prompt: instruction,
    ...(input ? { input } : {}),
    ...(system ? { system } : {}),
    raw: compare.raw,
    blind: compare.blind,
    settings: $state.snapshot(compare.settings) as GenerateSettings,
    a: { pick: a, name: pickName(a), text: compare.outA.text },
    b: onlyBase ? null : { pick: b, name: pickName(b), text: compare.outB.text },
    vote: null,
  });
  keepComparison(compare.history[compare.history.length - 1]);
}

/** Keeps a vote by position on the last comparison of the history, as a vote between its picks. */
function noteVote(v: 'left' | 'right' | 'tie'): void {
  const last = compare.history.at(-1);
  if (!last) return;
  last.vote = v === 'tie' ? 'tie' : (v === 'left') === !compare.swapped ? 'a' : 'b';
  void keeping.then(async () => {
    if (last.key === undefined) return;
    try {
      await putKept('comparisons', last.key, keptComparison(last));
    } catch (e) {
      compare.keepError = `The vote is kept, but not on its comparison in the history: ${(e as Error).message}`;
    }
  });
}

export function useOf(p: Pick): AdapterUse {
  if (p === 'base' || p === 'current' || p === 'incontext') return p;
  return { run: Number(p.slice(4)) };
}

const voteSide = (p: Pick): Vote['a'] | null => (p === 'base' || p === 'incontext' ? p : p.startsWith('run:') ? Number(p.slice(4)) : null);

async function one(out: Output, pick: Pick): Promise<void> {
  out.text = '';
  out.info = '';
  out.note = '';
  out.running = true;
  try {
    const r = await engine().call(
      { type: 'generate', prompt: comparePrompt(), raw: compare.raw, use: useOf(pick), settings: $state.snapshot(compare.settings) as GenerateSettings },
      'generated',
      {
        onEvent: (e) => {
          if (e.type === 'token') out.text = e.text;
          if (e.type === 'progress') out.info = `${e.label}…`;
        },
      },
    );
    finish(out, r);
  } finally {
    out.running = false;
  }
}

function finish(out: Output, r: Generated): void {
  out.text = r.text;
  out.info = `${r.tokens} tokens · ${(r.tokens / Math.max(0.001, r.ms / 1000)).toFixed(1)} tok/s · ${r.stopReason}`;
  out.note = r.note ?? '';
}

/** Both picks at once ('generate-pair': one batch on the same weights, token events tagged by side). */
async function both(): Promise<void> {
  const outs = [compare.outA, compare.outB] as const;
  for (const out of outs) Object.assign(out, { text: '', info: '', note: '', running: true });
  try {
    const r = await engine().call(
      { type: 'generate-pair', prompt: comparePrompt(), raw: compare.raw, uses: [useOf(compare.a), useOf(compare.b)], settings: $state.snapshot(compare.settings) as GenerateSettings },
      'generated-pair',
      {
        onEvent: (e) => {
          if (e.type === 'token') outs[e.side ?? 0].text = e.text;
          if (e.type === 'progress') for (const out of outs) out.info = `${e.label}…`;
          if (e.type === 'generated-side') {
            finish(outs[e.side], e.result);
            outs[e.side].running = false; // the other side may still be writing
          }
        },
      },
    );
    r.sides.forEach((side, i) => finish(outs[i], side));
  } finally {
    for (const out of outs) out.running = false;
  }
}

/** Generates A and B together; with `onlyBase` (nothing to compare against yet) just A, and B says why. */
export async function run(onlyBase: boolean): Promise<void> {
  compare.error = null;
  compare.running = true;
  compare.stopping = false;
  compare.swapped = compare.blind ? Math.random() < 0.5 : false;
  compare.voted = !compare.blind;
  compare.shown = { a: compare.a, b: compare.b };
  compare.outB.text = '';
  compare.outB.info = '';
  compare.outB.note = '';
  try {
    if (onlyBase) {
      await one(compare.outA, compare.a);
      compare.outB.info = 'No adapter yet: train one or import one.';
    } else await both();
  } catch (e) {
    compare.error = (e as Error).message;
  } finally {
    compare.running = false;
    noteComparison(onlyBase);
  }
}

export async function stopRun(): Promise<void> {
  compare.stopping = true;
  await engine().request({ type: 'generate-stop' });
}

/** A vote by position (left/right as shown), kept as a vote between the two picks. */
export async function vote(v: 'left' | 'right' | 'tie'): Promise<void> {
  if (compare.voted) return;
  compare.voted = true;
  noteVote(v);
  const a = voteSide(compare.shown.a);
  const b = voteSide(compare.shown.b);
  if (a === null || b === null) return; // the imported adapter is not a run: its votes are not kept
  const leftIsA = !compare.swapped;
  const winner = v === 'tie' ? 'tie' : (v === 'left') === leftIsA ? 'a' : 'b';
  await recordVote({ a, b, winner, at: Date.now() });
}

/** The kept votes between the two picks shown: how often B beat A. */
export function tally(): VoteTally {
  return tallyPair(compare.shown.a, compare.shown.b);
}

/** Kept blind votes between two picks, from B's side. */
export interface VoteTally {
  aWins: number;
  bWins: number;
  ties: number;
  /** decided votes: aWins + bWins (ties apart) */
  n: number;
  /** bWins / n (0 when n = 0) and its 95% Wilson interval */
  p: number;
  lo: number;
  hi: number;
}

/**
 * The kept votes between picks `pa` and `pb` (in either order they were
 * shown): how often B beat A. The page's one win-rate definition, for the
 * votes and the model judge alike: wins over decided comparisons, ties apart.
 */
export function tallyPair(pa: Pick, pb: Pick): VoteTally {
  const a = voteSide(pa);
  const b = voteSide(pb);
  let aWins = 0;
  let bWins = 0;
  let ties = 0;
  for (const v of runs.votes) {
    const same = v.a === a && v.b === b;
    const flipped = v.a === b && v.b === a;
    if (a === b || (!same && !flipped)) continue;
    if (v.winner === 'tie') ties++;
    else if ((v.winner === 'b') === same) bWins++;
    else aWins++;
  }
  const n = aWins + bWins;
  return { aWins, bWins, ties, n, ...wilson(bWins, n) };
}

/** Held-out loss of the two picks (or of A alone when there is nothing else) on the loaded dataset's validation rows. */
export async function heldout(labels: { a: string; b: string }, onlyBase: boolean): Promise<void> {
  compare.error = null;
  compare.heldoutBusy = 'Scoring held-out rows…';
  const picks = onlyBase ? [compare.a] : [compare.a, compare.b];
  try {
    const r = await engine().call({ type: 'heldout-eval', limit: compare.heldoutRows, uses: picks.map(useOf) }, 'heldout', {
      onEvent: (e) => e.type === 'progress' && (compare.heldoutBusy = `Scoring held-out rows: ${e.done + 1} of ${e.total}…`),
    });
    compare.heldout = { labels: onlyBase ? [labels.a] : [labels.a, labels.b], points: r.points, rows: r.rows, examples: r.examples };
    const i = picks.indexOf('incontext');
    if (i >= 0) incontext.heldout = { loss: r.points[i].loss, perplexity: r.points[i].perplexity, rows: r.rows, examples: r.examples?.[i] ?? 0 };
  } catch (e) {
    compare.error = (e as Error).message;
  } finally {
    compare.heldoutBusy = null;
  }
}
