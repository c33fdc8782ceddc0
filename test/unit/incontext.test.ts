/**
 * The in-context baseline's prompt (src/engine/incontext.ts) with
 * stories260K's real tokenizer: the text is the template's rendering of the
 * exchanges, the ids are the training rows' own ids then the query's
 * generation prompt, and examples are dropped from the end exactly where the
 * context stops holding them.
 */
import { describe, expect, test } from 'vitest';
import { createTemplate } from '../../src/engine/data/templates';
import { IGNORE_INDEX, promptIds, tokenizeSample } from '../../src/engine/data/tokenize';
import { inContextNote, inContextPrompt, inContextScoredRow, renderInContext } from '../../src/engine/incontext';
import { baselineScored, CSV_HEADER, inContextRow, runsCsv } from '../../src/ui/lib/runs';
import type { JudgeReport, Vote } from '../../src/worker/protocol';
import { CHATML_JINJA, conv, storiesTokenizer } from './data/helpers';

const tok = storiesTokenizer(CHATML_JINJA);


const examples = [
  conv('Write a story about a cat.', 'Once upon a time, there was a cat named Tom.'),
  conv('Write a story about a dog.', 'Once upon a time, a dog found a ball.', { input: 'Use the word "ball".' }),
  conv('Tell a story about the sun.', 'The sun was happy and warm.'),
];
const query = { instruction: 'Write a story about a girl named Amy.' };

describe('rendering', () => {
  test('plain: each example as its training row (BOS … EOS), then the query as a bare generation prompt', () => {
    const t = createTemplate('plain', tok);
    const r = renderInContext(tok, t, examples, query);
    expect(r.text).toBe(
      'Instruction: Write a story about a cat.\nResponse: Once upon a time, there was a cat named Tom.</s>' +
        'Instruction: Write a story about a dog.\nInput: Use the word "ball".\nResponse: Once upon a time, a dog found a ball.</s>' +
        'Instruction: Tell a story about the sun.\nResponse: The sun was happy and warm.</s>' +
        'Instruction: Write a story about a girl named Amy.\nResponse:',
    );
    const rows = examples.map((e) => tokenizeSample(tok, e, t, 512).ids);
    const q = promptIds(tok, t.generationPrompt(query));
    expect(r.ids).toEqual([...rows.flat(), ...q]);
    expect(r.queryTokens).toBe(q.length);
    expect(rows.every((ids) => ids[0] === tok.bosId && ids.at(-1) === tok.eosIds[0])).toBe(true);
  });

  test('alpaca: the same, in the Alpaca prompt', () => {
    const t = createTemplate('alpaca', tok);
    const r = renderInContext(tok, t, examples.slice(0, 1), query);
    expect(r.text).toBe(t.generationPrompt({ instruction: 'Write a story about a cat.' }) + 'Once upon a time, there was a cat named Tom.</s>' + t.generationPrompt(query));
  });

  test('chatml: one multi-turn conversation ending in the assistant prompt', () => {
    const t = createTemplate('chatml', tok);
    const r = renderInContext(tok, t, examples.slice(0, 2), query);
    expect(r.text).toBe(
      '<|im_start|>user\nWrite a story about a cat.<|im_end|>\n<|im_start|>assistant\nOnce upon a time, there was a cat named Tom.<|im_end|>\n' +
        '<|im_start|>user\nWrite a story about a dog.\n\nUse the word "ball".<|im_end|>\n<|im_start|>assistant\nOnce upon a time, a dog found a ball.<|im_end|>\n' +
        '<|im_start|>user\nWrite a story about a girl named Amy.<|im_end|>\n<|im_start|>assistant\n',
    );
    // with no examples it is exactly the bare generation prompt, ids included
    const none = renderInContext(tok, t, [], query);
    expect(none.text).toBe(t.generationPrompt(query));
    expect(none.ids).toEqual(promptIds(tok, t.generationPrompt(query)));
  });

  test("model: the tokenizer's chat template renders the whole conversation with add_generation_prompt", () => {
    const t = createTemplate('model', tok);
    const r = renderInContext(tok, t, examples.slice(0, 2), query);
    // CHATML_JINJA writes what chatml does
    expect(r.text).toBe(renderInContext(tok, createTemplate('chatml', tok), examples.slice(0, 2), query).text);
  });
});

