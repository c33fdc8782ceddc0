/** Curation rows (prompt/response from each format), the filters, and the embedding's batch plan. */
import { describe, expect, it } from 'vitest';
import { planBatches } from '../../../src/engine/curate/embed';
import { filterRows } from '../../../src/engine/curate/filters';
import { readCurateRows } from '../../../src/engine/curate/rows';

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('curation rows and filters', () => {
  it('reads prompt and response from single-turn and conversation rows, with lines and the original object', async () => {
    const a = await readCurateRows(jsonl([{ instruction: 'Sum', input: '1 2', output: '3' }, { instruction: 'Hi', input: '', output: 'Hello there' }, { nope: 1 }]));
    expect(a.format).toBe('alpaca');
    expect(a.rows.map((r) => [r.line, r.prompt, r.response])).toEqual([[1, 'Sum\n1 2', '3'], [2, 'Hi', 'Hello there']]);
    expect(a.rows[0].value).toEqual({ instruction: 'Sum', input: '1 2', output: '3' });
    expect(a.errors.map((e) => e.line)).toEqual([3]);
    const m = await readCurateRows(
      jsonl([{ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }, { role: 'assistant', content: 'A2' }] }]),
    );
    expect(m.rows[0]).toMatchObject({ prompt: 'Be brief.\nQ1\nQ2', response: 'A1\nA2' });
    const arr = await readCurateRows(JSON.stringify([{ prompt: 'p', completion: 'c' }, { prompt: 'q', completion: 'd' }]));
    expect(arr.rows.map((r) => r.index)).toEqual([0, 1]);
  });

  it('drops by token length, short answers and exact duplicates, saying why', async () => {
    const { rows } = await readCurateRows(
      jsonl([
        { instruction: 'Tell me a long story please', response: 'No.' }, // answer shorter than prompt
        { instruction: 'A', response: 'one two three four' },
        { instruction: 'A', response: 'one two three four' }, // exact duplicate of line 2
        { instruction: 'B', response: 'x' }, // too short (2 tokens)
        { instruction: 'C', response: Array(30).fill('w').join(' ') }, // too long
      ]),
    );
    const tokensOf = (r: { prompt: string; response: string }) => (r.prompt + ' ' + r.response).split(' ').length;
    const f = filterRows(rows, { tokensOf, minTokens: 3, maxTokens: 20, answerShorterThanPrompt: true });
    expect(f.kept).toEqual([1]);
    expect(f.dropped.map((d) => [d.line, d.row, d.reason])).toEqual([
      [1, 0, 'answer shorter than prompt'],
      [3, 2, 'exact duplicate'],
      [4, 3, 'too short'],
      [5, 4, 'too long'],
    ]);
    expect(filterRows(rows, { exactDuplicates: false }).kept).toEqual([0, 1, 2, 3, 4]);
    expect(() => filterRows(rows, { minTokens: 2 })).toThrow(/tokensOf/);
  });

  it('plans embedding batches by length within the token budget, padded to multiples of 8', () => {
    const lengths = [3, 40, 9, 17, 8, 100, 1, 16];
    const plan = planBatches(lengths, 64);
    expect(plan.flatMap((b) => b.rows).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const b of plan) {
      expect(b.T % 8).toBe(0);
      expect(b.rows.every((r) => lengths[r] <= b.T)).toBe(true);
      expect(b.rows.length === 1 || b.rows.length * b.T <= 64).toBe(true);
    }
    expect(plan[0]).toEqual({ rows: [6, 0, 4, 2], T: 16 });
  });
});
