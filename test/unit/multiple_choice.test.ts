/**
 * Scoring of multiple-choice items on hand-computed cases: a fake tokenizer
 * (greedy longest match over a fixed piece list) and a fake scorer whose
 * log-probability depends only on the token, so every score is a sum the
 * test can write down.
 */
import { describe, expect, test } from 'vitest';
import { argmax, charLength, choiceRequests, requestBatch, scoreItems, type ChoiceRequest } from '../../src/engine/eval/multiple_choice';
import type { McItem } from '../../src/engine/eval/mc_formats';

const BOS = 0;

/** Greedy longest-match tokenizer over `pieces` (id = index + 1; 0 is BOS). */
function fakeTokenizer(pieces: string[], bos = true) {
  const byLength = [...pieces].sort((a, b) => b.length - a.length);
  return {
    bosId: bos ? BOS : null,
    bosToken: bos ? '<s>' : null,
    eosToken: null,
    eosIds: [],
    chatTemplate: null,
    encode(text: string): number[] {
      const ids: number[] = [];
      for (let i = 0; i < text.length; ) {
        const p = byLength.find((q) => text.startsWith(q, i));
        if (!p) throw new Error(`fake tokenizer: no piece at "${text.slice(i)}"`);
        ids.push(pieces.indexOf(p) + 1);
        i += p.length;
      }
      return ids;
    },
  };
}

/** log p(token) from a table by piece, whatever came before; records what it was asked. */
function fakeScorer(pieces: string[], logp: Record<string, number>) {
  const calls: ChoiceRequest[][] = [];
  const fn = async (reqs: ChoiceRequest[]) => {
    calls.push(reqs);
    return reqs.map((r) => r.ids.slice(r.start).reduce((s, id) => s + (logp[pieces[id - 1]] ?? -10), 0));
  };
  return { fn, calls };
}

const item = (question: string, choices: string[], gold: number, line = 1): McItem => ({ question, choices, gold, line });

describe('choiceRequests: the continuation is whole[len(encode(context)):]', () => {
  const pieces = ['Q', '?', ' ', ' cat', ' dog', 'cat', 'dog', 'i', 'i ', 'H', 'x', ' x'];
  const tok = fakeTokenizer(pieces);
  const id = (p: string) => pieces.indexOf(p) + 1;

  test('a clean boundary: BOS, context tokens, then the choice tokens', () => {
    const reqs = choiceRequests(tok, 'Q?', ['cat', 'dog']);
    expect(reqs).toEqual([
      { ids: [BOS, id('Q'), id('?'), id(' cat')], start: 3 },
      { ids: [BOS, id('Q'), id('?'), id(' dog')], start: 3 },
    ]);
  });

  test('no BOS when the model has none', () => {
    expect(choiceRequests(fakeTokenizer(pieces, false), 'Q?', ['cat'])).toEqual([{ ids: [id('Q'), id('?'), id(' cat')], start: 2 }]);
  });

  test('a token merging across the boundary: the split stays at the context token count (lm-eval-harness)', () => {
    // encode("Hi") = [H, i]; encode("Hi x") = [H, "i ", x]: "i " swallows the space
    expect(tok.encode('Hi')).toEqual([id('H'), id('i')]);
    const [r] = choiceRequests(tok, 'Hi', ['x']);
    expect(r).toEqual({ ids: [BOS, id('H'), id('i '), id('x')], start: 3 });
  });
});

