/**
 * The page's judge flow (judgeSides in src/worker/judge.ts) with a scripted
 * answer writer and scripted judges whose replies the test chooses: every
 * instruction answered by pick A then pick B, each pair judged in both orders,
 * counts from B's side (as Compare's blind-vote tally), ties and unparsed pairs
 * apart from the decided ones, the Wilson interval, progress and Stop.
 */
import { describe, expect, it } from 'vitest';
import type { Judge, JudgePrompt } from '../../src/engine/eval/judge';
import { wilsonInterval } from '../../src/engine/eval/wilson';
import { decidedRate, judgeSides, type AnswerWriter } from '../../src/worker/judge';
import { promptText } from '../../src/worker/prompts';
import type { AdapterUse } from '../../src/worker/protocol';

const label = (u: AdapterUse) => (u === 'base' ? 'base' : u === 'current' ? 'current' : u === 'incontext' ? 'incontext' : `run${u.run}`);

/** Run 2 writes a "good" answer to the instructions that say "easy"; the base model never does. */
function writer(calls: string[]): AnswerWriter {
  return async (use, prompt) => {
    const instruction = promptText(prompt);
    calls.push(`${label(use)}|${instruction}`);
    return label(use) === 'run2' && instruction.includes('easy') ? `a good answer to ${instruction}` : `an answer to ${instruction}`;
  };
}

function shown(p: JudgePrompt): { A: string; B: string } {
  const grab = (x: 'A' | 'B') => p.user.split(`[Assistant ${x}]\n`)[1].split(`\n[End of Assistant ${x}]`)[0];
  return { A: grab('A'), B: grab('B') };
}

/** Prefers the "good" answer in either position; a tie when neither is. */
const fair: Judge = async (p) => {
  const { A, B } = shown(p);
  return A.includes('good') ? '[[A]]' : B.includes('good') ? 'Verdict: [[B]]' : '[[C]]';
};

const INSTRUCTIONS = ['easy one', 'easy two', 'hard three', 'easy four'];
const PROMPTS = INSTRUCTIONS.map((instruction) => ({ instruction }));

