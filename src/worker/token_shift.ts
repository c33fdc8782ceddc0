/**
 * Compare's "What changed, token by token" (the 'token-shift' request): the
 * token shift of URIAL (engine/eval/token_shift.ts) for the tuned side of the
 * last comparison. The ids are the ones generation fed and produced (kept by
 * generateSides), not a re-encoding of the text, so nothing drifts: the
 * prompt exactly as Compare templated it, the answer exactly as sampled.
 *
 * A side cut at a template's stop string generated the stop string's token(s)
 * too; the answer is taken up to the last whole token the shown text holds.
 * The most-shifted token texts are counted over every answer analysed in this
 * worker (each answer once), for the page's running list.
 */
import { shiftClass, tokenShift, topShifted, type ShiftToken } from '../engine/eval/token_shift';
import type { LlamaModel } from '../engine/model';
import { withAdapter } from './adapters';
import type { AdapterUse, Event, HeldOutPrompt, RequestOf, ShiftPiece } from './protocol';
import { samePrompt } from './prompts';
import { decodePieces, requireSession } from './session';

interface Pair {
  model: LlamaModel;
  prompt: HeldOutPrompt;
  raw: boolean;
  uses: [AdapterUse, AdapterUse];
  promptIds: number[];
  sides: { ids: number[]; text: string }[];
}

let last: Pair | null = null;
/** answers analysed so far, by their prompt and answer ids */
const analysed = new Map<string, { tokens: ShiftToken[]; texts: string[] }>();

const sameUse = (x: AdapterUse, y: AdapterUse) => x === y || (typeof x === 'object' && typeof y === 'object' && x.run === y.run);

/** Called by generateSides: what the last comparison fed and generated (null: nothing usable, e.g. it failed or ran its sides one by one). */
export function rememberPair(p: Pair | null): void {
  last = p;
}

/** Forgets the answers counted for the most-shifted list (a new base model). */
export function forgetShiftHistory(): void {
  analysed.clear();
  last = null;
}

/** Which side of a comparison is the tuned one, or why there is none. */
export function tunedSide(uses: [AdapterUse, AdapterUse]): { side: 0 | 1 } | { reason: string } {
  if (sameUse(uses[0], uses[1])) return { reason: 'Both sides are the same model: pick the base model and a run.' };
  if (uses[0] === 'base') return { side: 1 };
  if (uses[1] === 'base') return { side: 0 };
  return { reason: 'One side must be the base model: the shift is measured against it.' };
}

/** The ids of `ids` whose decoded text is a prefix of `text`, their pieces, and the rest of `text`. */
function wholeTokens(ids: number[], text: string): { ids: number[]; pieces: string[]; cut: string } {
  const s = requireSession();
  const all = decodePieces(s.tokenizer, ids);
  let n = 0;
  let len = 0;
  while (n < all.length && text.startsWith(all[n], len)) len += all[n++].length;
  return { ids: ids.slice(0, n), pieces: all.slice(0, n), cut: text.slice(len) };
}

/** How token `id` would read after the answer's first tokens `before` (its leading space kept; a special token by its name). */
function alternativeText(before: number[], id: number): string {
  const s = requireSession();
  const head = s.tokenizer.decode(before);
  const withIt = s.tokenizer.decode([...before, id]);
  const text = withIt.startsWith(head) ? withIt.slice(head.length) : '';
  return text || s.tokenizer.idToToken(id);
}

type ShiftResult = Omit<Extract<Event, { type: 'token-shift-result' }>, 'id' | 'type'>;

export async function shiftOfLastPair(req: RequestOf<'token-shift'>, progress: (label: string) => void): Promise<ShiftResult> {
  const s = requireSession();
  const which = tunedSide(req.uses);
  if ('reason' in which) throw new Error(which.reason);
  const p = last;
  if (!p || p.model !== s.model || !samePrompt(p.prompt, req.prompt) || p.raw !== req.raw || !sameUse(p.uses[0], req.uses[0]) || !sameUse(p.uses[1], req.uses[1]))
    throw new Error('The engine no longer holds the tokens of this comparison: run both again, then ask what changed.');
  const side = which.side;
  const { ids, pieces, cut } = wholeTokens(p.sides[side].ids, p.sides[side].text);
  if (ids.length === 0) throw new Error('The tuned answer is empty: there is no token to analyse.');
  progress(`Scoring ${ids.length} answer tokens under the base and the tuned model`);
  const tokens = await withAdapter(req.uses[side], () => tokenShift(s.model, p.promptIds, ids), progress);
  // counted by the token's text without the space before it, so "Once" opening the answer and " Once" later are one token
  analysed.set(`${p.promptIds.join(',')}|${ids.join(',')}`, { tokens, texts: pieces.map((x) => x.trim() || x) });
  const out: ShiftPiece[] = tokens.map((t, i) => ({
    text: pieces[i],
    baseRank: t.baseRank,
    pBase: t.pBase,
    pTuned: t.pTuned,
    kl: t.kl,
    shift: shiftClass(t.baseRank),
    baseTop: t.baseTop.map((x) => ({ text: alternativeText(ids.slice(0, i), x.id), p: x.p })),
  }));
  return { side, pieces: out, cut, topShifted: topShifted([...analysed.values()], 15), answers: analysed.size };
}
