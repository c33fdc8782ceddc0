/**
 * The judge-scored quality filter (src/engine/curate/quality.ts) with scripted
 * judges whose readings the tests choose: the strict reading of a score (a
 * digit among the top tokens, else unscored with its reason), exact counts
 * and histogram, the threshold, identical rows read once, chunks, progress,
 * Stop, and the cache: a second pass costs 0 judge calls. The rubric through
 * SmolLM2-135M-Instruct's tokenizer: its score prefix and digit tokens.
 */
import { describe, expect, it } from 'vitest';
import {
  countScores,
  qualityPrompt,
  readDistribution,
  replyText,
  rowsScoringAtLeast,
  scoreKey,
  scoreOf,
  scoreRows,
  scoreTokens,
  TOP_K,
  type QualityJudge,
  type RowScore,
  type Score,
  type ScoreReading,
} from '../../src/engine/curate/quality';
import { loadModelPath } from '../../src/engine/io/node_load';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { smolGguf } from '../helpers/python';

/** A reading whose top tokens are `top` (text, p); digit texts "1".."5" are digit tokens. */
function reading(top: [string, number][], digits: number[] | null = [0.1, 0.1, 0.1, 0.1, 0.1]): ScoreReading {
  return { top: top.map(([text, p]) => ({ text, p, digit: /^[1-5]$/.test(text) ? (Number(text) as Score) : null })), digits };
}

describe('scoreOf (strict)', () => {
  it('scores the most probable digit among the top tokens, with G-Eval\'s weighted score beside it', () => {
    const s = scoreOf(reading([['4', 0.5], ['3', 0.2], ['\n', 0.1]], [0, 0, 0.2, 0.5, 0.1]));
    expect(s.score).toBe(4);
    expect(s.expected).toBeCloseTo((3 * 0.2 + 4 * 0.5 + 5 * 0.1) / 0.8, 12);
    expect(s.reply).toBe('"4" 50% · "3" 20% · "\\n" 10%');
    expect(s.reason).toBeUndefined();
  });
  it('takes a digit below a non-digit token when it is among the top', () => {
    expect(scoreOf(reading([[' ', 0.6], ['The', 0.2], ['2', 0.1]])).score).toBe(2);
  });
  it('is unscored when no digit is among the top tokens (never guessed from the digits\' small mass)', () => {
    const s = scoreOf(reading([['The', 0.4], ['Score', 0.2], ['\n', 0.1], ['I', 0.05], ['0', 0.05]], [0.01, 0.01, 0.03, 0.01, 0.01]));
    expect([s.score, s.expected]).toEqual([null, null]);
    expect(s.reason).toBe("no digit 1–5 among the judge's top 5 next tokens");
  });
  it('is unscored when two digits tie exactly, when the tokenizer has no digit tokens, or when no forward ran', () => {
    expect(scoreOf(reading([['3', 0.3], ['4', 0.3]])).reason).toBe('digits 3 and 4 tie');
    expect(scoreOf(reading([], null)).reason).toMatch(/no single token for each digit 1–5/);
    expect(scoreOf({ top: [], digits: null, note: 'the rubric prompt is 600 tokens; the judge\'s context is 512' }).reason).toMatch(/600 tokens/);
  });
  it('counts "0", "6" and multi-digit texts as no score', () => {
    expect(scoreOf(reading([['0', 0.5], ['6', 0.3], ['10', 0.1], ['5.', 0.05]])).score).toBeNull();
  });
});

describe('readDistribution', () => {
  it('softmaxes the logits, keeps the top tokens in order and the digits\' probabilities', () => {
    // vocabulary: 0 "a", 1 "1", 2 "2", 3 "3", 4 "4", 5 "5", 6 "b", 7 "c"
    const logits = Float32Array.from([3, 0, 1, 2, -1, -5, 2.5, 0.5]);
    const ids = [1, 2, 3, 4, 5];
    const digitOf = new Map(ids.map((id, d) => [id, (d + 1) as Score]));
    const r = readDistribution(logits, ids, digitOf, (id) => 'a12345bc'[id]);
    const z = [...logits].reduce((s, x) => s + Math.exp(x), 0);
    expect(r.top.map((t) => t.text)).toEqual(['a', 'b', '3', '2', 'c']);
    expect(r.top.length).toBe(TOP_K);
    expect(r.top[0].p).toBeCloseTo(Math.exp(3) / z, 6);
    r.digits!.forEach((p, d) => expect(p).toBeCloseTo(Math.exp(logits[d + 1]) / z, 6));
    expect(scoreOf(r).score).toBe(3);
  });
});

/** Scores by the row's response: "good" → 5, "fine" → 3, "bad" → 1, anything else → no digit among the top tokens. Counts its calls and rows. */
function scriptedJudge(id = 'scripted') {
  const calls: number[] = [];
  const judge: QualityJudge = {
    id,
    read: async (prompts) => {
      calls.push(prompts.length);
      return prompts.map((p) => {
        const response = p.user.split('[Response]\n')[1].split('\n[End of Response]')[0];
        const digit = response.includes('good') ? '5' : response.includes('fine') ? '3' : response.includes('bad') ? '1' : null;
        return digit ? reading([[digit, 0.7], ['\n', 0.1]]) : reading([['Score', 0.5], ['\n', 0.2]]);
      });
    },
  };
  return { judge, calls };
}