describe('judgeSides', () => {
  it('answers with A then B, judges both orders, counts from B', async () => {
    const calls: string[] = [];
    const prompts: JudgePrompt[] = [];
    const progress: string[] = [];
    const r = await judgeSides({
      prompts: PROMPTS,
      a: 'base',
      b: { run: 2 },
      answer: writer(calls),
      judge: async (p) => (prompts.push(p), fair(p)),
      onProgress: (phase, done, total) => progress.push(`${phase} ${done}/${total}`),
    });
    // all of A's answers first (one adapter swap), then B's
    expect(calls).toEqual([...INSTRUCTIONS.map((i) => `base|${i}`), ...INSTRUCTIONS.map((i) => `run2|${i}`)]);
    expect(progress).toEqual([...[1, 2, 3, 4, 5, 6, 7, 8].map((d) => `answers ${d}/8`), ...[1, 2, 3, 4, 5, 6, 7, 8].map((d) => `judging ${d}/8`)]);
    // two judge calls per pair: A's answer as assistant A, then swapped
    expect(prompts).toHaveLength(8);
    expect(shown(prompts[0])).toEqual({ A: 'an answer to easy one', B: 'a good answer to easy one' });
    expect(shown(prompts[1])).toEqual({ A: 'a good answer to easy one', B: 'an answer to easy one' });
    expect(r.pairs.map((p) => p.winner)).toEqual(['b', 'b', 'tie', 'b']);
    expect(r.pairs[0]).toMatchObject({ instruction: 'easy one', a: 'an answer to easy one', b: 'a good answer to easy one' });
    expect(r.pairs[0].ab).toEqual({ raw: 'Verdict: [[B]]', verdict: 'B' });
    expect(r.pairs[0].ba).toEqual({ raw: '[[A]]', verdict: 'A' });
    expect([r.bWins, r.aWins, r.ties, r.unparsed, r.unparsedReplies]).toEqual([3, 0, 1, 0, 0]);
    // ties excluded: 3 of 3 decided pairs
    expect(r.rate!.p).toBe(1);
    expect(r.rate!.lo).toBeCloseTo(wilsonInterval(3, 3).lo, 15);
    expect(r.rate!.hi).toBe(1);
    expect(r.a).toBe('base');
    expect(r.b).toEqual({ run: 2 });
  });

  it('turns a position-biased judge into ties and counts garbled replies as unparsed, never guessed', async () => {
    const biased = await judgeSides({ prompts: PROMPTS, a: 'base', b: { run: 2 }, answer: writer([]), judge: async () => '[[A]]' });
    expect([biased.bWins, biased.aWins, biased.ties, biased.unparsed]).toEqual([0, 0, 4, 0]);
    expect(biased.rate).toBeNull();

    // a judge that answers the first order but garbles the swapped one ("[[ B ]]" is not a mark), and echoes the format on "hard"
    const garbled: Judge = async (p) => {
      const { A } = shown(p);
      if (p.user.includes('hard')) return 'Reply "[[A]]", "[[B]]" or "[[C]]"';
      return A.includes('good') ? '[[ A ]]' : '[[B]]';
    };
    const r = await judgeSides({ prompts: PROMPTS, a: 'base', b: { run: 2 }, answer: writer([]), judge: garbled });
    expect(r.pairs.map((p) => [p.ab.verdict, p.ba.verdict, p.winner])).toEqual([
      ['B', 'unparsed', 'unparsed'],
      ['B', 'unparsed', 'unparsed'],
      ['unparsed', 'unparsed', 'unparsed'],
      ['B', 'unparsed', 'unparsed'],
    ]);
    expect([r.bWins, r.aWins, r.ties, r.unparsed, r.unparsedReplies]).toEqual([0, 0, 0, 4, 5]);
    expect(r.rate).toBeNull();
  });

  it('counts A beating B from B side', async () => {
    const r = await judgeSides({ prompts: PROMPTS, a: { run: 2 }, b: 'base', answer: writer([]), judge: fair });
    expect([r.bWins, r.aWins, r.ties]).toEqual([0, 3, 1]);
    expect(r.rate).toEqual({ p: 0, ...wilsonInterval(0, 3) });
  });

  it("hands the writer the row's input and shows it to the judge after the instruction", async () => {
    const got: unknown[] = [];
    const prompts: JudgePrompt[] = [];
    const prompt = { instruction: 'Rewrite the following sentence to use a passive voice instead.', input: 'The cat chased the mouse.', system: 'Be brief.' };
    const r = await judgeSides({ prompts: [prompt], a: 'base', b: { run: 2 }, answer: async (_use, p) => (got.push(p), 'x'), judge: async (p) => (prompts.push(p), '[[C]]') });
    expect(got).toEqual([prompt, prompt]);
    expect(prompts[0].user).toContain('[Instruction]\nRewrite the following sentence to use a passive voice instead.\n\nThe cat chased the mouse.\n\n[Assistant A]');
    expect(r.pairs[0].instruction).toBe('Rewrite the following sentence to use a passive voice instead.\n\nThe cat chased the mouse.');
  });

  it('stops between calls when the signal is aborted', async () => {
    const ctrl = new AbortController();
    let judged = 0;
    const run = judgeSides({
      prompts: PROMPTS,
      a: 'base',
      b: { run: 2 },
      answer: writer([]),
      judge: async (p) => {
        if (++judged === 3) ctrl.abort();
        return fair(p);
      },
      signal: ctrl.signal,
    });
    await expect(run).rejects.toThrow(/stopped/);
    expect(judged).toBe(3);

    const early = new AbortController();
    early.abort();
    const calls: string[] = [];
    await expect(judgeSides({ prompts: PROMPTS, a: 'base', b: { run: 2 }, answer: writer(calls), judge: fair, signal: early.signal })).rejects.toThrow(/stopped/);
    expect(calls).toEqual([]);
  });
});

describe('decidedRate', () => {
  it('is wins over decided pairs with the Wilson interval, null without any', () => {
    expect(decidedRate(0, 0)).toBeNull();
    const r = decidedRate(7, 3)!;
    expect(r.p).toBe(0.7);
    expect([r.lo, r.hi]).toEqual([wilsonInterval(7, 10).lo, wilsonInterval(7, 10).hi]);
    // hand-computed: z = 1.959964, p = 0.7, n = 10 → centre 0.6058, half 0.2090
    expect(r.lo).toBeCloseTo(0.3968, 4);
    expect(r.hi).toBeCloseTo(0.8922, 4);
  });
});
