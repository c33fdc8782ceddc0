/**
 * Multiple-choice benchmark files, mapped onto one item shape
 * `{question, choices, gold, line}` for scoring by log-likelihood
 * (multiple_choice.ts). Three row formats, detected per file by majority
 * vote over the first rows (as datasets are, data/formats.ts):
 *
 *   mmlu       {"question": str, "choices": [str, ...], "answer": index | "A".."Z"}
 *              (cais/mmlu on the Hugging Face Hub; a letter counts from "A" = 0)
 *   arc        {"question": {"stem": str, "choices": [{"text", "label"}, ...]}, "answerKey": label}
 *              (allenai/ai2_arc; the gold choice is the one whose label equals
 *              answerKey, so both "A".."E" and "1".."4" labels work)
 *   hellaswag  {"ctx": str, "endings": [str, ...], "label": index | numeric string}
 *              (Rowan/hellaswag; ctx is used as is, without lm-eval-harness's
 *              "[title]" clean-up)
 *
 * Nothing is guessed: a row that does not give exactly one gold choice among
 * at least two non-empty choices is an error naming its line, the field and
 * what was wrong, and is skipped; the rest of the file still loads.
 */
import { parseRows, type ByteSource, type RowError } from '../data/jsonl';
import { locationOf } from '../data/location';
import { majorityVote, RowFormatError } from '../data/formats';

export type McFormatId = 'mmlu' | 'arc' | 'hellaswag';
export const MC_FORMAT_IDS: McFormatId[] = ['mmlu', 'arc', 'hellaswag'];

/** One multiple-choice item: the context text, the choice texts (without the leading space) and the gold index. */
export interface McItem {
  question: string;
  choices: string[];
  gold: number;
  /** where the source row is: its 1-based line, and for a JSON array its 0-based index (data/location.ts rowLabel) */
  line: number;
  index?: number;
}

export interface McParseResult {
  container: 'jsonl' | 'json-array';
  /** null when no row looks like a multiple-choice format (every row is then in errors) */
  format: McFormatId | null;
  items: McItem[];
  /** the rows skipped, sorted by line */
  errors: RowError[];
  warnings: string[];
}

/** The format a row looks like from its keys alone, or null. */
export function classifyMcRow(row: Record<string, unknown>): McFormatId | null {
  if ('ctx' in row && 'endings' in row) return 'hellaswag';
  if (typeof row.question === 'object' && row.question !== null && !Array.isArray(row.question)) return 'arc';
  if ('answerKey' in row) return 'arc';
  if ('question' in row && 'choices' in row) return 'mmlu';
  return null;
}

