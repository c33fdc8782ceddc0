/**
 * Prompting as a baseline (URIAL, Lin et al. 2023, "The Unlocking Spell on
 * Base LLMs"): the base model, adapter off, given k example exchanges from
 * the training set before the query. Any honest "did tuning help?" has to
 * beat this, not only the bare base model.
 *
 * The examples read exactly as training rows did, through the dataset's
 * template (data/templates.ts):
 *   plain, alpaca   single-turn formats: each example is its own training
 *                   row (BOS, prompt, reply, EOS, tokenized as prepareDataset
 *                   does), one after the other, then the query's generation
 *                   prompt (BOS + prompt, as a bare generation feeds it), so
 *                   the query's ids are the base model's own prompt
 *   chatml, model   one multi-turn conversation: the examples' turns, then
 *                   the query as the last user turn, rendered up to the
 *                   assistant's reply (the template's segments, cut before
 *                   the last trained one: what add_generation_prompt gives)
 *
 * The context is the limit: prompt + prefix + max new tokens must fit the
 * model's context, so examples are dropped from the end (the first ones
 * given are kept: the most representative come first) until it does; the
 * result says how many were used and dropped. Prefix tokens grow with the
 * number of examples, so the largest k that fits is found by bisection.
 */
import { IGNORE_INDEX, promptIds, tokenizeSegments, type SegmentTokenizer } from './data/tokenize';
import type { Conversation, Sample } from './data/formats';
import type { GenerationRequest, PromptTemplate, Segment } from './data/templates';

export interface InContextOptions {
  /** the model's context length in tokens */
  context: number;
  /** new tokens the answer may take */
  maxNewTokens: number;
}

export interface InContextPrompt {
  /** what generation feeds: the prefix's ids, then the query's */
  ids: number[];
  /** the same as text (the EOS between single-turn examples written as the tokenizer's EOS token) */
  text: string;
  /** examples used (the first `used` of those given) */
  used: number;
  /** examples dropped from the end so the context holds prompt, prefix and answer */
  dropped: number;
  /** tokens of the prefix: ids.length − queryTokens */
  prefixTokens: number;
  /** tokens of the query's own prompt (its generation prompt, BOS included) */
  queryTokens: number;
  /** tokens left for the prefix: context − maxNewTokens − queryTokens (negative when even the query does not fit) */
  budget: number;
  /** false when even with no examples the query and the answer do not fit the context */
  fits: boolean;
}

/** What rendering needs from the tokenizer: ids, and the EOS token's text for the text view. */
export type InContextTokenizer = SegmentTokenizer & { eosToken: string | null };

const chatTemplate = (t: PromptTemplate) => t.id === 'chatml' || t.id === 'model';

/** An example's conversation as history turns: an Alpaca `input` joined to its first turn as the chat templates write it. */
function historyTurns(c: Conversation): Conversation['turns'] {
  return c.turns.map((t, i) => (i === 0 && c.input ? { ...t, content: `${t.content}\n\n${c.input}` } : t));
}

/**
 * The chat templates' conversation: every example's turns, then the query
 * (as a user turn) and an empty reply that marks where the answer starts;
 * the first example's system message, if any, opens it.
 */
export function inContextConversation(examples: readonly Conversation[], query: GenerationRequest): Conversation {
  const system = examples.find((e) => e.system)?.system ?? query.system;
  const content = query.input ? `${query.instruction}\n\n${query.input}` : query.instruction;
  return {
    kind: 'conversation',
    ...(system ? { system } : {}),
    turns: [...examples.flatMap(historyTurns), { role: 'user', content }, { role: 'assistant', content: '' }],
  };
}

/** Segments up to (not including) the last trained one: the prompt a model gets to write that reply. */
function beforeLastReply(segs: Segment[]): Segment[] {
  let last = -1;
  segs.forEach((s, i) => s.kind === 'text' && s.train && (last = i));
  return segs.slice(0, last);
}

const segmentText = (segs: Segment[], eos: string) => segs.map((s) => (s.kind === 'eos' ? eos : s.text)).join('');

/** ids and text for the first k examples and the query (no budget applied). */
export function renderInContext(tok: InContextTokenizer, template: PromptTemplate, examples: readonly Sample[], query: GenerationRequest): { ids: number[]; text: string; queryTokens: number } {
  const queryText = template.generationPrompt(query);
  const queryIds = promptIds(tok, queryText);
  if (chatTemplate(template)) {
    const convs = examples.map((e) => {
      if (e.kind !== 'conversation') throw new Error('a plain-text row is no exchange: in-context examples must be prompt/reply rows');
      return e;
    });
    const segs = beforeLastReply(template.segments(inContextConversation(convs, query)));
    return { ids: tokenizeSegments(tok, segs).ids, text: segmentText(segs, tok.eosToken ?? ''), queryTokens: queryIds.length };
  }
  const ids: number[] = [];
  let text = '';
  for (const e of examples) {
    const segs = e.kind === 'text' ? ([{ kind: 'text', text: e.text, train: true }, { kind: 'eos' }] as Segment[]) : template.segments(e);
    ids.push(...tokenizeSegments(tok, segs).ids);
    text += segmentText(segs, tok.eosToken ?? '');
  }
  return { ids: [...ids, ...queryIds], text: text + queryText, queryTokens: queryIds.length };
}

