import { describe, expect, test } from 'vitest';
import { detectFormat, FORMAT_IDS, FORMAT_LABELS, mapRow, mapRows, type FormatId } from '../../../src/engine/data/formats';

const one = (instruction: string, response: string, input?: string) => ({
  kind: 'conversation',
  turns: [
    { role: 'user', content: instruction },
    { role: 'assistant', content: response },
  ],
  ...(input ? { input } : {}),
});

describe('detectFormat', () => {
  const cases: [FormatId, Record<string, unknown>][] = [
    ['alpaca', { instruction: 'i', input: '', output: 'o' }],
    ['instruction-response', { instruction: 'i', response: 'r' }],
    ['prompt-completion', { prompt: 'p', completion: 'c' }],
    ['prompt-response', { prompt: 'p', response: 'r' }],
    ['question-answer', { question: 'q', answer: 'a' }],
    ['openai-messages', { messages: [{ role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }],
    ['conversational-prompt-completion', { prompt: [{ role: 'user', content: 'u' }], completion: [{ role: 'assistant', content: 'a' }] }],
    ['sharegpt', { conversations: [{ from: 'human', value: 'u' }, { from: 'gpt', value: 'a' }] }],
    ['lima', { conversations: ['u', 'a'] }],
    ['text', { text: 't' }],
  ];
  test.each(cases)('%s', (format, row) => {
    const d = detectFormat([row, row]);
    expect(d.format).toBe(format);
    expect(d.matched).toBe(2);
  });

  test('majority wins and the minority is warned about; fields are overridable defaults', () => {
    const rows = [{ instruction: 'a', output: 'b' }, { instruction: 'a', output: 'b' }, { prompt: 'x', completion: 'y' }];
    const d = detectFormat(rows);
    expect(d.format).toBe('alpaca');
    expect(d.fields).toEqual({ instruction: 'instruction', input: 'input', response: 'output' });
    expect(d.warnings[0]).toMatch(/1 of the first 3 rows/);
  });

  test('a system field on single-turn rows is mapped, also when it first appears after the rows voted on', () => {
    expect(detectFormat([{ instruction: 'a', response: 'b', system: 's' }]).fields.system).toBe('system');
    const late = [...Array.from({ length: 150 }, () => ({ instruction: 'a', response: 'b' })), { instruction: 'a', response: 'b', system: 's' }];
    expect(detectFormat(late).fields.system).toBe('system');
    expect(detectFormat(late.slice(0, 150)).fields.system).toBeUndefined();
  });

  test('an evaluation prompt set (MT-Bench shape) is not a training format', () => {
    const d = detectFormat([{ question_id: 81, category: 'writing', turns: ['a', 'b'] }]);
    expect(d.format).toBeNull();
    expect(d.warnings[0]).toMatch(/no responses.*evaluation prompt set/);
  });

  test("TRL's conversational prompt-completion gets its own fields; a prompt without completion is no training data", () => {
    const row = { prompt: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }], completion: [{ role: 'assistant', content: 'a' }] };
    expect(detectFormat([row])).toMatchObject({ format: 'conversational-prompt-completion', fields: { prompt: 'prompt', completion: 'completion' }, warnings: [] });
    // string prompt and completion stay the legacy single-turn format
    expect(detectFormat([{ prompt: 'p', completion: 'c' }]).format).toBe('prompt-completion');
    const promptOnly = detectFormat([{ prompt: [{ role: 'user', content: 'u' }] }]);
    expect(promptOnly.format).toBeNull();
    expect(promptOnly.warnings[0]).toMatch(/no responses/);
  });

  test('every format has a label for the report and is in FORMAT_IDS', () => {
    expect(new Set(FORMAT_IDS).size).toBe(FORMAT_IDS.length);
    expect(Object.keys(FORMAT_LABELS).sort()).toEqual([...FORMAT_IDS].sort());
    expect(FORMAT_LABELS['conversational-prompt-completion']).toMatch(/TRL conversational prompt–completion/);
  });

  test('plain text is detected with a warning about full-sequence loss', () => {
    expect(detectFormat([{ text: 'x' }]).warnings.join()).toMatch(/every token/);
  });
});

