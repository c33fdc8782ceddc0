/**
 * Base vs tuned: the same prompt, seed and sampling, the adapter switched off
 * and on over the same base weights (model.adapterEnabled in the worker).
 * Blind mode hides which side is which until a vote, and keeps a tally with
 * a Wilson 95% interval on the tuned model's win rate (ties excluded).
 */
import type { EvalPoint, GenerateSettings } from '../../worker/protocol';
import { wilson } from '../lib/format';
import { engine } from './app.svelte';

interface Output {
  text: string;
  running: boolean;
  info: string;
}

export const compare = $state({
  prompt: '',
  raw: false,
  settings: { temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxNewTokens: 120, seed: 1 } as GenerateSettings,
  base: { text: '', running: false, info: '' } as Output,
  tuned: { text: '', running: false, info: '' } as Output,
  error: null as string | null,
  running: false,
  stopping: false,
  blind: false,
  /** in blind mode: whether the tuned output is on the left this round */
  tunedLeft: false,
  voted: true,
  votes: { tuned: 0, base: 0, tie: 0 },
  heldout: null as { base: EvalPoint; tuned: EvalPoint | null; rows: number } | null,
  heldoutBusy: false,
  /** held-out rows to score (0 = all) */
  heldoutRows: 32,
});

async function one(which: 'base' | 'tuned'): Promise<void> {
  const out = compare[which];
  out.text = '';
  out.info = '';
  out.running = true;
  try {
    const r = await engine().call(
      { type: 'generate', prompt: compare.prompt, raw: compare.raw, adapter: which === 'tuned', settings: $state.snapshot(compare.settings) as GenerateSettings },
      'generated',
      { onEvent: (e) => e.type === 'token' && (out.text = e.text) },
    );
    out.text = r.text;
    out.info = `${r.tokens} tokens · ${(r.tokens / Math.max(0.001, r.ms / 1000)).toFixed(1)} tok/s · ${r.stopReason}`;
  } finally {
    out.running = false;
  }
}

export async function run(hasAdapter: boolean): Promise<void> {
  compare.error = null;
  compare.running = true;
  compare.stopping = false;
  compare.tunedLeft = compare.blind ? Math.random() < 0.5 : false;
  compare.voted = !compare.blind;
  compare.tuned.text = '';
  compare.tuned.info = '';
  try {
    await one('base');
    if (hasAdapter && !compare.stopping) await one('tuned');
    else if (!hasAdapter) compare.tuned.info = 'No adapter yet: train one or import one.';
  } catch (e) {
    compare.error = (e as Error).message;
  } finally {
    compare.running = false;
  }
}

export async function stopRun(): Promise<void> {
  compare.stopping = true;
  await engine().request({ type: 'generate-stop' });
}

export function vote(v: 'left' | 'right' | 'tie'): void {
  if (compare.voted) return;
  if (v === 'tie') compare.votes.tie++;
  else if ((v === 'left') === compare.tunedLeft) compare.votes.tuned++;
  else compare.votes.base++;
  compare.voted = true;
}

export function winRate() {
  const n = compare.votes.tuned + compare.votes.base;
  return { n, ...wilson(compare.votes.tuned, n) };
}

export async function heldout(): Promise<void> {
  compare.error = null;
  compare.heldoutBusy = true;
  try {
    const r = await engine().call({ type: 'heldout-eval', limit: compare.heldoutRows }, 'heldout');
    compare.heldout = { base: r.base, tuned: r.tuned, rows: r.rows };
  } catch (e) {
    compare.error = (e as Error).message;
  } finally {
    compare.heldoutBusy = false;
  }
}
