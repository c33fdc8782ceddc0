/** prepareDataset end to end, on inline fixtures and on ../shared/data. */
import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { prepareDataset, rowLabel } from '../../../src/engine/data';
import { IGNORE_INDEX } from '../../../src/engine/data/tokenize';
import { bytes, CHATML_JINJA, chunked, sharedFile, storiesTokenizer } from './helpers';

const tok = storiesTokenizer(CHATML_JINJA);
const EOS = 2;

describe('../shared/data', () => {
  test('tinystories-instruct-1k: instruction/response, 1000 rows, 0 errors, masks end in EOS', async () => {
    const file = fs.readFileSync(sharedFile('data/tinystories-instruct-1k.jsonl'));
    const d = await prepareDataset(chunked(new Uint8Array(file), 64 * 1024), { tokenizer: tok, template: 'plain', maxLength: 512 });
    expect(d.format).toBe('instruction-response');
    expect(d.errors).toEqual([]);
    expect(d.samples).toHaveLength(1000);
    expect(d.stats.rowsUsable).toBe(1000);
    expect(d.stats.boundaryMerges).toBe(0);
    const first = d.samples[0];
    const row = JSON.parse(file.toString('utf8').split('\n')[0]);
    const trained = first.ids.filter((_, i) => first.labels[i] !== IGNORE_INDEX);
    expect(tok.decode(trained.slice(0, -1))).toBe(row.response);
    expect(trained.at(-1)).toBe(EOS);
    for (const s of d.samples) if (!s.truncated) expect(s.ids.at(-1)).toBe(EOS);
    console.log('tinystories stats', JSON.stringify({ ...d.stats, histogram: undefined }), d.warnings);
  });

  test('alpaca-1k: alpaca format, 1000 rows, all usable at maxLength 512 (truncations reported)', async () => {
    const file = fs.readFileSync(sharedFile('data/alpaca-1k.jsonl'));
    const d = await prepareDataset(new Uint8Array(file), { tokenizer: tok, template: 'alpaca', maxLength: 512 });
    expect(d.format).toBe('alpaca');
    expect(d.fields).toEqual({ instruction: 'instruction', input: 'input', response: 'output' });
    expect(d.errors).toEqual([]);
    expect(d.samples).toHaveLength(1000);
    expect(d.stats.truncated).toBe(d.samples.filter((s) => s.truncated).length);
    if (d.stats.truncated > 0) expect(d.warnings.join('\n')).toMatch(/rows truncated at maxLength 512/);
    console.log('alpaca stats', JSON.stringify({ ...d.stats, histogram: undefined }), d.warnings);
  });

  test('alpaca-1k as one JSON array (the layout of alpaca_data.json): rows are named by their place in the array, not "line 1"', async () => {
    const text = fs.readFileSync(sharedFile('data/alpaca-1k.jsonl'), 'utf8');
    const rows = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    // rows 1001 and 1002 repeat rows 1 and 17; row 1003 is no object
    const array = JSON.stringify([...rows, rows[0], rows[16], 42]);
    const opts = { tokenizer: tok, template: 'alpaca' as const, maxLength: 512 };
    const arr = await prepareDataset(array, opts);
    const jsonl = await prepareDataset(text + [rows[0], rows[16], 42].map((r) => JSON.stringify(r)).join('\n'), opts);
    expect(arr.container).toBe('json-array');
    expect(arr.samples.every((s) => s.line === 1)).toBe(true); // one line: the line says nothing
    // the array's row numbers are the JSONL file's line numbers (it has no blank lines)
    expect(arr.samples.map((s) => s.index! + 1)).toEqual(jsonl.samples.map((s) => s.line));
    const cutArr = arr.samples.filter((s) => s.truncated).map((s) => s.index! + 1);
    expect(cutArr.length).toBeGreaterThan(10);
    expect(cutArr).toEqual(jsonl.samples.filter((s) => s.truncated).map((s) => s.line));
    const truncated = arr.warnings.find((w) => w.includes('truncated'))!;
    expect(truncated).toBe(
      `${cutArr.length} rows truncated at maxLength 512 (rows ${cutArr.slice(0, 10).join(', ')}, … (${cutArr.length - 10} more) of the array); their replies lose the end and the EOS`,
    );
    expect(jsonl.warnings.find((w) => w.includes('truncated'))).toBe(truncated.replace(/\(rows (.*) of the array\)/, '(lines $1)'));
    expect(arr.warnings.join('\n')).toMatch(/2 rows repeat an earlier row exactly \(rows 1001, 1002 of the array\); they are kept/);
    expect(jsonl.warnings.join('\n')).toMatch(/2 rows repeat an earlier row exactly \(lines 1001, 1002\); they are kept/);
    expect(arr.errors).toEqual([{ line: 1, index: 1002, reason: 'not a JSON object (got a number)' }]);
    expect(rowLabel(arr.errors[0])).toBe('row 1003 of the array');
    expect(jsonl.errors.map((e) => rowLabel(e))).toEqual(['line 1003']);
    expect(arr.warnings.join('\n')).not.toMatch(/\bline/);
  });

  test('mt_bench_questions: reported as an evaluation prompt set, not training data; every row accounted for', async () => {
    const d = await prepareDataset(new Uint8Array(fs.readFileSync(sharedFile('data/mt_bench_questions.jsonl'))), {
      tokenizer: tok,
      template: 'plain',
      maxLength: 512,
    });
    expect(d.format).toBeNull();
    expect(d.samples).toEqual([]);
    expect(d.errors).toHaveLength(80);
    expect(d.errors[0]).toEqual({ line: 1, reason: 'row is not in a known training format' });
    expect(d.warnings[0]).toMatch(/evaluation prompt set/);
    expect(d.stats.rowsRejected).toBe(80);
  });
});

