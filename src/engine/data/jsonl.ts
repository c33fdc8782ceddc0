/**
 * Reading dataset files: JSON Lines (one object per line) streamed from byte
 * chunks, or one JSON array of objects. Runs in the browser and in Node: input
 * is a string, a Uint8Array, a ReadableStream or any async iterable of
 * Uint8Array chunks (a `File.stream()`, a `fetch` body, a Node read stream).
 *
 * No row is dropped silently: every line (or array element) that holds
 * something other than a JSON object is reported with its location
 * (location.ts) and the reason
 * (invalid JSON with the parser's message, not an object, invalid UTF-8).
 * Blank lines, a UTF-8 byte-order mark and CRLF line ends are accepted.
 *
 * Each line is decoded on its own with a fatal UTF-8 decoder, so one bad byte
 * costs that line only, not the file.
 */

import type { RowLocation } from './location';

/** One row that parsed to a JSON object, and where it is (a line, or an element of a JSON array). */
export interface ParsedRow extends RowLocation {
  value: Record<string, unknown>;
}

/** One row (or the whole file, at the line of the failure) that could not be used. */
export interface RowError extends RowLocation {
  reason: string;
}

export type RowEvent = ({ ok: true } & ParsedRow) | ({ ok: false } & RowError);

export interface ParseResult {
  container: 'jsonl' | 'json-array';
  rows: ParsedRow[];
  errors: RowError[];
  /** size of the input in bytes (0 rows and 0 errors in a non-empty file: only whitespace) */
  bytes: number;
}

export type ByteSource = string | Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function startsWithBom(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === BOM[0] && b[1] === BOM[1] && b[2] === BOM[2];
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Incremental JSONL parser: push byte chunks, get row events for every line
 * completed so far; `end()` flushes a last line without a trailing newline.
 */
export class JsonlParser {
  private pending: Uint8Array[] = [];
  private lineNo = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  push(chunk: Uint8Array): RowEvent[] {
    const events: RowEvent[] = [];
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
      this.pending.push(chunk.subarray(start, i));
      this.handleLine(concat(this.pending), events);
      this.pending = [];
      start = i + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.slice(start));
    return events;
  }

  end(): RowEvent[] {
    const events: RowEvent[] = [];
    if (this.pending.length > 0) this.handleLine(concat(this.pending), events);
    this.pending = [];
    return events;
  }

  private handleLine(bytes: Uint8Array, events: RowEvent[]): void {
    const line = ++this.lineNo;
    let b = bytes;
    if (line === 1 && startsWithBom(b)) b = b.subarray(3);
    if (b.length > 0 && b[b.length - 1] === CR) b = b.subarray(0, b.length - 1);
    let text: string;
    try {
      text = this.decoder.decode(b);
    } catch {
      events.push({ ok: false, line, reason: 'invalid UTF-8 bytes' });
      return;
    }
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      events.push({ ok: false, line, reason: `invalid JSON: ${(e as Error).message}` });
      return;
    }
    if (!isPlainObject(value)) {
      events.push({ ok: false, line, reason: `not a JSON object (got ${describe(value)})` });
      return;
    }
    events.push({ ok: true, line, value });
  }
}

function isReadableStream(x: unknown): x is ReadableStream<Uint8Array> {
  return typeof x === 'object' && x !== null && typeof (x as ReadableStream).getReader === 'function';
}

/** Any supported byte source as an async iterable of chunks. */
export async function* byteChunks(input: ByteSource): AsyncGenerator<Uint8Array> {
  if (typeof input === 'string') {
    yield new TextEncoder().encode(input);
  } else if (input instanceof Uint8Array) {
    yield input;
  } else if (isReadableStream(input)) {
    // Not every browser makes ReadableStream async-iterable yet; read it by hand.
    const reader = input.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    yield* input;
  }
}

/** Stream the rows of a JSONL source, one event per non-blank line. */
export async function* streamJsonl(input: ByteSource): AsyncGenerator<RowEvent> {
  const parser = new JsonlParser();
  for await (const chunk of byteChunks(input)) yield* parser.push(chunk);
  yield* parser.end();
}

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * Read a whole dataset file: a JSON array when its first non-whitespace
 * character is `[`, JSON Lines otherwise. JSONL is parsed as the chunks
 * arrive; an array is buffered (JSON.parse needs all of it).
 */
