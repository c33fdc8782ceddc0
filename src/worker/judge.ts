/**
 * The model judge in the worker (issue 11 part 3): a second model, loaded
 * beside the model under test, judges answers of two picks (base, run N, …)
 * pairwise in both orders, as src/engine/eval/judge.ts defines it (MT-Bench's
 * pair prompt, strict verdict parsing, disagreement between the orders = tie).
 *
 *   loadJudge    the judge's own LlamaModel and tokenizer (an HF folder's files
 *                or an instruct GGUF; a llama2.c pair works too, though no such
 *                model is instruct)
 *   judgeSides   the flow, with the answer writer and the judge injected (so
 *                unit tests script both, test/unit/judge_flow.test.ts):
 *                every instruction answered by pick A and by pick B, then each
 *                pair of answers judged in both orders
 *   the counts   from pick B's side, as Compare's blind-vote tally: B's wins,
 *                A's wins, ties, unparsed; win rate = B's wins / decided pairs
 *                (ties excluded, the page's one definition for people and
 *                judge alike) with a 95% Wilson interval
 */
import type { FrozenBits } from '../engine/frozen';
import { judgePairs, modelJudge, type Judge, type PairOutcome } from '../engine/eval/judge';
import { decidedWinRate, type DecidedRate } from '../engine/eval/wilson';
import { gpuSpan } from '../engine/gpu/memory';
import { releasePooledBuffers } from '../engine/gpu/pool';
import type { LlamaModel } from '../engine/model';
import { TextTokenizer } from '../engine/tokenizer';
import type { AdapterUse, GenerateSettings, HeldOutPrompt, JudgedPair, JudgeReport, JudgeSummary, ModelFiles } from './protocol';
import { promptText } from './prompts';
import { generateUse } from './incontext';
import { readModel, requireSession, residentWeights, session, stopGeneration, uploadModel } from './session';

interface LoadedJudge {
  model: LlamaModel;
  tokenizer: TextTokenizer;
  summary: JudgeSummary;
}

let judgeModel: LoadedJudge | null = null;

/** Loads the judge (replacing a previous one), its frozen matrices at `frozenBits` (absent: as the file stores them); the model under test is left as it is. */
export async function loadJudge(files: ModelFiles, frozenBits?: FrozenBits): Promise<JudgeSummary> {
  const loaded = await readModel(files);
  const tokenizer = new TextTokenizer(loaded.tokenizer);
  unloadJudge();
  const { model, bytes } = await uploadModel(loaded, frozenBits);
  const c = model.config;
  const summary: JudgeSummary = {
    name: files.name,
    params: model.numParams(),
    layers: c.numLayers,
    context: c.maxPositions,
    chatTemplate: tokenizer.chatTemplate !== null,
    weightBytes: bytes,
    weightFormat: residentWeights(model).format,
  };
  judgeModel = { model, tokenizer, summary };
  if (session) {
    // the judge's weights are not the tested model's working memory: its peak restarts above them
    session.gpu.work.end();
    session.gpu.work = gpuSpan();
  }
  return summary;
}

export function unloadJudge(): void {
  if (!judgeModel) return;
  judgeModel.model.dispose();
  judgeModel = null;
  releasePooledBuffers();
}

export function requireJudge(): LoadedJudge {
  if (!judgeModel) throw new Error('Load a judge model first.');
  return judgeModel;
}


/** Writes pick `use`'s answer to `prompt` (the worker: generateText on the resident weights with that adapter). */
export type AnswerWriter = (use: AdapterUse, prompt: HeldOutPrompt) => Promise<string>;

export interface JudgeSidesOptions {
  /** the held-out prompts, each answered through the dataset's template with its input and system message */
  prompts: HeldOutPrompt[];
  a: AdapterUse;
  b: AdapterUse;
  answer: AnswerWriter;
  judge: Judge;
  /** phase 'answers': done of 2 · instructions answers; phase 'judging': done of 2 · instructions judge replies */
  onProgress?: (phase: 'answers' | 'judging', done: number, total: number) => void;
  signal?: AbortSignal;
}

