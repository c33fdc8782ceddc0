/**
 * Dataset row formats people actually have, mapped onto one normalized sample.
 *
 * Single-turn formats differ only in field names, so they share one mapping
 * `{instruction, input?, response, system?}`:
 *   alpaca               instruction / input / output  (Stanford Alpaca)
 *   instruction-response instruction / response
 *   prompt-completion    prompt / completion            (OpenAI legacy fine-tuning)
 *   prompt-response      prompt / response
 *   question-answer      question / answer
 * Conversation formats:
 *   openai-messages      messages: [{role: system|user|assistant, content}]  (also TRL's conversational language modeling)
 *   conversational-prompt-completion
 *                        prompt: [{role, content}, ...], completion: [{role: assistant, content}]
 *                        (TRL's conversational prompt–completion type, huggingface.co/docs/trl/dataset_formats);
 *                        as in TRL, only the completion is trained: assistant turns inside the prompt are context
 *   sharegpt             conversations: [{from: system|human|gpt, value}]
 *   lima                 conversations: [user, assistant, user, ...] as plain strings
 * and `text`: plain text trained on every token (continued pre-training).
 *
 * Content strings are kept byte-for-byte (no trimming, no HTML escaping);
 * "empty" means empty after trimming whitespace.
 */
import type { ParsedRow, RowError } from './jsonl';
import { locationOf, type RowLocation } from './location';

export type Role = 'user' | 'assistant';

export interface Turn {
  role: Role;
  content: string;
  /** false: an assistant turn given as context (inside a TRL prompt), rendered but not trained */
  train?: false;
}

export interface Conversation {
  kind: 'conversation';
  system?: string;
  turns: Turn[];
  /**
   * Alpaca-style `input` of the (single) user turn, kept apart so the
   * plain/alpaca templates can render their `Input:` section. Chat templates
   * append it to the user message after a blank line.
   */
  input?: string;
}

export interface TextSample {
  kind: 'text';
  text: string;
}

export type Sample = Conversation | TextSample;

export type FormatId =
  | 'alpaca'
  | 'instruction-response'
  | 'prompt-completion'
  | 'prompt-response'
  | 'question-answer'
  | 'openai-messages'
  | 'conversational-prompt-completion'
  | 'sharegpt'
  | 'lima'
  | 'text';

/** Which row field holds what; a UI may override any of these. */
export interface FieldMap {
  instruction?: string;
  input?: string;
  response?: string;
  system?: string;
  /** openai-messages: the list of {role, content} */
  messages?: string;
  /** conversational-prompt-completion: the prompt's and the completion's lists of {role, content} */
  prompt?: string;
  completion?: string;
  /** sharegpt / lima: the list of turns */
  conversations?: string;
  text?: string;
}

export interface FormatSpec {
  format: FormatId;
  fields: FieldMap;
}

export const SINGLE_TURN_FORMATS: Record<string, FieldMap> = {
  alpaca: { instruction: 'instruction', input: 'input', response: 'output' },
  'instruction-response': { instruction: 'instruction', response: 'response' },
  'prompt-completion': { instruction: 'prompt', response: 'completion' },
  'prompt-response': { instruction: 'prompt', response: 'response' },
  'question-answer': { instruction: 'question', response: 'answer' },
};

/** Every format, in the order a format picker lists them. */
export const FORMAT_IDS: FormatId[] = [
  'alpaca',
  'instruction-response',
  'prompt-completion',
  'prompt-response',
  'question-answer',
  'openai-messages',
  'conversational-prompt-completion',
  'sharegpt',
  'lima',
  'text',
];

/** What each format is called in the report. */
export const FORMAT_LABELS: Record<FormatId, string> = {
  alpaca: 'Alpaca: instruction, input, output',
  'instruction-response': 'instruction and response',
  'prompt-completion': 'prompt and completion strings',
  'prompt-response': 'prompt and response',
  'question-answer': 'question and answer',
  'openai-messages': 'OpenAI/TRL messages',
  'conversational-prompt-completion': 'TRL conversational prompt–completion: prompt and completion message lists',
  sharegpt: 'ShareGPT conversations',
  lima: 'LIMA conversations of plain strings',
  text: 'plain text',
};