export async function parseRows(input: ByteSource): Promise<ParseResult> {
  // Peek until the first non-whitespace byte (after a BOM) to pick the container.
  const head: Uint8Array[] = [];
  const firstByte = (): number | null => {
    const all = concat(head);
    let i = startsWithBom(all) ? 3 : 0;
    while (i < all.length && isJsonWhitespace(all[i])) i++;
    return i < all.length ? all[i] : null;
  };
  let first: number | null = null;
  const it = byteChunks(input)[Symbol.asyncIterator]();
  for (let r = await it.next(); !r.done; r = await it.next()) {
    head.push(r.value);
    if (head.reduce((n, h) => n + h.length, 0) < 3) continue; // may be a partial BOM
    if ((first = firstByte()) !== null) break;
  }
  if (first === null && head.length > 0) first = firstByte();
  const rest = async function* () {
    yield* head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  if (first === 0x5b /* [ */) {
    const parts: Uint8Array[] = [];
    for await (const c of rest()) parts.push(c);
    const all = concat(parts);
    const asArray = parseJsonArrayBytes(all);
    // A JSONL file whose first row happens to be an array also starts with "[";
    // when the whole is no valid array but its first row is valid JSON, read
    // it line by line so each row gets its own line and reason.
    if (asArray.errors.length === 1 && asArray.rows.length === 0 && asArray.errors[0].reason.startsWith('invalid JSON array') && firstLineParses(all)) {
      return collectJsonl(all);
    }
    return asArray;
  }
  return collectJsonl(rest());
}

/** Whether the first non-blank line is valid JSON on its own. */
function firstLineParses(bytes: Uint8Array): boolean {
  const parser = new JsonlParser();
  const first = [...parser.push(bytes), ...parser.end()][0];
  return first !== undefined && (first.ok || !first.reason.startsWith('invalid JSON'));
}

async function collectJsonl(input: ByteSource): Promise<ParseResult> {
  const rows: ParsedRow[] = [];
  const errors: RowError[] = [];
  let bytes = 0;
  const counted = async function* () {
    for await (const chunk of byteChunks(input)) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  for await (const ev of streamJsonl(counted())) {
    if (ev.ok) rows.push({ line: ev.line, value: ev.value });
    else errors.push({ line: ev.line, reason: ev.reason });
  }
  return { container: 'jsonl', rows, errors, bytes };
}

/**
 * Parse a JSON array of objects. Elements are reported by index and by the
 * line their value starts on; an element spanning a line with invalid UTF-8
 * is rejected (the rest of the array still loads).
 */
export function parseJsonArrayBytes(bytes: Uint8Array): ParseResult {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const lenient = new TextDecoder('utf-8');
  const body = startsWithBom(bytes) ? bytes.subarray(3) : bytes;
  const lineTexts: string[] = [];
  const badLines = new Set<number>();
  let start = 0;
  for (;;) {
    const nl = body.indexOf(NEWLINE, start);
    const seg = body.subarray(start, nl === -1 ? body.length : nl);
    try {
      lineTexts.push(fatal.decode(seg));
    } catch {
      badLines.add(lineTexts.length + 1);
      lineTexts.push(lenient.decode(seg));
    }
    if (nl === -1) break;
    start = nl + 1;
  }
  const text = lineTexts.join('\n');
  const lineStarts: number[] = [];
  for (let i = 0, o = 0; i < lineTexts.length; o += lineTexts[i].length + 1, i++) lineStarts.push(o);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? lineOf(Number(pos[1])) : 1;
    return { container: 'json-array', rows: [], errors: [{ line, reason: `invalid JSON array: ${msg}` }], bytes: bytes.length };
  }
  if (!Array.isArray(value)) {
    return { container: 'json-array', rows: [], errors: [{ line: 1, reason: `not a JSON array (got ${describe(value)})` }], bytes: bytes.length };
  }
  const { starts, ends } = elementSpans(text);
  const rows: ParsedRow[] = [];
  const errors: RowError[] = [];
  value.forEach((el, index) => {
    const known = starts.length === value.length && ends.length === value.length;
    const line = known ? lineOf(starts[index]) : 1;
    const endLine = known ? lineOf(ends[index]) : lineTexts.length;
    for (let l = line; l <= endLine; l++) {
      // A bad line shared with a neighbouring element counts against both:
      // the replacement characters do not say whose bytes were bad.
      if (badLines.has(l)) {
        errors.push({ line, index, reason: `invalid UTF-8 bytes (line ${l})` });
        return;
      }
    }
    if (!isPlainObject(el)) errors.push({ line, index, reason: `not a JSON object (got ${describe(el)})` });
    else rows.push({ line, index, value: el });
  });
  return { container: 'json-array', rows, errors, bytes: bytes.length };
}

/**
 * Where each top-level element of a (valid) JSON array starts, and where the
 * delimiter after it (`,` or the closing `]`) sits, as character offsets.
 */
function elementSpans(text: string): { starts: number[]; ends: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
    if (c === ']' || c === '}') {
      depth--;
      if (depth === 0 && ends.length < starts.length) ends.push(i);
      continue;
    }
    if (c === ',') {
      if (depth === 1) {
        ends.push(i);
        expectValue = true;
      }
      continue;
    }
    if (c === ':') continue;
    if (depth === 1 && expectValue) {
      starts.push(i);
      expectValue = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectValue = true;
    }
  }
  return { starts, ends };
}