/**
 * The in-context prompt for `query` with as many of `examples` (first ones
 * first) as the context allows next to the answer's max new tokens.
 */
export function inContextPrompt(tok: InContextTokenizer, template: PromptTemplate, examples: readonly Sample[], query: GenerationRequest, o: InContextOptions): InContextPrompt {
  const build = (k: number) => renderInContext(tok, template, examples.slice(0, k), query);
  const fitsWith = (r: { ids: number[] }) => r.ids.length + o.maxNewTokens <= o.context;
  const none = build(0);
  const budget = o.context - o.maxNewTokens - none.queryTokens;
  const result = (r: ReturnType<typeof build>, used: number, fits: boolean): InContextPrompt => ({
    ids: r.ids,
    text: r.text,
    used,
    dropped: examples.length - used,
    prefixTokens: r.ids.length - r.queryTokens,
    queryTokens: r.queryTokens,
    budget,
    fits,
  });
  if (!fitsWith(none)) return result(none, 0, false);
  const all = build(examples.length);
  if (fitsWith(all)) return result(all, examples.length, true);
  // bisection: lo examples fit, hi do not
  let lo = 0;
  let hi = examples.length;
  let best = none;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const r = build(mid);
    if (fitsWith(r)) (lo = mid), (best = r);
    else hi = mid;
  }
  return result(best, lo, true);
}

/** One sentence for the page when examples were dropped or nothing fits; null when all k were used. */
export function inContextNote(p: InContextPrompt, o: InContextOptions): string | null {
  if (!p.fits) return `The prompt (${p.queryTokens} tokens) and ${o.maxNewTokens} new tokens leave no room in the ${o.context}-token context: answered with no examples (the bare base model).`;
  if (p.dropped === 0) return null;
  return `Only ${p.used} of ${p.used + p.dropped} examples fit the ${o.context}-token context beside this ${p.queryTokens}-token prompt and ${o.maxNewTokens} new tokens: the last ${p.dropped} ${p.dropped === 1 ? 'was' : 'were'} dropped (prefix ${p.prefixTokens} of ${p.budget} tokens).`;
}

/**
 * A held-out row scored after the examples (held-out loss of the baseline):
 * the examples' tokens masked, the row's reply trained as training tokenized
 * it; as many examples (first ones first) as fit the context beside the row.
 * Single-turn templates: the examples' rows, then the row's own (`own`: its
 * training tokens as the base model's held-out score reads them, cut at Max
 * length, so both score the same reply tokens). Chat templates: one
 * conversation, the examples' replies as context turns (train: false), then
 * the row's turns, whole.
 */
export function inContextScoredRow(
  tok: InContextTokenizer,
  template: PromptTemplate,
  examples: readonly Conversation[],
  row: Conversation,
  context: number,
  own: { ids: number[]; labels: number[] } = tokenizeSegments(tok, template.segments(row)),
): { ids: number[]; labels: number[]; used: number } {
  const build = (k: number): { ids: number[]; labels: number[] } => {
    const some = examples.slice(0, k);
    if (chatTemplate(template)) {
      const history: Conversation['turns'] = some.flatMap(historyTurns).map((t) => (t.role === 'assistant' ? { ...t, train: false as const } : t));
      const system = some.find((e) => e.system)?.system ?? row.system;
      const conv: Conversation = { kind: 'conversation', ...(system ? { system } : {}), turns: [...history, ...historyTurns(row)] };
      return tokenizeSegments(tok, template.segments(conv));
    }
    const prefix = some.flatMap((e) => tokenizeSegments(tok, template.segments(e)).ids);
    return { ids: [...prefix, ...own.ids], labels: [...prefix.map(() => IGNORE_INDEX), ...own.labels] };
  };
  let lo = 0;
  let hi = examples.length + 1; // lo examples fit (or lo = 0), hi do not
  let best = build(0);
  if (best.ids.length > context) return { ids: best.ids.slice(0, context), labels: best.labels.slice(0, context), used: 0 };
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const r = build(mid);
    if (r.ids.length <= context) (lo = mid), (best = r);
    else hi = mid;
  }
  return { ...best, used: lo };
}