/** The majority format of the first `limit` rows, or null when none has one. */
export function detectMcFormat(rows: Record<string, unknown>[], limit = 100): { format: McFormatId | null; matched: number; examined: number } {
  const sample = rows.slice(0, limit);
  const { best, count } = majorityVote(sample, classifyMcRow);
  return { format: best, matched: count, examined: sample.length };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function text(v: unknown, what: string): string {
  if (v === undefined) throw new RowFormatError(`missing ${what}`);
  if (typeof v !== 'string') throw new RowFormatError(`${what} is ${typeName(v)}, expected a string`);
  if (v.trim() === '') throw new RowFormatError(`${what} is empty`);
  return v;
}

function field(row: Record<string, unknown>, name: string, what = `field "${name}"`): unknown {
  if (!(name in row)) throw new RowFormatError(`missing ${what}`);
  return row[name];
}

/** A list of at least two choices. */
function choiceList(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new RowFormatError(`${what} is ${typeName(v)}, expected a list`);
  if (v.length === 0) throw new RowFormatError(`${what} is empty`);
  if (v.length < 2) throw new RowFormatError(`${what} has 1 choice; an item needs at least 2`);
  return v;
}

function choiceTexts(v: unknown, name: string): string[] {
  return choiceList(v, `field "${name}"`).map((c, i) => text(c, `${name}[${i}]`));
}

/** An index into n choices: a non-negative integer, or (numericStrings) its decimal string. */
function indexAnswer(v: unknown, name: string, n: number, numericStrings: boolean): number | null {
  let k: number | null = null;
  if (typeof v === 'number') k = v;
  else if (numericStrings && typeof v === 'string' && /^\s*\d+\s*$/.test(v)) k = Number(v);
  if (k === null) return null;
  if (!Number.isInteger(k)) throw new RowFormatError(`field "${name}": ${JSON.stringify(v)} is not a whole number`);
  if (k < 0 || k >= n) throw new RowFormatError(`field "${name}": ${JSON.stringify(v)} is out of range for ${n} choices (0..${n - 1})`);
  return k;
}

const letter = (i: number) => String.fromCharCode(65 + i);

function mapMmlu(row: Record<string, unknown>): Omit<McItem, 'line'> {
  const question = text(field(row, 'question'), 'field "question"');
  const choices = choiceTexts(field(row, 'choices'), 'choices');
  const answer = field(row, 'answer');
  const n = choices.length;
  let gold = indexAnswer(answer, 'answer', n, false);
  if (gold === null) {
    if (typeof answer !== 'string') throw new RowFormatError(`field "answer" is ${typeName(answer)}, expected an index or a letter`);
    if (!/^[A-Z]$/.test(answer)) throw new RowFormatError(`field "answer": ${JSON.stringify(answer)} is neither an index nor a letter A..${letter(Math.min(n, 26) - 1)}`);
    gold = answer.charCodeAt(0) - 65;
    if (gold >= n) throw new RowFormatError(`field "answer": "${answer}" is out of range for ${n} choices (A..${letter(n - 1)})`);
  }
  return { question, choices, gold };
}

function mapArc(row: Record<string, unknown>): Omit<McItem, 'line'> {
  const q = field(row, 'question');
  if (typeof q !== 'object' || q === null || Array.isArray(q)) throw new RowFormatError(`field "question" is ${typeName(q)}, expected an object {stem, choices}`);
  const qo = q as Record<string, unknown>;
  const question = text(field(qo, 'stem', 'field "question.stem"'), 'field "question.stem"');
  const list = choiceList(field(qo, 'choices', 'field "question.choices"'), 'field "question.choices"');
  const labels: string[] = [];
  const choices = list.map((c, i) => {
    const where = `question.choices[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new RowFormatError(`${where} is ${typeName(c)}, expected an object {text, label}`);
    const co = c as Record<string, unknown>;
    const label = field(co, 'label', `field "${where}.label"`);
    if (typeof label !== 'string' && typeof label !== 'number') throw new RowFormatError(`${where}.label is ${typeName(label)}, expected a string`);
    if (labels.includes(String(label))) throw new RowFormatError(`${where}.label "${label}" repeats an earlier label`);
    labels.push(String(label));
    return text(field(co, 'text', `field "${where}.text"`), `${where}.text`);
  });
  const key = field(row, 'answerKey');
  if (typeof key !== 'string' && typeof key !== 'number') throw new RowFormatError(`field "answerKey" is ${typeName(key)}, expected a label`);
  const gold = labels.indexOf(String(key));
  if (gold === -1) throw new RowFormatError(`field "answerKey": ${JSON.stringify(key)} is none of the choice labels (${labels.join(', ')})`);
  return { question, choices, gold };
}

function mapHellaswag(row: Record<string, unknown>): Omit<McItem, 'line'> {
  const question = text(field(row, 'ctx'), 'field "ctx"');
  const choices = choiceTexts(field(row, 'endings'), 'endings');
  const label = field(row, 'label');
  const gold = indexAnswer(label, 'label', choices.length, true);
  if (gold === null) throw new RowFormatError(`field "label" is ${typeof label === 'string' ? `"${label}", not a number` : typeName(label)}, expected an index`);
  return { question, choices, gold };
}

const MAPPERS: Record<McFormatId, (row: Record<string, unknown>) => Omit<McItem, 'line'>> = { mmlu: mapMmlu, arc: mapArc, hellaswag: mapHellaswag };

/** One row as an item of `format`; throws RowFormatError with the reason. */
export function mapMcRow(row: Record<string, unknown>, format: McFormatId): Omit<McItem, 'line'> {
  return MAPPERS[format](row);
}

/** Read a multiple-choice file (JSONL or a JSON array): detect its format, map every row, report the rest by where they are (data/location.ts). */
export async function parseMultipleChoice(input: ByteSource, opts: { format?: McFormatId } = {}): Promise<McParseResult> {
  const parsed = await parseRows(input);
  const errors: RowError[] = [...parsed.errors];
  const warnings: string[] = [];
  let format = opts.format ?? null;
  if (!format) {
    const det = detectMcFormat(parsed.rows.map((r) => r.value));
    format = det.format;
    if (format && det.matched < det.examined) warnings.push(`${det.examined - det.matched} of the first ${det.examined} rows do not look like ${format}`);
  }
  const items: McItem[] = [];
  if (format === null) {
    const keys = [...new Set(parsed.rows.slice(0, 100).flatMap((r) => Object.keys(r.value)))].slice(0, 12);
    if (parsed.rows.length) warnings.push(`no multiple-choice format in the rows (fields seen: ${keys.join(', ') || 'none'}); expected mmlu, arc or hellaswag fields`);
    for (const r of parsed.rows) errors.push({ ...locationOf(r), reason: 'row is not in a multiple-choice format (mmlu, arc or hellaswag)' });
  } else {
    for (const r of parsed.rows) {
      try {
        items.push({ ...mapMcRow(r.value, format), ...locationOf(r) });
      } catch (e) {
        if (!(e instanceof RowFormatError)) throw e;
        const looks = classifyMcRow(r.value);
        const note = looks && looks !== format ? ` (the row looks like ${looks}; the file is ${format})` : '';
        errors.push({ ...locationOf(r), reason: e.message + note });
      }
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { container: parsed.container, format, items, errors, warnings };
}
