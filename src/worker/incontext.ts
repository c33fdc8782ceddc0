/**
 * The in-context baseline in the worker (issue 15 item 2): the pick
 * 'incontext' is the base model (adapter off) answering after k example
 * exchanges from the training split (engine/incontext.ts builds and cuts the
 * prompt). The examples are the k most representative training prompts
 * (k-means over the base model's prompt embeddings, engine/curate: each
 * cluster's member nearest its centroid, largest cluster first) or the rows
 * the user names by number.
 *
 * The baseline is set once ('incontext-set') and holds until another model
 * or dataset is loaded; every answer of the 'incontext' pick (generate,
 * Compare's sides, the judge) goes through generateUse, which builds the
 * prompt for that query and notes when examples had to be dropped for it.
 */
import { embedPrompts, kMeans, promptAndResponse } from '../engine/curate';
import { IGNORE_INDEX, createTemplate, locationKey, locationOf, mapRows, parseRows, promptIds, rowLabel, rowNumber, tokenizeSegments, type Conversation, type RowLocation, type TokenizedSample } from '../engine/data';
import { inContextNote, inContextPrompt, inContextScoredRow, renderInContext } from '../engine/incontext';
import { evaluate } from '../engine/train/evaluate';
import { withAdapter } from './adapters';
import { embeddingCache } from './embeddings';
import type { AdapterUse, EvalPoint, Generated, GenerateSettings, HeldOutPrompt, InContextSummary, RequestOf } from './protocol';
import { generateText, requireDataset, requireSession } from './session';

interface Example extends RowLocation {
  sample: Conversation;
}

let baseline: { examples: Example[]; summary: InContextSummary } | null = null;

/** Forgets the baseline (another model or dataset: its rows and token counts no longer hold). */
export function forgetInContext(): void {
  baseline = null;
}

const MAX_K = 64;

/** The loaded file's prompt/reply rows that are in the training split, in file order. */
async function trainingRows(): Promise<{ rows: Example[]; heldOut: Set<string>; rejected: Map<string, string>; located: RowLocation[] }> {
  const d = requireDataset();
  const file = d.sources?.files[0];
  if (!file || file.format === null) throw new Error(`Load ${d.name} again to pick in-context examples from it (a restored run keeps its tokens, not its rows).`);
  const parsed = await parseRows(file.bytes);
  const mapped = mapRows(parsed.rows, { format: file.format, fields: file.fieldMap });
  const train = new Set(d.train.filter((x) => !d.sources!.mixed.has(x)).map((x) => locationKey(x))); // rows mixed in from a second file are not this file's
  const heldOut = new Set(d.validation.map((x) => locationKey(x)));
  const rejected = new Map(d.report.errors.map((e) => [locationKey(e), e.reason]));
  const rows: Example[] = [];
  for (const m of mapped.samples) {
    const k = locationKey(m);
    if (m.sample.kind === 'conversation' && train.has(k) && !heldOut.has(k)) rows.push({ ...locationOf(m), sample: m.sample });
  }
  return { rows, heldOut, rejected, located: parsed.rows.map(locationOf) };
}

/** The rows named by number (a line, or a JSON array's 1-based position), or an error naming the first that is no training row. */
function chosenRows(numbers: number[], t: Awaited<ReturnType<typeof trainingRows>>): Example[] {
  return numbers.map((n) => {
    const hit = t.rows.find((r) => rowNumber(r) === n);
    if (hit) return hit;
    const at = t.located.find((r) => rowNumber(r) === n);
    if (!at) throw new Error(`There is no row ${n} in ${requireDataset().name}.`);
    const k = locationKey(at);
    if (t.heldOut.has(k)) throw new Error(`${rowLabel(at)} is a held-out row (the validation split): in-context examples come from the training rows.`);
    if (t.rejected.has(k)) throw new Error(`${rowLabel(at)} is not used for training: ${t.rejected.get(k)}.`);
    throw new Error(`${rowLabel(at)} is not a training row with a prompt and a reply.`);
  });
}