describe('the context budget', () => {
  const t = createTemplate('plain', tok);
  // the same example 40 times: each is one training row of n tokens
  const many = Array.from({ length: 40 }, (_, i) => conv(`Write story number ${i + 1}.`, 'Once upon a time, there was a little girl who liked to play.'));
  const rowTokens = many.map((e) => tokenizeSample(tok, e, t, 512).ids.length);
  const q = promptIds(tok, t.generationPrompt(query)).length;

  test('all examples kept when they fit, with the prefix counted', () => {
    const p = inContextPrompt(tok, t, many.slice(0, 3), query, { context: 512, maxNewTokens: 64 });
    expect(p).toMatchObject({ used: 3, dropped: 0, fits: true, queryTokens: q, budget: 512 - 64 - q });
    expect(p.prefixTokens).toBe(rowTokens[0] + rowTokens[1] + rowTokens[2]);
    expect(p.ids.length).toBe(p.prefixTokens + q);
    expect(inContextNote(p, { context: 512, maxNewTokens: 64 })).toBeNull();
  });

  test('cut at the largest k whose prefix fits, dropping from the end, and says so', () => {
    const o = { context: 512, maxNewTokens: 64 };
    const budget = 512 - 64 - q;
    let k = 0;
    let sum = 0;
    while (k < many.length && sum + rowTokens[k] <= budget) sum += rowTokens[k++];
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(40);
    const p = inContextPrompt(tok, t, many, query, o);
    console.log(`stories260K plain: ${rowTokens[0]} tokens a row, query ${q}, budget ${budget} → k = ${p.used} of 40, prefix ${p.prefixTokens}`);
    expect(p.used).toBe(k);
    expect(p.dropped).toBe(40 - k);
    expect(p.prefixTokens).toBe(sum);
    expect(p.prefixTokens).toBeLessThanOrEqual(p.budget);
    expect(p.ids.length + o.maxNewTokens).toBeLessThanOrEqual(o.context);
    // one more example would not have fit
    expect(sum + rowTokens[k] + q + o.maxNewTokens).toBeGreaterThan(o.context);
    // the kept ones are the first ones given
    expect(p.text.startsWith('Instruction: Write story number 1.\n')).toBe(true);
    expect(p.text).toContain(`Write story number ${k}.`);
    expect(p.text).not.toContain(`Write story number ${k + 1}.`);
    expect(inContextNote(p, o)).toBe(`Only ${k} of 40 examples fit the 512-token context beside this ${q}-token prompt and 64 new tokens: the last ${40 - k} were dropped (prefix ${sum} of ${budget} tokens).`);
  });

  test('chat: the cut is where the whole conversation stops fitting', () => {
    const c = createTemplate('chatml', tok);
    const o = { context: 256, maxNewTokens: 32 };
    const p = inContextPrompt(tok, c, many, query, o);
    expect(p.fits).toBe(true);
    expect(p.used).toBeGreaterThan(0);
    expect(p.ids.length + o.maxNewTokens).toBeLessThanOrEqual(o.context);
    expect(renderInContext(tok, c, many.slice(0, p.used + 1), query).ids.length + o.maxNewTokens).toBeGreaterThan(o.context);
  });

  test('even no examples do not fit: says so, with the query alone', () => {
    const o = { context: q + 10, maxNewTokens: 11 };
    const p = inContextPrompt(tok, t, many, query, o);
    expect(p).toMatchObject({ used: 0, dropped: 40, fits: false, prefixTokens: 0, budget: -1 });
    expect(p.ids).toEqual(promptIds(tok, t.generationPrompt(query)));
    expect(inContextNote(p, o)).toMatch(/leave no room in the \d+-token context: answered with no examples/);
  });
});

