/**
 * A model judge: pairwise comparison of two answers to one instruction, after
 * MT-Bench's pairwise judge (Zheng et al. 2023, "Judging LLM-as-a-Judge with
 * MT-Bench and Chatbot Arena", FastChat's `pair-v2` prompt).
 *
 *   prompt    MT-Bench's system + user message, shortened for a 0.5B instruct
 *             model (and to fit stories260K's 512-token context in the tests):
 *             shorter answer markers, no explanation asked for, only the
 *             verdict "[[A]]", "[[B]]" or "[[C]]" (tie), asked again at the end
 *             of the user message where a small model attends most.
 *   orders    every pair is judged twice, (a, b) and (b, a), to cancel position
 *             bias; the pair's outcome follows MT-Bench's conservative rule: the
 *             same winner in both orders is a win or loss, a tie in either order
 *             or disagreement between the orders is a tie.
 *   parsing   strict (see parseVerdict): a verdict that is missing or
 *             ambiguous is 'unparsed', counted and reported, never guessed. A
 *             pair with an unparsed order is 'unparsed', not a tie.
 *   win rate  of answer `a` over the decided pairs: wins / (wins + losses),
 *             ties and unparsed pairs apart (counted beside it), with a 95%
 *             Wilson interval: wilson.ts decidedWinRate, the one definition the
 *             page uses for the judge and the blind votes alike. (AlpacaEval
 *             counts a tie as half a win instead; one definition everywhere
 *             keeps the judge's rate comparable with the people's.)
 *
 * A small judge is noisy (MT-Bench measured GPT-4 agreeing with experts on
 * 66% of pairs with ties, 85% without; a 0.5B model is far below that): the
 * interval and the unparsed count are part of the result so the page can say
 * so.
 *
 * `Judge` is any function from the judge prompt to the judge's reply, so tests
 * script it; `modelJudge` makes one from a loaded model with greedy decoding.
 */
import { generate } from '../generate';
import type { LlamaModel } from '../model';
import type { TextTokenizer } from '../tokenizer';
import { createTemplate, type PromptTemplate, type Segment, type TemplateId } from '../data/templates';
import { promptIds } from '../data/tokenize';
import type { Conversation } from '../data/formats';
import { decidedWinRate, type Interval } from './wilson';

// ------------------------------------------------------------------ prompt

/** The judge's chat: one system and one user message (rendered by the judge's template). */
export interface JudgePrompt {
  system: string;
  user: string;
}

/** Maps the prompt to the judge's raw reply. A scripted function in tests, `modelJudge` for a real model. */
export type Judge = (prompt: JudgePrompt) => Promise<string>;

export const JUDGE_SYSTEM =
  "You are an impartial judge. Compare two assistants' answers to the user's instruction and decide which follows it better " +
  '(helpful, relevant, accurate). Ignore the order of the answers and their length. ' +
  'Output only your verdict: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, "[[C]]" for a tie.';

/** The judge prompt for `instruction` with `first` shown as assistant A and `second` as assistant B. */
export function judgePrompt(instruction: string, first: string, second: string): JudgePrompt {
  const user =
    `[Instruction]\n${instruction}\n\n` +
    `[Assistant A]\n${first}\n[End of Assistant A]\n\n` +
    `[Assistant B]\n${second}\n[End of Assistant B]\n\n` +
    'Reply with exactly one of "[[A]]", "[[B]]" or "[[C]]" (tie).';
  return { system: JUDGE_SYSTEM, user };
}

// ------------------------------------------------------------------ parsing

/** One order's verdict: the position the judge chose, 'tie' for [[C]], or 'unparsed'. */
export type Verdict = 'A' | 'B' | 'tie' | 'unparsed';

const VERDICT_MARK = /\[\[([ABC])\]\]/g;

/**
 * Strict verdict parsing. The marks are exactly "[[A]]", "[[B]]", "[[C]]":
 * uppercase, no spaces inside the brackets, anywhere in the reply. If the
 * reply holds exactly one distinct mark (once or repeated) that is the
 * verdict; none, or two different marks (as when a model echoes the format
 * line), is 'unparsed'. So "[[a]]", "[[ A ]]", "[A]", "A" and "Assistant A is
 * better" are unparsed; "Verdict: [[B]]." and "[[B]] ... [[B]]" are B. This is
 * MT-Bench's format with its "first mark found" fallback removed.
 */
export function parseVerdict(reply: string): Verdict {
  const marks = new Set([...reply.matchAll(VERDICT_MARK)].map((m) => m[1]));
  if (marks.size !== 1) return 'unparsed';
  const [mark] = marks;
  return mark === 'C' ? 'tie' : (mark as 'A' | 'B');
}