describe('scoreItems', () => {
  const pieces = ['Q', '?', ' ', ' cat', ' dog', 'cat', 'dog', ' elephant', ' ant', 'i', 'i ', 'H', 'x', ' x', 'y'];
  const tok = fakeTokenizer(pieces);

  test('scores are summed continuation log-probs; acc and acc_norm disagree when lengths differ', async () => {
    // cat: -3 (len 3 → -1.0 per char); elephant: -4 (len 8 → -0.5): acc picks cat, acc_norm elephant
    const { fn } = fakeScorer(pieces, { ' cat': -3, ' elephant': -4, ' ant': -6 });
    const r = await scoreItems(fn, tok, [item('Q?', ['cat', 'elephant', 'ant'], 1), item('Q?', ['cat', 'elephant', 'ant'], 0)]);
    expect(r.items).toEqual([
      { scores: [-3, -4, -6], pred: 0, pred_norm: 1, gold: 1 },
      { scores: [-3, -4, -6], pred: 0, pred_norm: 1, gold: 0 },
    ]);
    expect(r.acc).toBe(0.5);
    expect(r.acc_norm).toBe(0.5);
    expect(r.n).toBe(2);
  });

  test('a merged boundary scores only the tokens after the split (the merged token counts as context)', async () => {
    const { fn, calls } = fakeScorer(pieces, { 'i ': -100, i: -100, x: -1, ' x': -7, y: -2 });
    // encode("Hi") = [H, i] (2 tokens); "Hi x" = [H, "i ", x] and "Hi y" = [H, "i ", y]: only x and y are scored
    const r = await scoreItems(fn, tok, [item('Hi', ['x', 'y'], 0)]);
    expect(calls[0]).toEqual([
      { ids: [BOS, 12, 11, 13], start: 3 },
      { ids: [BOS, 12, 11, 15], start: 3 },
    ]);
    expect(r.items[0].scores).toEqual([-1, -2]);
    expect(r.acc).toBe(1);
  });

  test('ties go to the first (lowest index) maximum, for acc and acc_norm alike', async () => {
    const { fn } = fakeScorer(pieces, { ' cat': -2, ' dog': -2, ' ant': -5 });
    const r = await scoreItems(fn, tok, [item('Q?', ['ant', 'dog', 'cat'], 2)]);
    expect(r.items[0]).toEqual({ scores: [-5, -2, -2], pred: 1, pred_norm: 1, gold: 2 });
    expect(r.acc).toBe(0);
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
  });

  test('whole items share a call while their rows fit; progress after each call', async () => {
    const { fn, calls } = fakeScorer(pieces, {});
    const seen: [number, number][] = [];
    const three = [item('Q?', ['cat', 'dog'], 0), item('Q?', ['cat', 'dog', 'ant'], 0), item('Q?', ['cat', 'dog'], 0)];
    const r = await scoreItems(fn, tok, three, { batchRows: 5, onProgress: (d, t) => seen.push([d, t]) });
    expect(calls.map((c) => c.length)).toEqual([5, 2]); // 2 + 3 rows, then 2 (2 + 3 + 2 > 5)
    expect(seen).toEqual([
      [2, 3],
      [3, 3],
    ]);
    expect(r.items.map((x) => x.scores.length)).toEqual([2, 3, 2]);
    await scoreItems(fn, tok, three); // default: one item per call
    expect(calls.slice(2).map((c) => c.length)).toEqual([2, 3, 2]);
    calls.length = 2;
    // an item with more rows than batchRows still goes whole; batchTokens bounds rows × padded length (32 here)
    await scoreItems(fn, tok, three, { batchRows: 1 });
    await scoreItems(fn, tok, three, { batchRows: 32, batchTokens: 4 * 32 });
    expect(calls.slice(2).map((c) => c.length)).toEqual([2, 3, 2, 2, 3, 2]);
  });

  test('a template renders the context; plain: "Instruction: {q}\\nResponse:" + " choice"', async () => {
    const letters = [...new Set('Instruction: Q?\nResponse:'.split(''))];
    const ptok = fakeTokenizer([...letters, ' cat']);
    const calls: ChoiceRequest[][] = [];
    await scoreItems(async (r) => (calls.push(r), r.map(() => 0)), ptok, [item('Q?', ['cat', 'cat'], 0)], { template: 'plain' });
    const ctx = ptok.encode('Instruction: Q?\nResponse:');
    expect(calls[0][0]).toEqual({ ids: [BOS, ...ctx, letters.length + 1], start: ctx.length + 1 });
  });

  test('acc_norm counts characters as code points, without the leading space', () => {
    expect(charLength('naïve')).toBe(5);
    expect(charLength('🐱')).toBe(1);
  });

  test('an item longer than the context fails before anything is scored, naming its line', async () => {
    const { fn, calls } = fakeScorer(pieces, {});
    await expect(scoreItems(fn, tok, [item('Q?', ['cat', 'dog'], 0, 1), item('QQQQ?', ['cat', 'dog'], 0, 7)], {}, 6)).rejects.toThrow(/line 7: choice 0 is 7 tokens/);
    expect(calls).toEqual([]);
  });

  test('an item of a JSON array is named by its position in the array, not a line', async () => {
    const { fn } = fakeScorer(pieces, {});
    await expect(scoreItems(fn, tok, [{ ...item('QQQQ?', ['cat', 'dog'], 0, 1), index: 2 }], {}, 6)).rejects.toThrow(/^row 3 of the array: choice 0 is 7 tokens/);
  });
});

describe('requestBatch', () => {
  test('right padding, targets only at the positions that predict a continuation token', () => {
    const b = requestBatch(
      [
        { ids: [0, 5, 6, 7], start: 3 },
        { ids: [0, 5, 6, 8, 9], start: 3 },
      ],
      512,
    );
    expect([b.rows, b.length]).toEqual([2, 32]);
    expect(Array.from(b.targetIndex)).toEqual([2, 32 + 2, 32 + 3]);
    expect(Array.from(b.targets)).toEqual([7, 8, 9]);
    expect(Array.from(b.segments.slice(0, 5))).toEqual([1, 1, 1, 1, 0]);
    expect(Array.from(b.positions.slice(32, 37))).toEqual([0, 1, 2, 3, 4]);
    expect(b.tokens).toBe(3);
  });
});