const rows = [
  { prompt: 'Name a fruit.', response: 'An apple: a good answer.' },
  { prompt: 'Add 2 and 2.', response: 'It is 4, fine.' },
  { prompt: 'Say hi.', response: 'bad' },
  { prompt: 'Name a colour.', response: 'Blue.' }, // unscored
  { prompt: 'Add 2 and 2.', response: 'It is 4, fine.' }, // the same row again: read once
  { prompt: 'Name a city.', response: 'Paris, a good one.' },
];

describe('scoreRows', () => {
  it('gives exact counts, the histogram and the rows at or above a threshold', async () => {
    const { judge, calls } = scriptedJudge();
    const r = await scoreRows(judge, rows);
    expect(r.scores.map((s) => s.score)).toEqual([5, 3, 1, null, 3, 5]);
    expect([r.scored, r.unscored, r.histogram]).toEqual([5, 1, [1, 0, 2, 0, 2]]);
    expect(r.scores[3].reason).toMatch(/no digit/);
    expect(r.scores[3].reply).toBe('"Score" 50% · "\\n" 20%');
    expect([r.read, r.cached]).toEqual([5, 0]);
    expect(calls).toEqual([5]);
    expect(rowsScoringAtLeast(r.scores, 3)).toEqual([0, 1, 4, 5]);
    expect(rowsScoringAtLeast(r.scores, 5)).toEqual([0, 5]);
    expect(rowsScoringAtLeast(r.scores, 1)).toEqual([0, 1, 2, 4, 5]); // unscored rows are never kept
  });

  it('reads in chunks with progress; a second pass and a new threshold cost 0 judge calls', async () => {
    const { judge, calls } = scriptedJudge();
    const cache = new Map<string, RowScore>();
    const progress: [number, number][] = [];
    const first = await scoreRows(judge, rows, { cache, chunk: 2, onProgress: (d, n) => progress.push([d, n]) });
    expect(calls).toEqual([2, 2, 1]);
    expect(progress.at(-1)).toEqual([6, 6]);
    expect(progress.map(([d]) => d).every((d, i, a) => i === 0 || d > a[i - 1])).toBe(true);
    expect(cache.size).toBe(5);
    const again = await scoreRows(judge, rows, { cache, chunk: 2 });
    expect(calls).toEqual([2, 2, 1]); // no new call
    expect([again.read, again.cached]).toEqual([0, 6]);
    expect(again.scores).toEqual(first.scores);
    expect(rowsScoringAtLeast(again.scores, 4)).toEqual([0, 5]);
    // one new row: only it is read
    await scoreRows(judge, [...rows, { prompt: 'Say bye.', response: 'bye, fine' }], { cache });
    expect(calls).toEqual([2, 2, 1, 1]);
  });

  it('keys the cache by judge: another judge reads every row again', async () => {
    const cache = new Map<string, RowScore>();
    await scoreRows(scriptedJudge('judge-a').judge, rows, { cache });
    const b = scriptedJudge('judge-b');
    await scoreRows(b.judge, rows, { cache });
    expect(b.calls).toEqual([5]);
    expect(scoreKey('judge-a', rows[0])).not.toBe(scoreKey('judge-b', rows[0]));
  });

  it('stops between calls; the rows read before Stop stay in the cache', async () => {
    const { judge, calls } = scriptedJudge();
    const cache = new Map<string, RowScore>();
    const ctrl = new AbortController();
    const run = scoreRows(judge, rows, { cache, chunk: 2, signal: ctrl.signal, onProgress: () => ctrl.abort() });
    await expect(run).rejects.toThrow(/scoring stopped/);
    expect(calls).toEqual([2]);
    expect(cache.size).toBe(2);
  });

  it('says so when a judge returns the wrong number of readings', async () => {
    const judge: QualityJudge = { id: 'short', read: async () => [] };
    await expect(scoreRows(judge, rows)).rejects.toThrow('the judge read 0 scores for 5 rows');
  });

  it('countScores of nothing', () => {
    expect(countScores([])).toEqual({ scored: 0, unscored: 0, histogram: [0, 0, 0, 0, 0] });
  });
});

describe('the rubric', () => {
  it('states the criteria and ends with the answer format', () => {
    const p = qualityPrompt('Name a fruit.', 'An apple.');
    expect(p.user).toMatch(/helpfulness, accuracy and relevance, from 1 \(poor\) to 5 \(excellent\)/);
    expect(p.user).toContain('[Instruction]\nName a fruit.\n[End of Instruction]');
    expect(p.user.endsWith('Reply with "Score: " and one digit from 1 to 5.')).toBe(true);
  });

  it("SmolLM2-135M-Instruct's tokenizer: the space is its own token, so the turn begins \"Score: \" and the digits are single tokens", async () => {
    const tok = new TextTokenizer((await loadModelPath(smolGguf())).tokenizer);
    const t = scoreTokens(tok)!;
    expect(t.prefix).toBe('Score: ');
    expect(t.ids.map((id) => tok.decode([id]))).toEqual(['1', '2', '3', '4', '5']);
    expect(replyText(reading([['4', 0.25]]))).toBe('"4" 25%');
  });
});