// ------------------------------------------------------------------ pairs

export interface JudgePair {
  instruction: string;
  /** the answer whose win rate is reported (e.g. the tuned model's) */
  a: string;
  /** the answer it is compared against (e.g. the base model's) */
  b: string;
}

/** Which answer won, from `a`'s side. */
export type PairOutcome = 'win' | 'loss' | 'tie' | 'unparsed';

export interface OrderVerdict {
  /** the judge's reply as generated */
  raw: string;
  verdict: Verdict;
}

export interface PairVerdict {
  /** `a` shown as assistant A, `b` as assistant B */
  ab: OrderVerdict;
  /** `b` shown as assistant A, `a` as assistant B */
  ba: OrderVerdict;
  outcome: PairOutcome;
}

/** The pair's outcome from its two orders (MT-Bench's conservative rule; any unparsed order → unparsed). */
export function combineOrders(ab: Verdict, ba: Verdict): PairOutcome {
  if (ab === 'unparsed' || ba === 'unparsed') return 'unparsed';
  // who each order prefers, in terms of a/b: in `ba` position A holds b
  const inAB = ab === 'A' ? 'a' : ab === 'B' ? 'b' : 'tie';
  const inBA = ba === 'A' ? 'b' : ba === 'B' ? 'a' : 'tie';
  if (inAB === 'a' && inBA === 'a') return 'win';
  if (inAB === 'b' && inBA === 'b') return 'loss';
  return 'tie';
}

/** A win rate with its counts; shared by the model judge and the human blind votes. */
export interface WinRate {
  wins: number;
  losses: number;
  /** reported beside the rate, never in it */
  ties: number;
  /** wins + losses: the decided comparisons the rate is over */
  n: number;
  /** wins / n (wilson.ts decidedWinRate, the page's one definition); null when n = 0 */
  winRate: number | null;
  /** 95% Wilson interval on winRate ([0, 1] when n = 0) */
  interval: Interval;
}

export function winRateOf(wins: number, losses: number, ties: number): WinRate {
  const r = decidedWinRate(wins, losses);
  return { wins, losses, ties, n: wins + losses, winRate: r?.p ?? null, interval: r ? { lo: r.lo, hi: r.hi } : { lo: 0, hi: 1 } };
}

export interface JudgeResult extends WinRate {
  verdicts: PairVerdict[];
  /** pairs with an unparsed order (not in n) */
  unparsed: number;
  /** orders (judge replies) that were unparsed, out of 2 · pairs */
  unparsedReplies: number;
}

export interface JudgePairsOptions {
  /** after every judge reply: `done` of `total` (= 2 · pairs) replies, and the pair when that reply completed it */
  onProgress?: (p: { done: number; total: number; pair?: PairVerdict }) => void;
  /** checked before each judge call; an aborted run throws an AbortError */
  signal?: AbortSignal;
}

/** Judges every pair in both orders, one call at a time (a GPU judge runs one generation at a time). */
export async function judgePairs(judge: Judge, pairs: JudgePair[], opts: JudgePairsOptions = {}): Promise<JudgeResult> {
  const total = 2 * pairs.length;
  let done = 0;
  const ask = async (instruction: string, first: string, second: string): Promise<OrderVerdict> => {
    if (opts.signal?.aborted) throw new DOMException('judging stopped', 'AbortError');
    const raw = await judge(judgePrompt(instruction, first, second));
    return { raw, verdict: parseVerdict(raw) };
  };
  const verdicts: PairVerdict[] = [];
  for (const p of pairs) {
    const ab = await ask(p.instruction, p.a, p.b);
    opts.onProgress?.({ done: ++done, total });
    const ba = await ask(p.instruction, p.b, p.a);
    const pair: PairVerdict = { ab, ba, outcome: combineOrders(ab.verdict, ba.verdict) };
    verdicts.push(pair);
    opts.onProgress?.({ done: ++done, total, pair });
  }
  const count = (o: PairOutcome) => verdicts.filter((v) => v.outcome === o).length;
  return {
    ...winRateOf(count('win'), count('loss'), count('tie')),
    verdicts,
    unparsed: count('unparsed'),
    unparsedReplies: verdicts.reduce((s, v) => s + Number(v.ab.verdict === 'unparsed') + Number(v.ba.verdict === 'unparsed'), 0),
  };
}

// ------------------------------------------------------------------ people

/**
 * The blind-vote tally the Compare page keeps (src/ui/state/compare.svelte.ts
 * `compare.votes`, same shape): tuned = votes for the tuned side.
 */
export interface BlindVotes {
  tuned: number;
  base: number;
  tie: number;
}