export function defaultFields(format: FormatId): FieldMap {
  if (format in SINGLE_TURN_FORMATS) return { ...SINGLE_TURN_FORMATS[format] };
  if (format === 'openai-messages') return { messages: 'messages' };
  if (format === 'conversational-prompt-completion') return { prompt: 'prompt', completion: 'completion' };
  if (format === 'sharegpt' || format === 'lima') return { conversations: 'conversations' };
  return { text: 'text' };
}

export function isSingleTurn(format: FormatId): boolean {
  return format in SINGLE_TURN_FORMATS;
}

/** The format a single row looks like, or null. Order matters: more specific shapes first. */
export function classifyRow(row: Record<string, unknown>): FormatId | null {
  const has = (k: string) => k in row;
  if (Array.isArray(row.messages)) return 'openai-messages';
  if (Array.isArray(row.prompt) && Array.isArray(row.completion)) return 'conversational-prompt-completion';
  if (Array.isArray(row.conversations)) {
    const list = row.conversations as unknown[];
    if (list.length > 0 && list.every((x) => typeof x === 'string')) return 'lima';
    return 'sharegpt';
  }
  if (has('instruction') && has('output')) return 'alpaca';
  if (has('instruction') && has('response')) return 'instruction-response';
  if (has('prompt') && has('completion')) return 'prompt-completion';
  if (has('prompt') && has('response')) return 'prompt-response';
  if (has('question') && has('answer')) return 'question-answer';
  if (has('text')) return 'text';
  return null;
}

export interface Detection {
  /** null when no known training format fits the rows */
  format: FormatId | null;
  fields: FieldMap;
  /** how many of the rows looked at matched `format` */
  matched: number;
  examined: number;
  warnings: string[];
}

/** The label most rows get from `classify` (the first to reach the top count wins a tie), and how many got it; null when none got one. */
export function majorityVote<F>(rows: Record<string, unknown>[], classify: (row: Record<string, unknown>) => F | null): { best: F | null; count: number } {
  const votes = new Map<F, number>();
  for (const r of rows) {
    const f = classify(r);
    if (f) votes.set(f, (votes.get(f) ?? 0) + 1);
  }
  let best: F | null = null;
  let count = 0;
  for (const [f, n] of votes) if (n > count) [best, count] = [f, n];
  return { best, count };
}

/**
 * Detect the format from the first `limit` rows by majority vote. Rows of a
 * minority format are not dropped here; they fail mapping later with a reason.
 */
export function detectFormat(rows: Record<string, unknown>[], limit = 100): Detection {
  const sample = rows.slice(0, limit);
  const { best, count: bestN } = majorityVote(sample, classifyRow);
  const warnings: string[] = [];
  if (best === null) {
    const keys = [...new Set(sample.flatMap((r) => Object.keys(r)))].slice(0, 12);
    // MT-Bench-style question sets, and TRL's prompt-only type (a prompt with no completion)
    const promptsOnly = sample.some((r) => Array.isArray(r.turns) || 'question_id' in r || ('prompt' in r && !('completion' in r) && !('response' in r)));
    warnings.push(
      promptsOnly
        ? `rows hold prompts (${keys.join(', ')}) but no responses: this looks like an evaluation prompt set (e.g. MT-Bench), not training data`
        : `no known training format in the rows (fields seen: ${keys.join(', ') || 'none'}); map the fields by hand`,
    );
    return { format: null, fields: {}, matched: 0, examined: sample.length, warnings };
  }
  const fields = defaultFields(best);
  // all rows, not the first `limit`: a system field first seen in row 500 must not be dropped silently
  if (isSingleTurn(best) && rows.some((r) => typeof r.system === 'string')) fields.system = 'system';
  if (bestN < sample.length) warnings.push(`${sample.length - bestN} of the first ${sample.length} rows do not look like ${best}`);
  if (best === 'text') warnings.push('plain text rows: the loss covers every token (no instruction/response split)');
  return { format: best, fields, matched: bestN, examined: sample.length, warnings };
}