const stopped = () => new DOMException('judging stopped', 'AbortError');

/** Winner of the pair from the engine's outcome, where the engine's `a` is pick A's answer. */
function winnerOf(o: PairOutcome): JudgedPair['winner'] {
  return o === 'win' ? 'a' : o === 'loss' ? 'b' : o;
}

/** Pick B's win rate over pick A: B's wins / (B's wins + A's wins), ties and unparsed pairs apart, with a 95% Wilson interval. */
export function decidedRate(bWins: number, aWins: number): DecidedRate | null {
  return decidedWinRate(bWins, aWins);
}

/** Answers every instruction with both picks (A's answers first, then B's: one adapter swap each), then judges each pair in both orders. */
export async function judgeSides(o: JudgeSidesOptions): Promise<JudgeReport> {
  const total = 2 * o.prompts.length;
  let done = 0;
  const answers: Record<'a' | 'b', string[]> = { a: [], b: [] };
  for (const side of ['a', 'b'] as const) {
    for (const prompt of o.prompts) {
      if (o.signal?.aborted) throw stopped();
      answers[side].push(await o.answer(o[side], prompt));
      o.onProgress?.('answers', ++done, total);
    }
  }
  if (o.signal?.aborted) throw stopped();
  // the judge reads the instruction with its input (promptText), as the answering models did
  const pairs = o.prompts.map((p, i) => ({ instruction: promptText(p), a: answers.a[i], b: answers.b[i] }));
  const r = await judgePairs(o.judge, pairs, { signal: o.signal, onProgress: (p) => o.onProgress?.('judging', p.done, p.total) });
  const judged: JudgedPair[] = r.verdicts.map((v, i) => ({
    ...pairs[i],
    ab: v.ab,
    ba: v.ba,
    winner: winnerOf(v.outcome),
  }));
  const count = (w: JudgedPair['winner']) => judged.filter((p) => p.winner === w).length;
  const bWins = count('b');
  const aWins = count('a');
  return {
    a: o.a,
    b: o.b,
    pairs: judged,
    bWins,
    aWins,
    ties: count('tie'),
    unparsed: count('unparsed'),
    unparsedReplies: r.unparsedReplies,
    rate: decidedRate(bWins, aWins),
  };
}

let judging: AbortController | null = null;

/**
 * judge-run in the worker: the answers from generateText on the resident base
 * weights with each pick's adapter (worker/adapters.ts), the dataset's
 * template and the page's sampling settings; the verdicts from the loaded
 * judge (its chat template when it has one, else plain; greedy, a short reply).
 */
export async function runJudge(
  prompts: HeldOutPrompt[],
  a: AdapterUse,
  b: AdapterUse,
  settings: GenerateSettings,
  progress: (label: string, done: number, total: number) => void,
): Promise<JudgeReport> {
  requireSession();
  const j = requireJudge();
  if (prompts.length === 0) throw new Error('There are no instructions to judge: load a dataset with held-out rows (a validation share above 0).');
  if (judging) throw new Error('The judge is already running.');
  const ctrl = new AbortController();
  judging = ctrl;
  try {
    return await judgeSides({
      prompts,
      a,
      b,
      answer: (use, prompt) => generateUse(use, prompt, false, settings, () => {}, (label) => progress(label, 0, 1)).then((r) => r.text.trim()),
      judge: modelJudge(j.model, j.tokenizer, { signal: ctrl.signal }),
      signal: ctrl.signal,
      onProgress: (phase, done, total) => progress(phase === 'answers' ? 'Writing the answers' : 'Judging each pair in both orders', done, total),
    });
  } finally {
    judging = null;
  }
}

/** Stops a judge run (the answer or verdict being generated ends at its next token). */
export function stopJudge(): void {
  if (!judging) return;
  judging.abort();
  stopGeneration();
}