/** Sets the baseline's examples and reports what they are and what they cost. */
export async function setInContext(req: RequestOf<'incontext-set'>, progress: (label: string, done: number, total: number) => void): Promise<InContextSummary> {
  const s = requireSession();
  const d = requireDataset();
  const t = await trainingRows();
  if (t.rows.length === 0) throw new Error(`${d.name} has no training rows with a prompt and a reply to use as examples.`);
  let examples: Example[];
  if (req.choose === 'representative') {
    const k = Math.floor(req.k);
    if (!(k >= 1 && k <= MAX_K)) throw new Error(`k must be a whole number from 1 to ${MAX_K} (got ${req.k}).`);
    const emb = await embedPrompts(s.model, t.rows.map((r) => promptIds(s.tokenizer, promptAndResponse(r.sample).prompt)), {
      onProgress: (done, total) => progress('Embedding the training prompts', done, total),
      cache: embeddingCache(s.model),
    });
    examples = kMeans(emb, k, { seed: 1 }).clusters.map((c) => t.rows[c.representative]);
  } else {
    if (req.choose.rows.length === 0) throw new Error('Name at least one training row.');
    if (req.choose.rows.length > MAX_K) throw new Error(`At most ${MAX_K} examples (got ${req.choose.rows.length}).`);
    examples = chosenRows(req.choose.rows, t);
  }
  const tpl = createTemplate(d.template, s.tokenizer);
  const context = s.model.config.maxPositions;
  const empty = renderInContext(s.tokenizer, tpl, [], { instruction: '' });
  const all = renderInContext(s.tokenizer, tpl, examples.map((e) => e.sample), { instruction: '' });
  const prefixTokens = all.ids.length - empty.ids.length;
  const summary: InContextSummary = {
    k: req.choose === 'representative' ? Math.floor(req.k) : req.choose.rows.length,
    choose: req.choose === 'representative' ? 'representative' : 'rows',
    rows: examples.map((e) => ({ label: rowLabel(e), prompt: promptAndResponse(e.sample).prompt, tokens: tokenizeSegments(s.tokenizer, tpl.segments(e.sample)).ids.length })),
    prefixTokens,
    context,
    maxNewTokens: req.maxNewTokens,
    longestUncutPrompt: context - req.maxNewTokens - prefixTokens,
    template: d.template,
  };
  baseline = { examples, summary };
  return summary;
}

export function requireInContext(): { examples: Example[]; summary: InContextSummary } {
  if (!baseline) throw new Error('Set the in-context baseline first (Compare: In-context baseline).');
  return baseline;
}

/**
 * One answer of `use`: a run's or the base model's on the resident weights
 * (worker/adapters.ts), or the in-context baseline's: adapter off, its
 * examples before the prompt, as many as the context holds beside this
 * prompt and the answer (`note` says when some were dropped).
 */
export async function generateUse(use: AdapterUse, prompt: HeldOutPrompt, raw: boolean, settings: GenerateSettings, onText: (text: string) => void, progress: (label: string) => void = () => {}): Promise<Generated> {
  if (use !== 'incontext') return withAdapter(use, (on) => generateText(prompt, raw, on, settings, onText), progress);
  const s = requireSession();
  const d = requireDataset();
  const b = requireInContext();
  if (raw) throw new Error("The in-context baseline writes its examples through the dataset's template: untick Raw text to use it.");
  const o = { context: s.model.config.maxPositions, maxNewTokens: settings.maxNewTokens };
  const p = inContextPrompt(s.tokenizer, createTemplate(d.template, s.tokenizer), b.examples.map((e) => e.sample), { instruction: prompt.instruction, input: prompt.input, system: prompt.system }, o);
  const note = inContextNote(p, o);
  const r = await withAdapter('base', (on) => generateText(prompt, false, on, settings, onText, p.ids));
  return note ? { ...r, note } : r;
}

/**
 * Held-out loss of the baseline: each of (at most `limit`) validation rows
 * after as many examples as fit beside it (engine/incontext.ts
 * inContextScoredRow), adapter off, the loss on the row's reply tokens only.
 * `examples`: the mean number of examples the rows kept.
 */
export async function heldOutLossInContext(limit: number): Promise<EvalPoint & { rows: number; examples: number }> {
  const s = requireSession();
  const d = requireDataset();
  const b = requireInContext();
  const rows = limit > 0 ? d.validation.slice(0, limit) : d.validation;
  if (rows.length === 0) throw new Error('There are no held-out rows: set a validation share above 0.');
  const file = d.sources?.files[0];
  if (!file || file.format === null) throw new Error(`Load ${d.name} again to score the in-context baseline on its held-out rows.`);
  const mapped = mapRows((await parseRows(file.bytes)).rows, { format: file.format, fields: file.fieldMap });
  const byKey = new Map(mapped.samples.map((m) => [locationKey(m), m.sample]));
  const tpl = createTemplate(d.template, s.tokenizer);
  const context = s.model.config.maxPositions;
  let used = 0;
  const samples: TokenizedSample[] = rows.map((v) => {
    const row = byKey.get(locationKey(v));
    if (!row || row.kind !== 'conversation') throw new Error(`${rowLabel(v)} of ${d.name} is no prompt/reply row: cannot score it after examples.`);
    const r = inContextScoredRow(s.tokenizer, tpl, b.examples.map((e) => e.sample), row, context, v);
    used += r.used;
    return { ids: r.ids, labels: r.labels, ...locationOf(v), truncated: v.truncated, responseTokens: r.labels.filter((l) => l !== IGNORE_INDEX).length, boundaryMerges: 0 };
  });
  return withAdapter('base', async () => {
    const r = await evaluate(s.model, samples, { batchSize: 4, maxLength: context });
    return { step: 0, loss: r.loss, perplexity: r.perplexity, rows: rows.length, examples: used / rows.length };
  });
}