/** Thrown by the mappers; the message is the row's error reason. */
export class RowFormatError extends Error {}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function requireString(row: Record<string, unknown>, field: string, what = `field "${field}"`): string {
  if (!(field in row)) throw new RowFormatError(`missing ${what}`);
  const v = row[field];
  if (typeof v !== 'string') throw new RowFormatError(`${what} is ${typeName(v)}, expected a string`);
  if (v.trim() === '') throw new RowFormatError(`${what} is empty`);
  return v;
}

/** An optional string field: absent or null reads as '' (Alpaca rows often carry `"input": ""`). */
function optionalString(row: Record<string, unknown>, field: string | undefined): string {
  if (!field || !(field in row) || row[field] === null) return '';
  const v = row[field];
  if (typeof v !== 'string') throw new RowFormatError(`field "${field}" is ${typeName(v)}, expected a string`);
  return v;
}

/** OpenAI content may be a list of parts; the text parts are joined, anything else is rejected. */
function contentText(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((p) => p && typeof p === 'object' && (p as { type?: unknown }).type === 'text')) {
    return v.map((p) => String((p as { text?: unknown }).text ?? '')).join('');
  }
  throw new RowFormatError(`${where} content is ${typeName(v)}, expected a string`);
}

const ROLE_ALIASES: Record<string, Role | 'system'> = {
  system: 'system',
  user: 'user',
  human: 'user',
  assistant: 'assistant',
  gpt: 'assistant',
  chatgpt: 'assistant',
  bing: 'assistant',
  bard: 'assistant',
  model: 'assistant',
};

/** One message as the mappers hand it to buildConversation. */
interface RawMessage {
  role: string;
  content: string;
  /** how errors name it; "message N" by default */
  where?: string;
  /** an assistant message given as context, not trained (TRL prompts) */
  context?: boolean;
}

/**
 * Build a conversation from (role, content) pairs and check it can be
 * trained: an optional leading system message, then user/assistant turns
 * alternating from user, ending with an assistant turn.
 */
function buildConversation(messages: RawMessage[]): Conversation {
  const conv: Conversation = { kind: 'conversation', turns: [] };
  messages.forEach((m, i) => {
    const role = ROLE_ALIASES[m.role.toLowerCase()];
    const where = m.where ?? `message ${i + 1}`;
    if (!role) throw new RowFormatError(`${where} has unsupported role "${m.role}"`);
    if (role === 'system') {
      if (i !== 0) throw new RowFormatError(`${where} is a system message after the first message`);
      if (m.content.trim() !== '') conv.system = m.content;
      return;
    }
    if (m.content.trim() === '') throw new RowFormatError(`${where} (${role}) is empty`);
    const prev = conv.turns[conv.turns.length - 1];
    if (!prev && role !== 'user') throw new RowFormatError('conversation starts with an assistant turn, not a user turn');
    if (prev && prev.role === role) throw new RowFormatError(`${where}: two ${role} turns in a row`);
    conv.turns.push(m.context && role === 'assistant' ? { role, content: m.content, train: false } : { role, content: m.content });
  });
  if (conv.turns.length === 0) throw new RowFormatError('conversation has no user/assistant turns');
  if (conv.turns[conv.turns.length - 1].role !== 'assistant') throw new RowFormatError('conversation does not end with an assistant turn');
  return conv;
}