/**
 * The human blind-vote win rate of the tuned side, on the judge's terms
 * (tuned / (tuned + base), ties apart, the same Wilson interval) so the two
 * can stand side by side, as the Compare page's tally does.
 */
export function humanWinRate(votes: BlindVotes): WinRate {
  return winRateOf(votes.tuned, votes.base, votes.tie);
}

// ------------------------------------------------------------------ a model as the judge

export interface ModelJudgeOptions {
  /** how the judge prompt becomes text: default its own chat template ('model') when it has one, else 'plain' */
  template?: TemplateId | PromptTemplate;
  /** the verdict is one short mark; a little slack for a preamble */
  maxNewTokens?: number;
  signal?: AbortSignal;
}

/** Ids and strings that end the judge's reply: EOS ids, the template's end-of-turn token, its stop strings. */
export interface JudgeStops {
  ids: number[];
  strings: string[];
}

/**
 * What the template writes after an assistant reply, trimmed (Qwen's
 * "<|im_end|>", Llama 3's "<|eot_id|>"), found by rendering a one-turn
 * conversation; '' when it writes nothing (plain, alpaca).
 */
function endOfTurn(tpl: PromptTemplate): string {
  const reply = 'Reply.';
  const conv: Conversation = { kind: 'conversation', turns: [{ role: 'user', content: 'Question?' }, { role: 'assistant', content: reply }] };
  let segs: Segment[];
  try {
    segs = tpl.segments(conv);
  } catch {
    return ''; // a template that cannot render a one-turn chat: EOS ids alone end the reply
  }
  const trained = segs.find((s) => s.kind === 'text' && s.train);
  // the reply may follow template scaffolding (Qwen3 writes an empty <think> block before it)
  const at = trained && trained.kind === 'text' ? trained.text.lastIndexOf(reply) : -1;
  return at < 0 || !trained || trained.kind !== 'text' ? '' : trained.text.slice(at + reply.length).trim();
}

export function judgeStops(tok: TextTokenizer, tpl: PromptTemplate): JudgeStops {
  const ids = new Set(tok.eosIds);
  const strings = new Set(tpl.stopStrings);
  const end = endOfTurn(tpl);
  if (end) {
    const id = tok.tokenToId(end);
    if (id != null) ids.add(id);
    else strings.add(end);
  }
  return { ids: [...ids], strings: [...strings] };
}

/** The judge template: the given one, or the tokenizer's chat template when it has one, else plain. */
export function judgeTemplate(tok: TextTokenizer, template?: TemplateId | PromptTemplate): PromptTemplate {
  if (typeof template === 'object') return template;
  return createTemplate(template ?? (tok.chatTemplate ? 'model' : 'plain'), tok);
}

/** The judge prompt as the judge model reads it (system and user message through its template). */
export function renderJudgePrompt(tpl: PromptTemplate, prompt: JudgePrompt): string {
  return tpl.generationPrompt({ system: prompt.system, instruction: prompt.user });
}

/**
 * A Judge backed by a loaded model: renders the prompt with the judge's
 * template, decodes greedily (temperature 0, no penalties) up to
 * `maxNewTokens` or an end token, and returns the decoded reply.
 */
export function modelJudge(model: LlamaModel, tok: TextTokenizer, opts: ModelJudgeOptions = {}): Judge {
  const tpl = judgeTemplate(tok, opts.template);
  const stops = judgeStops(tok, tpl);
  const maxNew = opts.maxNewTokens ?? 24;
  return async (prompt) => {
    if (opts.signal?.aborted) throw new DOMException('judging stopped', 'AbortError');
    const ids = promptIds(tok, renderJudgePrompt(tpl, prompt));
    const room = model.config.maxPositions - ids.length;
    if (room < 1) {
      throw new Error(`the judge prompt is ${ids.length} tokens; the judge model's context is ${model.config.maxPositions}: shorten the answers`);
    }
    const ctrl = new AbortController();
    const forward = () => ctrl.abort();
    opts.signal?.addEventListener('abort', forward);
    let reply = '';
    try {
      await generate(model, ids, {
        temperature: 0,
        topK: 0,
        topP: 1,
        repetitionPenalty: 1,
        maxNewTokens: Math.min(maxNew, room),
        stopIds: stops.ids,
        signal: ctrl.signal,
        onToken: (_id, all) => {
          reply = tok.decode(all);
          const stop = stops.strings.find((s) => reply.includes(s));
          if (stop) {
            reply = reply.slice(0, reply.indexOf(stop));
            ctrl.abort();
          }
        },
      });
    } finally {
      opts.signal?.removeEventListener('abort', forward);
    }
    if (opts.signal?.aborted) throw new DOMException('judging stopped', 'AbortError');
    return reply;
  };
}