describe('inline fixtures', () => {
  test('a JSON-array file of OpenAI messages with chatml', async () => {
    const rows = [
      { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] },
      { messages: [{ role: 'user', content: 'Hi' }] },
      { messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] },
    ];
    const d = await prepareDataset(JSON.stringify(rows, null, 2), { tokenizer: tok, template: 'chatml', maxLength: 512 });
    expect(d.container).toBe('json-array');
    expect(d.format).toBe('openai-messages');
    expect(d.samples.map((s) => s.index)).toEqual([0, 2]);
    // pretty-printed: element 1's `{` is on line 14
    expect(d.errors).toEqual([{ line: 14, index: 1, reason: 'conversation does not end with an assistant turn' }]);
  });

  test('bad rows of every kind are reported by line, good ones kept', async () => {
    const lines = [
      '\uFEFF{"instruction":"Say hi","output":"Hi"}', // 1 (BOM)
      '', // 2 blank
      '{"instruction":"Say hi","output":', // 3 invalid JSON
      '{"instruction":"No output"}', // 4 missing
      '{"instruction":"x","output":"   "}', // 5 empty
      '{"instruction":"x","output":7}', // 6 wrong type
      '[1]', // 7 not an object
      '{"instruction":"Say hi","output":"Hi"}', // 8 duplicate of 1
      '{"instruction":"<b>bold</b> &lt;tag&gt;","input":"<i>x</i>","output":"<p>ok</p>"}', // 9 HTML
    ];
    const body = bytes(lines.join('\r\n') + '\r\n');
    const badUtf8 = new Uint8Array([...bytes('{"instruction":"'), 0xc0, 0xaf, ...bytes('","output":"y"}\r\n')]); // 10
    const d = await prepareDataset(new Uint8Array([...body, ...badUtf8]), { tokenizer: tok, template: 'plain', maxLength: 512 });
    expect(d.format).toBe('alpaca');
    expect(d.samples.map((s) => s.line)).toEqual([1, 8, 9]);
    expect(d.errors.map((e) => [e.line, e.reason.replace(/: .*/, '')])).toEqual([
      [3, 'invalid JSON'],
      [4, 'missing field "output"'],
      [5, 'field "output" is empty'],
      [6, 'field "output" is a number, expected a string'],
      [7, 'not a JSON object (got an array)'],
      [10, 'invalid UTF-8 bytes'],
    ]);
    expect(d.stats).toMatchObject({ rowsUsable: 3, rowsRejected: 6, duplicates: 1 });
    expect(d.warnings.join('\n')).toMatch(/1 row repeats an earlier row exactly \(line 8\); it is kept/);
    // HTML passes through untouched
    const html = d.samples[2];
    expect(tok.decode(html.ids)).toBe('Instruction: <b>bold</b> &lt;tag&gt;\nInput: <i>x</i>\nResponse: <p>ok</p>');
  });

  test('multi-turn rows under a single-turn template: rejected per row with a hint; chatml trains them', async () => {
    const text = ['{"conversations":["q1","a1","q2","a2"]}', '{"conversations":["q","a"]}'].join('\n');
    const plain = await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: 512 });
    expect(plain.format).toBe('lima');
    expect(plain.samples.map((s) => s.line)).toEqual([2]);
    expect(plain.errors[0].line).toBe(1);
    expect(plain.warnings.join()).toMatch(/choose chatml or model/);
    const chat = await prepareDataset(text, { tokenizer: tok, template: 'model', maxLength: 512 });
    expect(chat.errors).toEqual([]);
    expect(chat.samples).toHaveLength(2);
  });

  test("TRL conversational prompt-completion rows: accepted (no longer 'field prompt is an array'), only the completion trained", async () => {
    const rows = [
      { prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What color is the sky?' }], completion: [{ role: 'assistant', content: 'It is blue.' }] },
      { prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Hello.' }] },
    ];
    const text = rows.map((r) => JSON.stringify(r)).join('\n');
    const plain = await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: 512 });
    expect(plain.format).toBe('conversational-prompt-completion');
    expect(plain.errors).toEqual([]);
    expect(plain.warnings).toEqual([]);
    expect(tok.decode(plain.samples[0].ids)).toBe('Be brief.\nInstruction: What color is the sky?\nResponse: It is blue.');
    const trained = (s: { ids: number[]; labels: number[] }) => tok.decode(s.ids.filter((_, i) => s.labels[i] !== IGNORE_INDEX));
    expect(trained(plain.samples[0])).toBe('It is blue.');
    // with history in the prompt (chatml): the earlier reply is context
    const history = { prompt: [{ role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }], completion: [{ role: 'assistant', content: 'A2' }] };
    const chat = await prepareDataset(JSON.stringify([history]), { tokenizer: tok, template: 'chatml', maxLength: 512 });
    expect(chat.errors).toEqual([]);
    expect(tok.decode(chat.samples[0].ids.filter((_, i) => chat.samples[0].labels[i] !== IGNORE_INDEX), false)).toBe('A2<|im_end|></s>');
  });

  test('system messages of OpenAI/ShareGPT rows under plain and alpaca: written into the (masked) prompt, counted in the stats', async () => {
    const text = [
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name a color.' }, { role: 'assistant', content: 'Blue.' }] },
      { conversations: [{ from: 'system', value: 'Be brief.' }, { from: 'human', value: 'Name a color.' }, { from: 'gpt', value: 'Blue.' }] },
      { messages: [{ role: 'user', content: 'Name a fruit.' }, { role: 'assistant', content: 'Pear.' }] },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    // the file mixes two formats on purpose: the majority (openai-messages) is read, the ShareGPT row is rejected
    const expected = { plain: 'Be brief.\nInstruction: Name a color.\nResponse:', alpaca: 'Be brief.\n\n### Instruction:\nName a color.\n\n### Response:\n' };
    for (const template of ['plain', 'alpaca'] as const) {
      const d = await prepareDataset(text, { tokenizer: tok, template, maxLength: 512 });
      expect(d.samples).toHaveLength(2);
      const s = d.samples[0];
      const prompt = s.ids.slice(0, s.labels.findIndex((l) => l !== IGNORE_INDEX));
      expect(tok.decode(prompt)).toBe(expected[template]);
      expect(d.stats).toMatchObject({ systemMessages: 1, systemLeftOut: 0 });
      expect(d.warnings.join()).not.toMatch(/system/);
      const sharegpt = await prepareDataset(text.split('\n')[1], { tokenizer: tok, template, maxLength: 512 });
      expect(tok.decode(sharegpt.samples[0].ids)).toContain('Be brief.');
      expect(sharegpt.stats.systemMessages).toBe(1);
    }
  });

  test("a model chat template with no place for the system message: the rows are counted and named; one that refuses them rejects those rows", async () => {
    const rows = [
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] },
      { messages: [{ role: 'user', content: 'Q2' }, { role: 'assistant', content: 'A2' }] },
      { messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Q3' }, { role: 'assistant', content: 'A3' }] },
    ];
    const text = rows.map((r) => JSON.stringify(r)).join('\n');
    const skipsSystem = storiesTokenizer(
      "{% for message in messages %}{% if message['role'] != 'system' %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endif %}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    );
    const d = await prepareDataset(text, { tokenizer: skipsSystem, template: 'model', maxLength: 512 });
    expect(d.samples).toHaveLength(3);
    expect(d.stats).toMatchObject({ systemMessages: 2, systemLeftOut: 2 });
    expect(d.warnings).toContain(
      "2 rows have a system message that the model's chat template does not write into the prompt (lines 1, 3); they are trained without it: choose chatml to keep it",
    );
    // chatml keeps them
    const chat = await prepareDataset(text, { tokenizer: skipsSystem, template: 'chatml', maxLength: 512 });
    expect(chat.stats).toMatchObject({ systemMessages: 2, systemLeftOut: 0 });
    // a template that raises (Gemma-style "System role not supported") rejects those rows, not the file
    const refuses = storiesTokenizer(
      "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
        "{% for message in messages %}{{ message['content'] + '\\n' }}{% endfor %}",
    );
    const r = await prepareDataset(JSON.stringify(rows), { tokenizer: refuses, template: 'model', maxLength: 512 });
    expect(r.samples.map((s) => s.index)).toEqual([1]);
    expect(r.errors).toEqual([
      { line: 1, index: 0, reason: "the model's chat template refused the row: System role not supported" },
      { line: 1, index: 2, reason: "the model's chat template refused the row: System role not supported" },
    ]);
  });

  test('an empty file says it is empty, not "no known training format"', async () => {
    const opts = { tokenizer: tok, template: 'plain' as const, maxLength: 64 };
    const cases: [string | Uint8Array, string][] = [
      [new Uint8Array(0), 'the file is empty (0 bytes): there are no rows to train on'],
      ['  \r\n\n\t\n', 'the file is empty: its 7 bytes are only whitespace and blank lines'],
      ['\uFEFF\n', 'the file is empty: its 4 bytes are only whitespace and blank lines'],
      ['[]', 'the file is an empty JSON array ([]): there are no rows to train on'],
    ];
    for (const [input, warning] of cases) {
      const d = await prepareDataset(input, opts);
      expect(d.warnings).toEqual([warning]);
      expect(d).toMatchObject({ format: null, errors: [], samples: [], stats: { rowsUsable: 0, rowsRejected: 0 } });
    }
    // a chosen format does not hide it either
    const forced = await prepareDataset('', { ...opts, format: 'alpaca' });
    expect(forced.warnings).toEqual(['the file is empty (0 bytes): there are no rows to train on']);
    // a file of blank lines and one bad row is not empty: the row is reported
    const bad = await prepareDataset('\n\n{oops\n', opts);
    expect(bad.warnings.join()).not.toMatch(/empty/);
    expect(bad.errors.map((e) => e.line)).toEqual([3]);
  });

  test('format and field overrides', async () => {
    const text = '{"q":"Why?","a":"Because."}\n';
    const auto = await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: 64 });
    expect(auto.format).toBeNull();
    const d = await prepareDataset(text, {
      tokenizer: tok,
      template: 'plain',
      maxLength: 64,
      format: 'question-answer',
      fieldMap: { instruction: 'q', response: 'a' },
    });
    expect(d.errors).toEqual([]);
    expect(tok.decode(d.samples[0].ids)).toBe('Instruction: Why?\nResponse: Because.');
  });

  test('onProgress reports tokenization progress up to the total', async () => {
    const text = Array.from({ length: 5 }, (_, i) => `{"instruction":"i${i}","response":"r"}`).join('\n');
    const calls: [number, number][] = [];
    await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: 64, progressEvery: 2, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).toEqual([[0, 5], [2, 5], [4, 5], [5, 5]]);
  });

  test('plain text rows: warning about full-sequence loss, every token trained', async () => {
    const d = await prepareDataset('{"text":"Once upon a time."}\n', { tokenizer: tok, template: 'plain', maxLength: 64 });
    expect(d.format).toBe('text');
    expect(d.warnings.join()).toMatch(/every token/);
    expect(d.samples[0].responseTokens).toBe(d.samples[0].ids.length - 1);
  });

  test('rows whose prompt fills maxLength are rejected, truncated ones reported', async () => {
    const text = '{"instruction":"Write a very long story about a dog.","response":"Once upon a time there was a dog."}\n';
    const whole = (await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: 512 })).samples[0];
    const promptLen = whole.labels.findIndex((l) => l !== IGNORE_INDEX);
    const d = await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: promptLen });
    expect(d.samples).toEqual([]);
    expect(d.errors[0].reason).toMatch(/leaves no room/);
    const d2 = await prepareDataset(text, { tokenizer: tok, template: 'plain', maxLength: promptLen + 2 });
    expect(d2.samples[0].truncated).toBe(true);
    expect(d2.samples[0].responseTokens).toBe(2);
    expect(d2.stats.truncated).toBe(1);
    expect(d2.warnings.join()).toMatch(new RegExp(`1 row truncated at maxLength ${promptLen + 2} \\(line 1\\); its reply loses`));
  });
});