function requireList(row: Record<string, unknown>, field: string): unknown[] {
  if (!(field in row)) throw new RowFormatError(`missing field "${field}"`);
  const v = row[field];
  if (!Array.isArray(v)) throw new RowFormatError(`field "${field}" is ${typeName(v)}, expected a list`);
  if (v.length === 0) throw new RowFormatError(`field "${field}" is empty`);
  return v;
}

function requireObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RowFormatError(`${where} is ${typeName(v)}, expected an object`);
  return v as Record<string, unknown>;
}

/** An OpenAI-style {role, content} message. */
function roleContent(m: unknown, where: string): RawMessage {
  const o = requireObject(m, where);
  if (typeof o.role !== 'string') throw new RowFormatError(`${where} has no "role" string`);
  return { role: o.role, content: contentText(o.content, where), where };
}

/** Map one row to a sample; throws RowFormatError with the reason. */
export function mapRow(row: Record<string, unknown>, spec: FormatSpec): Sample {
  const f = { ...defaultFields(spec.format), ...spec.fields };
  switch (spec.format) {
    case 'openai-messages':
      return buildConversation(requireList(row, f.messages!).map((m, i) => roleContent(m, `message ${i + 1}`)));
    case 'conversational-prompt-completion': {
      const prompt = requireList(row, f.prompt!).map((m, i) => ({ ...roleContent(m, `prompt message ${i + 1}`), context: true }));
      const completion = requireList(row, f.completion!).map((m, i) => {
        const msg = roleContent(m, `completion message ${i + 1}`);
        if (ROLE_ALIASES[msg.role.toLowerCase()] !== 'assistant') {
          throw new RowFormatError(`${msg.where} has role "${msg.role}": the completion holds the assistant's reply`);
        }
        return msg;
      });
      return buildConversation([...prompt, ...completion]);
    }
    case 'sharegpt': {
      const list = requireList(row, f.conversations!);
      return buildConversation(
        list.map((m, i) => {
          const o = requireObject(m, `turn ${i + 1}`);
          // Some ShareGPT exports use OpenAI's role/content keys inside `conversations`.
          const role = o.from ?? o.role;
          if (typeof role !== 'string') throw new RowFormatError(`turn ${i + 1} has no "from" string`);
          return { role, content: contentText(o.value ?? o.content, `turn ${i + 1}`) };
        }),
      );
    }
    case 'lima': {
      const list = requireList(row, f.conversations!);
      return buildConversation(
        list.map((m, i) => {
          if (typeof m !== 'string') throw new RowFormatError(`turn ${i + 1} is ${typeName(m)}, expected a string`);
          return { role: i % 2 === 0 ? 'user' : 'assistant', content: m };
        }),
      );
    }
    case 'text':
      return { kind: 'text', text: requireString(row, f.text!) };
    default: {
      if (!isSingleTurn(spec.format)) throw new RowFormatError(`unknown format "${spec.format}"`);
      const instruction = requireString(row, f.instruction!);
      const input = optionalString(row, f.input);
      const response = requireString(row, f.response!);
      const system = optionalString(row, f.system);
      const conv: Conversation = {
        kind: 'conversation',
        turns: [
          { role: 'user', content: instruction },
          { role: 'assistant', content: response },
        ],
      };
      if (input.trim() !== '') conv.input = input;
      if (system.trim() !== '') conv.system = system;
      return conv;
    }
  }
}

export interface MappedRow extends RowLocation {
  sample: Sample;
}

/** Map all rows; the ones that fail become errors with their location and reason. */
export function mapRows(rows: ParsedRow[], spec: FormatSpec): { samples: MappedRow[]; errors: RowError[] } {
  const samples: MappedRow[] = [];
  const errors: RowError[] = [];
  for (const r of rows) {
    try {
      samples.push({ ...locationOf(r), sample: mapRow(r.value, spec) });
    } catch (e) {
      if (!(e instanceof RowFormatError)) throw e;
      errors.push({ ...locationOf(r), reason: e.message });
    }
  }
  return { samples, errors };
}