describe("the runs table's in-context row", () => {
  const judged = (a: JudgeReport['a'], b: JudgeReport['b'], bWins: number, aWins: number): JudgeReport => ({ a, b, pairs: [], bWins, aWins, ties: 1, unparsed: 0, unparsedReplies: 0, rate: null });
  test('votes and judge verdicts against base only, from the baseline side, in the CSV too', () => {
    const votes: Vote[] = [
      { a: 'base', b: 'incontext', winner: 'b', at: 1 },
      { a: 'incontext', b: 'base', winner: 'a', at: 2 },
      { a: 'incontext', b: 'base', winner: 'b', at: 3 },
      { a: 'base', b: 'incontext', winner: 'tie', at: 4 },
      { a: 'incontext', b: 1, winner: 'a', at: 5 }, // against a run: not in the vs-base rate
      { a: 'base', b: 1, winner: 'b', at: 6 },
    ];
    const row = inContextRow('In-context (base + 2 examples)', votes, [judged('incontext', 'base', 1, 3), judged({ run: 1 }, 'base', 5, 0)], { loss: 1.5, perplexity: 4.5, rows: 8, examples: 1 });
    expect(row.votes).toEqual({ wins: 2, losses: 1, ties: 1 });
    expect(row.winRate?.p).toBeCloseTo(2 / 3);
    expect(row.judge).toMatchObject({ wins: 3, losses: 1, ties: 1 });
    expect(row.judge?.rate?.p).toBeCloseTo(3 / 4);
    expect(baselineScored(row)).toBe(true);
    expect(baselineScored(inContextRow('x', [], []))).toBe(false);
    const lines = runsCsv([], row).trim().split('\r\n');
    expect(lines).toHaveLength(2);
    const cells = Object.fromEntries(CSV_HEADER.map((h, i) => [h, lines[1].split(',')[i]]));
    expect(cells).toMatchObject({ run: 'incontext', name: 'In-context (base + 2 examples)', votes_won: '2', votes_lost: '1', votes_tied: '1', judge_wins_vs_base: '3', judge_losses_vs_base: '1', heldout_loss: '1.50000', heldout_perplexity: '4.50000', steps: '' });
  });
});

describe('a held-out row scored after the examples', () => {
  const row = conv('Write a story about a frog.', 'The frog jumped into the pond.');
  test('plain: the examples masked, the row trained as training tokenized it', () => {
    const t = createTemplate('plain', tok);
    const r = inContextScoredRow(tok, t, examples, row, 512);
    const rows = examples.map((e) => tokenizeSample(tok, e, t, 512).ids);
    const own = tokenizeSample(tok, row, t, 512);
    expect(r.used).toBe(3);
    expect(r.ids).toEqual([...rows.flat(), ...own.ids]);
    expect(r.labels).toEqual([...rows.flat().map(() => IGNORE_INDEX), ...own.labels]);
  });
  test('the cut keeps the first examples that fit beside the row', () => {
    const t = createTemplate('plain', tok);
    const rows = examples.map((e) => tokenizeSample(tok, e, t, 512).ids.length);
    const own = tokenizeSample(tok, row, t, 512).ids.length;
    const r = inContextScoredRow(tok, t, examples, row, own + rows[0] + rows[1] - 1);
    expect(r.used).toBe(1);
    expect(r.ids.length).toBe(own + rows[0]);
    expect(inContextScoredRow(tok, t, examples, row, own - 1)).toMatchObject({ used: 0 }); // the row alone is cut, as maxLength cuts it
  });
  test('chatml: one conversation, only the row reply trained', () => {
    const t = createTemplate('chatml', tok);
    const r = inContextScoredRow(tok, t, examples.slice(0, 2), row, 512);
    const trained = r.ids.filter((_, i) => r.labels[i] !== IGNORE_INDEX);
    expect(tok.decode(trained, false)).toBe('The frog jumped into the pond.<|im_end|></s>');
    expect(tok.decode(r.ids, false)).toContain('Once upon a time, a dog found a ball.<|im_end|>\n<|im_start|>user\nWrite a story about a frog.');
  });
});
