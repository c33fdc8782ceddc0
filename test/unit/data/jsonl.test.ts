import { describe, expect, test } from 'vitest';
import { parseRows, streamJsonl } from '../../../src/engine/data/jsonl';
import { bytes, chunked } from './helpers';

describe('JSONL', () => {
  test('rows keep their 1-based line numbers; blank lines, BOM and CRLF are fine', async () => {
    const text = '\uFEFF{"a":1}\r\n\r\n   \n{"a":2}\r\n{"a":3}';
    const r = await parseRows(text);
    expect(r.container).toBe('jsonl');
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, value: { a: 2 } },
      { line: 5, value: { a: 3 } },
    ]);
  });

  test('every unusable line is reported with its line and reason', async () => {
    const text = ['{"ok":1}', '{"broken": ', '[1,2]', '42', 'null', '"str"', '{"ok":2}'].join('\n') + '\n';
    const r = await parseRows(text);
    expect(r.rows.map((x) => x.line)).toEqual([1, 7]);
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6]);
    expect(r.errors[0].reason).toMatch(/^invalid JSON: /);
    expect(r.errors[0].reason.length).toBeGreaterThan('invalid JSON: '.length); // carries the parser's message
    expect(r.errors[1].reason).toBe('not a JSON object (got an array)');
    expect(r.errors[2].reason).toBe('not a JSON object (got a number)');
    expect(r.errors[3].reason).toBe('not a JSON object (got null)');
    expect(r.errors[4].reason).toBe('not a JSON object (got a string)');
  });

  test('bad UTF-8 costs its own line only', async () => {
    const good1 = bytes('{"t":"café"}\n');
    const bad = new Uint8Array([...bytes('{"t":"'), 0xff, 0xfe, ...bytes('"}\n')]);
    const truncatedSeq = new Uint8Array([...bytes('{"t":"'), 0xe6, 0x97, ...bytes('"}\n')]); // cut 3-byte sequence
    const good2 = bytes('{"t":"日本"}\n');
    const all = new Uint8Array([...good1, ...bad, ...truncatedSeq, ...good2]);
    const r = await parseRows(all);
    expect(r.rows.map((x) => [x.line, x.value.t])).toEqual([
      [1, 'café'],
      [4, '日本'],
    ]);
    expect(r.errors).toEqual([
      { line: 2, reason: 'invalid UTF-8 bytes' },
      { line: 3, reason: 'invalid UTF-8 bytes' },
    ]);
  });

  test('chunk borders anywhere (inside a line, a multi-byte char, the BOM, a CRLF) give the same rows', async () => {
    const text = '\uFEFF{"t":"日本語 é"}\r\n{"t":"<b>x</b>"}\r\n\n{"t":"z"}';
    const whole = await parseRows(text);
    for (const size of [1, 2, 3, 5, 7]) {
      const r = await parseRows(chunked(bytes(text), size));
      expect(r).toEqual(whole);
    }
    expect(whole.rows.map((x) => x.value.t)).toEqual(['日本語 é', '<b>x</b>', 'z']);
  });

  test('streamJsonl yields events as lines complete; ReadableStream input works', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes('{"a":1}\n{"a"'));
        c.enqueue(bytes(':2}\nnope\n'));
        c.close();
      },
    });
    const events = [];
    for await (const e of streamJsonl(stream)) events.push(e);
    expect(events).toEqual([
      { ok: true, line: 1, value: { a: 1 } },
      { ok: true, line: 2, value: { a: 2 } },
      expect.objectContaining({ ok: false, line: 3 }),
    ]);
  });

  test('empty input gives no rows and no errors', async () => {
    expect(await parseRows('')).toEqual({ container: 'jsonl', rows: [], errors: [], bytes: 0 });
    expect(await parseRows(chunked(bytes(' \r\n\n\t'), 2))).toEqual({ container: 'jsonl', rows: [], errors: [], bytes: 5 });
    expect(await parseRows(' [ ]\n')).toEqual({ container: 'json-array', rows: [], errors: [], bytes: 5 });
  });
});

describe('JSON array', () => {
  test('detected by a leading "[" (after BOM/whitespace); elements carry index and line', async () => {
    const text = '\uFEFF\n  [\n  {"a": 1},\n  {"a": "x,]}\\"y"}, 7,\n  {"a":\n 3}\n]\n';
    const r = await parseRows(chunked(bytes(text), 4));
    expect(r.container).toBe('json-array');
    expect(r.rows).toEqual([
      { line: 3, index: 0, value: { a: 1 } },
      { line: 4, index: 1, value: { a: 'x,]}"y' } },
      { line: 5, index: 3, value: { a: 3 } },
    ]);
    expect(r.errors).toEqual([{ line: 4, index: 2, reason: 'not a JSON object (got a number)' }]);
  });

  test('invalid array is one error with the parser message and a line', async () => {
    const r = await parseRows('[\n{"a":1},\n{"a":2,}\n]');
    expect(r.rows).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].line).toBe(3);
    expect(r.errors[0].reason).toMatch(/^invalid JSON array: /);
  });

  test('bad UTF-8 inside one element rejects that element only', async () => {
    const b = new Uint8Array([...bytes('[\n{"a":"ok"},\n{"a":"'), 0xc3, ...bytes('"},\n{"a":"fine"}\n]')]);
    const r = await parseRows(b);
    expect(r.rows.map((x) => x.value.a)).toEqual(['ok', 'fine']);
    expect(r.errors).toEqual([{ line: 3, index: 1, reason: 'invalid UTF-8 bytes (line 3)' }]);
  });

  test('a JSONL file whose first row is an array is read line by line, not as one broken array', async () => {
    const r = await parseRows('[1, 2]\n{"a": 1}\n["x"]\n');
    expect(r.container).toBe('jsonl');
    expect(r.rows).toEqual([{ line: 2, value: { a: 1 } }]);
    expect(r.errors).toEqual([
      { line: 1, reason: 'not a JSON object (got an array)' },
      { line: 3, reason: 'not a JSON object (got an array)' },
    ]);
  });
});