describe('mapRow', () => {
  test('single-turn formats map to one user/assistant exchange, content untouched', () => {
    expect(mapRow({ instruction: 'Do <b>X</b> &amp;', input: '', output: ' y\n' }, { format: 'alpaca', fields: {} })).toEqual(
      one('Do <b>X</b> &amp;', ' y\n'),
    );
    expect(mapRow({ instruction: 'I', input: 'ctx', output: 'O' }, { format: 'alpaca', fields: {} })).toEqual(one('I', 'O', 'ctx'));
    expect(mapRow({ prompt: 'P', completion: 'C' }, { format: 'prompt-completion', fields: {} })).toEqual(one('P', 'C'));
    expect(mapRow({ prompt: 'P', response: 'R' }, { format: 'prompt-response', fields: {} })).toEqual(one('P', 'R'));
    expect(mapRow({ instruction: 'I', response: 'R' }, { format: 'instruction-response', fields: {} })).toEqual(one('I', 'R'));
    expect(mapRow({ question: 'Q', answer: 'A' }, { format: 'question-answer', fields: {} })).toEqual(one('Q', 'A'));
    expect(mapRow({ q: 'Q', a: 'A', sys: 'S' }, { format: 'question-answer', fields: { instruction: 'q', response: 'a', system: 'sys' } })).toEqual({
      ...one('Q', 'A'),
      system: 'S',
    });
  });

  test('alpaca input: absent or null reads as empty', () => {
    expect(mapRow({ instruction: 'I', output: 'O' }, { format: 'alpaca', fields: {} })).toEqual(one('I', 'O'));
    expect(mapRow({ instruction: 'I', input: null, output: 'O' }, { format: 'alpaca', fields: {} })).toEqual(one('I', 'O'));
  });

  test('openai messages: system + multi-turn; text content parts are joined', () => {
    const row = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'He' }, { type: 'text', text: 'llo' }] },
        { role: 'user', content: 'Again' },
        { role: 'assistant', content: 'Hello again' },
      ],
    };
    expect(mapRow(row, { format: 'openai-messages', fields: {} })).toEqual({
      kind: 'conversation',
      system: 'Be brief.',
      turns: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'Again' },
        { role: 'assistant', content: 'Hello again' },
      ],
    });
  });

  test('TRL conversational prompt-completion: a system message first in the prompt; history in the prompt is context, not trained', () => {
    const spec = { format: 'conversational-prompt-completion' as const, fields: {} };
    expect(
      mapRow({ prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Q' }], completion: [{ role: 'assistant', content: 'A' }] }, spec),
    ).toEqual({ ...one('Q', 'A'), system: 'Be brief.' });
    const history = {
      prompt: [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: [{ type: 'text', text: 'Q2' }] },
      ],
      completion: [{ role: 'assistant', content: 'A2' }],
    };
    expect(mapRow(history, spec)).toEqual({
      kind: 'conversation',
      turns: [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A1', train: false },
        { role: 'user', content: 'Q2' },
        { role: 'assistant', content: 'A2' },
      ],
    });
  });

  test('sharegpt from/value with human/gpt/system', () => {
    const row = { conversations: [{ from: 'system', value: 'S' }, { from: 'human', value: 'U' }, { from: 'gpt', value: 'A' }] };
    expect(mapRow(row, { format: 'sharegpt', fields: {} })).toEqual({ ...one('U', 'A'), system: 'S' });
  });

  test('lima alternating strings, user first', () => {
    expect(mapRow({ conversations: ['U1', 'A1', 'U2', 'A2'] }, { format: 'lima', fields: {} })).toEqual({
      kind: 'conversation',
      turns: [
        { role: 'user', content: 'U1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: 'U2' },
        { role: 'assistant', content: 'A2' },
      ],
    });
  });

  test('plain text', () => {
    expect(mapRow({ text: '<p>Hi</p>' }, { format: 'text', fields: {} })).toEqual({ kind: 'text', text: '<p>Hi</p>' });
  });
});

