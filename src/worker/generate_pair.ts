/**
 * Compare's two sides for one prompt (the 'generate-pair' request): in one
 * batch when they share the base weights and at most one adapter (base vs a
 * run, the common case, or one adapter on both sides): each row's LoRA term
 * times 0 (base) or 1 (the adapter), session.ts generatePairText. Two
 * different adapters would need per-row adapter selection inside every
 * LoRA kernel; that rare case runs the sides one after the other instead,
 * each as a plain 'generate' would, so it gives the same texts, only later.
 */
import type { AdapterUse, Generated, RequestOf } from './protocol';
import { withAdapter } from './adapters';
import { generatePairText, lastPairIds } from './session';
import { rememberPair } from './token_shift';
import { generateUse } from './incontext';

const sameUse = (x: AdapterUse, y: AdapterUse) => x === y || (typeof x === 'object' && typeof y === 'object' && x.run === y.run);

export async function generateSides(
  req: RequestOf<'generate-pair'>,
  onText: (side: 0 | 1, text: string) => void,
  onDone: (side: 0 | 1, result: Generated) => void,
  progress: (label: string) => void,
): Promise<[Generated, Generated]> {
  const adapters = req.uses.filter((u) => u !== 'base');
  rememberPair(null);
  const inContext = req.uses.includes('incontext'); // its prompt ids differ from the other side's: no shared batch
  if (!inContext && (adapters.length < 2 || sameUse(adapters[0], adapters[1]))) {
    const scales = req.uses.map((u) => (u === 'base' ? 0 : 1));
    const sides = await withAdapter(adapters[0] ?? 'base', () => generatePairText(req.prompt, req.raw, scales, req.settings, (side, text) => onText(side as 0 | 1, text), (side, r) => onDone(side as 0 | 1, r)), progress);
    const ids = lastPairIds; // set by that generatePairText
    if (ids) rememberPair({ model: ids.model, prompt: req.prompt, raw: req.raw, uses: req.uses, promptIds: ids.prompt, sides: sides.map((x, i) => ({ ids: ids.answers[i], text: x.text })) });
    return [sides[0], sides[1]];
  }
  // two different adapters, or the in-context baseline on a side: sequential (see above); a stop during the first side skips the second
  const a = await generateUse(req.uses[0], req.prompt, req.raw, req.settings, (text) => onText(0, text), progress);
  onDone(0, a);
  if (a.stopReason === 'aborted') return [a, { text: '', tokens: 0, stopReason: 'aborted', ms: 0 }];
  const b = await generateUse(req.uses[1], req.prompt, req.raw, req.settings, (text) => onText(1, text), progress);
  return [a, b];
}