describe('row errors carry line and reason', () => {
  const rows = (values: Record<string, unknown>[]) => values.map((value, i) => ({ line: i + 1, value }));
  test('single-turn', () => {
    const r = mapRows(
      rows([
        { instruction: 'ok', output: 'ok' },
        { instruction: 'no output' },
        { instruction: '  ', output: 'x' },
        { instruction: 'x', output: 42 },
        { instruction: 'x', input: ['a'], output: 'y' },
        { instruction: null, output: 'y' },
      ]),
      { format: 'alpaca', fields: {} },
    );
    expect(r.samples.map((s) => s.line)).toEqual([1]);
    expect(r.errors).toEqual([
      { line: 2, reason: 'missing field "output"' },
      { line: 3, reason: 'field "instruction" is empty' },
      { line: 4, reason: 'field "output" is a number, expected a string' },
      { line: 5, reason: 'field "input" is an array, expected a string' },
      { line: 6, reason: 'field "instruction" is null, expected a string' },
    ]);
  });

  test('conversations', () => {
    const m = (...msgs: [string, unknown][]) => ({ messages: msgs.map(([role, content]) => ({ role, content })) });
    const r = mapRows(
      rows([
        m(['user', 'u']),
        m(['user', 'u'], ['assistant', 'a'], ['user', 'u2']),
        m(['assistant', 'a']),
        m(['user', 'u'], ['user', 'u'], ['assistant', 'a']),
        m(['user', 'u'], ['tool', '{}'], ['assistant', 'a']),
        m(['user', 'u'], ['assistant', '']),
        m(['user', 'u'], ['assistant', 5]),
        { messages: [] },
        { messages: 'hi' },
        m(['user', 'u'], ['assistant', 'a'], ['system', 's'], ['user', 'u'], ['assistant', 'a']),
      ]),
      { format: 'openai-messages', fields: {} },
    );
    expect(r.samples).toEqual([]);
    expect(r.errors).toEqual([
      { line: 1, reason: 'conversation does not end with an assistant turn' },
      { line: 2, reason: 'conversation does not end with an assistant turn' },
      { line: 3, reason: 'conversation starts with an assistant turn, not a user turn' },
      { line: 4, reason: 'message 2: two user turns in a row' },
      { line: 5, reason: 'message 2 has unsupported role "tool"' },
      { line: 6, reason: 'message 2 (assistant) is empty' },
      { line: 7, reason: 'message 2 content is a number, expected a string' },
      { line: 8, reason: 'field "messages" is empty' },
      { line: 9, reason: 'field "messages" is a string, expected a list' },
      { line: 10, reason: 'message 3 is a system message after the first message' },
    ]);
  });

  test('TRL conversational prompt-completion', () => {
    const u = { role: 'user', content: 'u' };
    const a = { role: 'assistant', content: 'a' };
    const r = mapRows(
      rows([
        { prompt: [u], completion: [a] },
        { prompt: [u], completion: [{ role: 'user', content: 'x' }] },
        { prompt: [u, a], completion: [a] },
        { prompt: [u], completion: [] },
        { prompt: 'u', completion: [a] },
        { prompt: [u], completion: [a, a] },
        { prompt: [u, 'x'], completion: [a] },
        { prompt: [a], completion: [a] },
      ]),
      { format: 'conversational-prompt-completion', fields: {} },
    );
    expect(r.samples.map((s) => s.line)).toEqual([1]);
    expect(r.errors).toEqual([
      { line: 2, reason: 'completion message 1 has role "user": the completion holds the assistant\'s reply' },
      { line: 3, reason: 'completion message 1: two assistant turns in a row' },
      { line: 4, reason: 'field "completion" is empty' },
      { line: 5, reason: 'field "prompt" is a string, expected a list' },
      { line: 6, reason: 'completion message 2: two assistant turns in a row' },
      { line: 7, reason: 'prompt message 2 is a string, expected an object' },
      { line: 8, reason: 'conversation starts with an assistant turn, not a user turn' },
    ]);
  });

  test('lima with an odd number of turns and sharegpt with a bad speaker', () => {
    expect(mapRows(rows([{ conversations: ['u', 'a', 'u'] }]), { format: 'lima', fields: {} }).errors[0].reason).toBe(
      'conversation does not end with an assistant turn',
    );
    expect(
      mapRows(rows([{ conversations: [{ from: 'robot', value: 'x' }] }]), { format: 'sharegpt', fields: {} }).errors[0].reason,
    ).toBe('message 1 has unsupported role "robot"');
  });
});
