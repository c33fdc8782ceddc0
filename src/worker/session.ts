/**
 * What the worker holds between requests: the model, its tokenizer, the
 * prepared dataset and its split. Model loading (host first, then the GPU,
 * all or nothing), a GGUF's header peek, dataset preparation, the
 * sample viewer, generation and held-out evaluation live here; the training
 * loop is in training.ts.
 */
import {
  IGNORE_INDEX,
  createTemplate,
  locationKey,
  locationOf,
  mapRow,
  parseRows,
  prepareDataset,
  promptIds,
  shuffled,
  splitTrainValidation,
  type Conversation,
  type PromptTemplate,
  type RowLocation,
  type TemplateId,
  type TokenizedSample,
} from '../engine/data';
import { frozenBytes, frozenShape, isPacked, type Frozen, type FrozenBits } from '../engine/frozen';
import { generate, type GenerateResult } from '../engine/generate';
import { generatePair } from '../engine/generate_pair';
import type { ModelConfig } from '../engine/config';
import { getDevice } from '../engine/gpu/device';
import { gpuMemory, gpuSpan, measureResident, uploadTensors, type GpuSpan } from '../engine/gpu/memory';
import { releasePooledBuffers } from '../engine/gpu/pool';
import { blobByteSource } from '../engine/io/byte_source';
import { readGgufHeader } from '../engine/io/gguf';
import { ggufConfig, loadGguf } from '../engine/io/gguf_model';
import { loadHF } from '../engine/io/hf';
import { loadLlama2c } from '../engine/io/llama2c';
import type { FileSource, LoadedModel } from '../engine/io/weights';
import { modelParams, modelShape, type ModelShape } from '../engine/memory_model';
import { LoraAdapter } from '../engine/lora';
import { LlamaModel } from '../engine/model';
import { TextTokenizer } from '../engine/tokenizer';
import { evaluate } from '../engine/train/evaluate';
import { formatList, frozenSizes, type MatrixType } from './frozen_sizes';
import { carrySubset, type CurateSources, type TrainingSubset } from './subset';
import type { DatasetOptions, DatasetReport, EvalPoint, FrozenSizes, Generated, GenerateSettings, GgufPeek, GpuMemoryReport, HeldOutPrompt, ModelFiles, ModelSummary, TokenPiece } from './protocol';

export interface Session {
  model: LlamaModel;
  tokenizer: TextTokenizer;
  name: string;
  format: LoadedModel['source']['format'];
  cacheId: string;
  /** the frozen bits the load asked for (null: as the file stores them), and what each choice would take (for the page) */
  frozenBits: FrozenBits | null;
  frozenSizes: FrozenSizes;
  dataset: PreparedSplit | null;
  /** device bytes of the weights and of the adapter; `work` watches the peak above them */
  gpu: { weights: number; adapter: number; work: GpuSpan };
}

export interface PreparedSplit {
  name: string;
  template: TemplateId;
  maxLength: number;
  train: TokenizedSample[];
  validation: TokenizedSample[];
  /** the files the training rows came from, for curation (worker/curate.ts); absent after a restore */
  sources?: CurateSources;
  /** when set, training uses only these of `train` (a curated subset, worker/subset.ts) */
  subset?: TrainingSubset | null;
  heldOutPrompts: HeldOutPrompt[];
  /** what the page was told about this dataset (kept with checkpoints, for a reload) */
  report: DatasetReport;
}

export let session: Session | null = null;

export function requireSession(): Session {
  if (!session) throw new Error('Load a model first.');
  return session;
}

export function requireDataset(): PreparedSplit {
  const d = requireSession().dataset;
  if (!d) throw new Error('Load a dataset first.');
  return d;
}

export function filesSource(name: string, files: { name: string; bytes: Uint8Array }[]): FileSource {
  // a folder picker gives paths like "stories260K-hf/config.json": match on the base name
  const byName = new Map(files.map((f) => [f.name.split('/').pop()!, f.bytes]));
  return { name, read: async (file) => byName.get(file) ?? null };
}

/** Reads a model into host memory and checks it; nothing touches the GPU. A GGUF is read by slices of its Blob, `onRead` told the bytes. */
export async function readModel(files: ModelFiles, onRead?: (read: number, total: number) => void): Promise<LoadedModel> {
  switch (files.format) {
    case 'hf':
      return loadHF(filesSource(files.name, files.files));
    case 'llama2c':
      return loadLlama2c({ name: files.model.name, bytes: files.model.bytes }, { name: files.tokenizer.name, bytes: files.tokenizer.bytes });
    case 'gguf':
      return loadGguf(blobByteSource(files.file, files.name), { onProgress: onRead });
  }
}

/**
 * Builds the model and uploads every weight now (tfjs would at first use),
 * so the weights are measured, and the page's figure true, at load. All or
 * nothing: when the upload breaks off (a weight too large for a binding, the
 * device out of memory: thrown, or reported to the error scope), what was
 * uploaded is freed, tfjs's pool emptied, and the error goes on.
 */
export async function uploadModel(loaded: LoadedModel, frozenBits?: FrozenBits): Promise<{ model: LlamaModel; bytes: number }> {
  const device = getDevice();
  const made: { model?: LlamaModel } = {};
  const fail = (e: unknown): never => {
    made.model?.dispose();
    releasePooledBuffers();
    throw e;
  };
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let result: { value: LlamaModel; bytes: number } | null = null;
  let thrown: unknown = null;
  try {
    result = measureResident(() => {
      made.model = LlamaModel.fromLoaded(loaded, frozenBits === undefined ? {} : { frozenBits });
      uploadTensors(made.model);
      return made.model;
    });
  } catch (e) {
    thrown = e;
  }
  // both pops now, in one go: a scope left open would catch errors of whatever runs next
  const [oom, invalid] = await Promise.all([device.popErrorScope(), device.popErrorScope()]);
  const scoped = oom ?? invalid;
  if (thrown) fail(thrown);
  if (scoped) fail(new Error(`${loaded.source.name}: the upload to the GPU failed (${scoped.message.split('\n')[0] || scoped.constructor.name}); nothing of it is kept`));
  return { model: result!.value, bytes: result!.bytes };
}

export interface LoadModelOptions {
  progress?: (label: string, done: number, total: number) => void;
  /** called once the new model has been read, just before the old one is freed (the worker drops what rides on it: runs, adapters) */
  beforeSwap?: () => void;
  /** the frozen matrices' bits on the GPU (UploadOptions.frozenBits); absent: as the file stores them */
  frozenBits?: FrozenBits;
}

/**
 * Loads a model in place of the one on the GPU. The new one is read and
 * checked on the host first: a truncated or corrupt file fails there and the
 * old model stays as it was, adapter and all. Only then is the old one freed
 * (the GPU may not hold both) and the new one uploaded, all or nothing
 * (uploadModel): when that fails, no model is loaded and nothing of either
 * is left on the GPU.
 */
export async function loadModel(files: ModelFiles, cacheId: string, opts: LoadModelOptions = {}): Promise<ModelSummary> {
  const progress = opts.progress ?? (() => {});
  const loaded = await readModel(files, (read, total) => progress(`Reading ${files.name}`, read, total));
  const tokenizer = new TextTokenizer(loaded.tokenizer);
  const sizes = frozenSizes(hostMatrices(loaded));
  opts.beforeSwap?.();
  const old = session;
  session = null;
  if (old) {
    if (old.model.adapter instanceof LoraAdapter) old.model.adapter.dispose(); // an imported adapter
    old.model.dispose();
    old.gpu.work.end();
  }
  releasePooledBuffers(); // tfjs would keep the old model's buffers in its pool for good
  progress(opts.frozenBits && opts.frozenBits < 16 ? `Quantizing to ${opts.frozenBits} bits and uploading to the GPU` : 'Uploading weights to the GPU', 0, 1);
  const { model, bytes: weights } = await uploadModel(loaded, opts.frozenBits);
  session = {
    model,
    tokenizer,
    name: files.name,
    format: loaded.source.format,
    cacheId,
    frozenBits: opts.frozenBits ?? null,
    frozenSizes: sizes,
    dataset: null,
    gpu: { weights, adapter: 0, work: gpuSpan() },
  };
  return summary(session);
}

/** A loaded model's frozen matrices as the file typed them (every 2-D weight: the embedding, lm_head when untied, the layers' projections). */
function hostMatrices(m: LoadedModel): MatrixType[] {
  const out: MatrixType[] = [];
  for (const t of m.weights.values()) {
    if (t.shape.length !== 2) continue;
    const type = t.gguf?.type ?? (t.half ? t.half.format.toUpperCase() : 'F32');
    out.push({ type, rows: t.shape[0], cols: t.shape[1] });
  }
  return out;
}

/** The frozen matrices as they sit on the GPU: mean bytes per weight and their format(s), most weights first. */
export function residentWeights(model: LlamaModel): { bytes: number; format: string } {
  const p = model.params;
  const all = new Set<Frozen>([p.embed, p.lmHead, ...p.layers.flatMap((l) => [l.qkv, l.o, l.gateUp, l.down])]);
  let bytes = 0;
  let weights = 0;
  const byFormat = new Map<string, number>();
  for (const w of all) {
    const [rows, cols] = frozenShape(w);
    const f = isPacked(w) ? w.format : 'f32';
    bytes += frozenBytes(w);
    weights += rows * cols;
    byFormat.set(f, (byFormat.get(f) ?? 0) + rows * cols);
  }
  return { bytes: weights ? bytes / weights : 0, format: formatList(byFormat) };
}

/** What a GGUF's header says, for the page to show before it is loaded (the header alone is read: a few MB at most, the tokenizer's vocabulary). */
export async function peekGguf(file: Blob, name: string): Promise<GgufPeek> {
  const h = await readGgufHeader(blobByteSource(file, name));
  const shape = modelShape(ggufConfig(h, name));
  const text = (key: string) => {
    const v = h.metadata.get(key);
    return typeof v === 'string' ? v : null;
  };
  const types: Record<string, number> = {};
  for (const t of h.tensors) types[t.typeName] = (types[t.typeName] ?? 0) + 1;
  // the matrices in HF layout (rows, cols); the vectors (norms, biases) stay f32 at every choice
  const sizes = frozenSizes(h.tensors.filter((t) => t.shape.length === 2).map((t) => ({ type: t.typeName, rows: t.shape[0], cols: t.shape[1] })));
  return {
    name,
    fileBytes: file.size,
    architecture: text('general.architecture') ?? '?',
    title: text('general.name'),
    params: modelParams(shape),
    types,
    tensorBytes: h.tensors.reduce((n, t) => n + (t.bytes ?? 0), 0),
    shape,
    weightBytes: sizes.stored.bytes,
    frozenSizes: sizes,
    chatTemplate: text('tokenizer.chat_template') !== null,
  };
}

/**
 * Sets up the model's adapter with `create` (which uploads what it makes:
 * uploadTensors) and measures its bytes; first frees what the previous
 * adapter left in tfjs's pool, so the new one counts as new bytes. Restarts
 * the peak above weights + adapter.
 */
export function measureAdapter<T>(create: () => T): T {
  const s = requireSession();
  releasePooledBuffers();
  const { value, bytes } = measureResident(create);
  s.gpu.adapter = bytes;
  s.gpu.work.end();
  s.gpu.work = gpuSpan();
  return value;
}

/** What the device holds now, for the page (pushed as `gpu-memory`). */
export function gpuMemoryReport(): GpuMemoryReport {
  const m = gpuMemory();
  const g = session?.gpu;
  return { weights: g?.weights ?? 0, adapter: g?.adapter ?? 0, live: m.live, peak: g ? g.work.peakAbove() : 0, devicePeak: m.devicePeak };
}


export function summary(s: Session): ModelSummary {
  const c = s.model.config;
  const resident = residentWeights(s.model);
  return {
    name: s.name,
    format: s.format,
    params: s.model.numParams(),
    layers: c.numLayers,
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    vocab: c.vocabSize,
    context: c.maxPositions,
    templates: s.tokenizer.chatTemplate ? ['plain', 'alpaca', 'chatml', 'model'] : ['plain', 'alpaca', 'chatml'],
    shape: modelShape(c),
    weightBytes: resident.bytes,
    weightFormat: resident.format,
    frozenBits: s.frozenBits,
    frozenSizes: s.frozenSizes,
  };
}


/** Parses, maps, tokenizes and splits a dataset (plus an optional second one mixed into training). */
export async function loadDataset(name: string, bytes: Uint8Array, o: DatasetOptions, progress: (label: string, done: number, total: number) => void): Promise<DatasetReport> {
  const s = requireSession();
  const previous = s.dataset; // its curated subset carries over to a new preparation of the same files
  const maxLength = Math.min(o.maxLength, s.model.config.maxPositions);
  const opts = { tokenizer: s.tokenizer, template: o.template, maxLength };
  const prepared = await prepareDataset(bytes, { ...opts, format: o.format, fieldMap: o.fieldMap, onProgress: (d, t) => progress('Tokenizing', d, t) });
  const parsed = await parseRows(bytes);
  const keys = [...new Set(parsed.rows.slice(0, 50).flatMap((r) => Object.keys(r.value)))];
  const { train, validation } = splitTrainValidation(prepared.samples, { seed: o.seed, validationFraction: o.validationFraction });

  // the prompts of held-out rows (instruction, Alpaca input, system message), for the compare view, the judge and the fixed sample prompts
  const rows = new Map(parsed.rows.map((r) => [locationKey(r), r.value]));
  const heldOutPrompts: HeldOutPrompt[] = [];
  if (prepared.format) {
    for (const v of validation) {
      const row = rows.get(locationKey(v));
      if (!row) continue;
      try {
        const conv = mapRow(row, { format: prepared.format, fields: prepared.fields });
        if (conv.kind === 'conversation') heldOutPrompts.push(rowPrompt(conv as Conversation));
      } catch {
        // rows that failed mapping are in the report already
      }
      if (heldOutPrompts.length >= 20) break;
    }
  }

  let mixed: TokenizedSample[] = [];
  let mixFile: CurateSources['files'][number] | null = null;
  if (o.mix && o.mix.ratio > 0) {
    const other = await prepareDataset(o.mix.bytes, { ...opts, onProgress: (d, t) => progress(`Tokenizing ${o.mix!.name}`, d, t) });
    mixFile = { name: o.mix.name, bytes: o.mix.bytes, format: other.format, fieldMap: other.fields };
    if (other.samples.length === 0) throw new Error(`${o.mix.name}: no usable rows to mix in (${other.errors[0]?.reason ?? other.warnings[0] ?? 'unknown format'})`);
    const ratio = Math.min(0.9, o.mix.ratio);
    const want = Math.round((train.length * ratio) / (1 - ratio));
    mixed = shuffled(other.samples, o.seed + 1).slice(0, want);
  }
  const trainAll = mixed.length ? shuffled([...train, ...mixed], o.seed + 2) : train;
  const report: DatasetReport = {
    name,
    container: prepared.container,
    format: prepared.format,
    fields: prepared.fields,
    keys,
    warnings: prepared.warnings,
    errors: prepared.errors,
    stats: prepared.stats,
    train: trainAll.length,
    validation: validation.length,
    mixed: mixed.length,
    heldOutPrompts,
  };
  const sources: CurateSources = { files: [{ name, bytes, format: prepared.format, fieldMap: prepared.fields }, ...(mixFile ? [mixFile] : [])], mixed: new Set(mixed) };
  s.dataset = { name, template: o.template, maxLength, train: trainAll, validation, heldOutPrompts, report };
  s.dataset.sources = sources;
  carrySubset(previous, s.dataset);
  return report;
}

/** A row's prompt as its training sample renders it: the first user message, Alpaca's input, the system message. */
export function rowPrompt(conv: Conversation): HeldOutPrompt {
  return { instruction: conv.turns[0].content, ...(conv.input ? { input: conv.input } : {}), ...(conv.system ? { system: conv.system } : {}) };
}

/** A sample's tokens, each with what it counts for in the loss (labels are not shifted: see data/tokenize.ts). */
export function sampleTokens(index: number, split: 'train' | 'validation'): { pieces: TokenPiece[]; at: RowLocation; truncated: boolean } {
  const s = requireSession();
  const d = requireDataset();
  const list = split === 'train' ? d.train : d.validation;
  if (list.length === 0) throw new Error(`the ${split} split is empty`);
  const sample = list[((index % list.length) + list.length) % list.length];
  const eos = new Set([...s.tokenizer.eosIds, ...s.model.config.eosTokenIds]);
  const pieces: TokenPiece[] = decodePieces(s.tokenizer, sample.ids, false).map((text, i) => {
    const trained = sample.labels[i] !== IGNORE_INDEX;
    return { text, kind: !trained ? 'prompt' : eos.has(sample.ids[i]) ? 'eos' : 'response' };
  });
  return { pieces, at: locationOf(sample), truncated: sample.truncated };
}

/** Each id's text as it appears in the decoded sequence (the sample viewer's pieces; the token-shift view's). */
export function decodePieces(tokenizer: TextTokenizer, ids: number[], skipSpecial = true): string[] {
  const pieces: string[] = [];
  let prev = '';
  for (let i = 0; i < ids.length; i++) {
    // decode prefixes so multi-byte characters and leading spaces come out right
    const text = tokenizer.decode(ids.slice(0, i + 1), skipSpecial);
    pieces.push(text.startsWith(prev) ? text.slice(prev.length) : tokenizer.idToToken(ids[i]));
    prev = text;
  }
  return pieces;
}

function template(s: Session): PromptTemplate {
  return createTemplate(s.dataset?.template ?? 'plain', s.tokenizer);
}

let generation: AbortController | null = null;

export function stopGeneration(): void {
  generation?.abort();
}

/** Streams a completion; `raw` feeds the prompt as is, otherwise through the dataset's template. */
export async function generateText(
  prompt: HeldOutPrompt,
  raw: boolean,
  useAdapter: boolean,
  g: GenerateSettings,
  onText: (text: string) => void,
  /** ids to feed in place of the prompt's own (the in-context baseline's prefix + prompt, worker/incontext.ts) */
  promptIdsOverride?: number[],
): Promise<{ text: string; tokens: number; stopReason: string; ms: number }> {
  const s = requireSession();
  if (useAdapter && !s.model.adapter) throw new Error('There is no adapter yet: train one or import one.');
  const { tpl, ids: own } = generationInput(s, prompt, raw);
  const ids = promptIdsOverride ?? own;
  const ctrl = new AbortController();
  generation = ctrl;
  const before = s.model.adapterEnabled;
  s.model.adapterEnabled = useAdapter;
  let out = '';
  let stopped = false;
  const t0 = performance.now();
  try {
    const res = await generate(s.model, ids, {
      ...g,
      maxNewTokens: Math.min(g.maxNewTokens, s.model.config.maxPositions - ids.length),
      signal: ctrl.signal,
      onToken: (_id, all) => {
        out = s.tokenizer.decode(all);
        const cut = raw ? null : cutAtStop(tpl, out);
        if (cut !== null) {
          out = cut;
          stopped = true;
          ctrl.abort();
        }
        onText(out);
      },
    });
    return { text: out, tokens: res.ids.length, stopReason: stopped ? 'stop string' : res.stopReason, ms: performance.now() - t0 };
  } finally {
    s.model.adapterEnabled = before;
    if (generation === ctrl) generation = null;
  }
}

/** The prompt's ids as generation feeds them: the instruction as is when `raw` (input and system ignored), otherwise through the dataset's template. */
export function generationInput(s: Session, prompt: HeldOutPrompt, raw: boolean): { tpl: PromptTemplate; ids: number[] } {
  const tpl = template(s);
  const text = raw ? prompt.instruction : tpl.generationPrompt({ instruction: prompt.instruction, input: prompt.input, system: prompt.system });
  return { tpl, ids: raw ? s.tokenizer.encodePrompt(text) : promptIds(s.tokenizer, text) };
}

/** The text before the template's first stop string, or null when it holds none. */
function cutAtStop(tpl: PromptTemplate, text: string): string | null {
  const stop = tpl.stopStrings.find((x) => text.includes(x));
  return stop ? text.slice(0, text.indexOf(stop)) : null;
}

/** The last generatePairText's prompt ids and each side's generated ids (a stop string's token included), for the token-shift view. */
export let lastPairIds: { model: LlamaModel; prompt: number[]; answers: number[][] } | null = null;

/**
 * Compare's sides in one batch (engine/generate_pair.ts): the same prompt,
 * seed and sampling, side i's LoRA term times loraScales[i] (0 = base, 1 =
 * the adapter on the model), both streaming at once. Each side is what
 * generateText would return for it: it ends at its own stop string (the
 * other goes on), and the stop button ends both.
 */
export async function generatePairText(
  prompt: HeldOutPrompt,
  raw: boolean,
  loraScales: number[],
  g: GenerateSettings,
  onText: (side: number, text: string) => void,
  onDone: (side: number, result: Generated) => void = () => {},
): Promise<Generated[]> {
  const s = requireSession();
  const adapterOn = loraScales.some((x) => x !== 0);
  if (adapterOn && !s.model.adapter) throw new Error('There is no adapter yet: train one or import one.');
  const { tpl, ids } = generationInput(s, prompt, raw);
  const ctrl = new AbortController();
  generation = ctrl;
  const sides = loraScales.map(() => ({ ctrl: new AbortController(), text: '', stopped: false }));
  const generated = (i: number, r: GenerateResult): Generated => ({ text: sides[i].text, tokens: r.ids.length, stopReason: sides[i].stopped ? 'stop string' : r.stopReason, ms: r.prefillMs + r.decodeMs });
  const before = s.model.adapterEnabled;
  s.model.adapterEnabled = adapterOn;
  try {
    const res = await generatePair(s.model, ids, loraScales, {
      ...g,
      maxNewTokens: Math.min(g.maxNewTokens, s.model.config.maxPositions - ids.length),
      signal: ctrl.signal,
      rowSignals: sides.map((x) => x.ctrl.signal),
      onToken: (side, _id, all) => {
        const x = sides[side];
        x.text = s.tokenizer.decode(all);
        const cut = raw ? null : cutAtStop(tpl, x.text);
        if (cut !== null) {
          x.text = cut;
          x.stopped = true;
          x.ctrl.abort();
        }
        onText(side, x.text);
      },
      onEnd: (side, r) => onDone(side, generated(side, r)),
    });
    lastPairIds = { model: s.model, prompt: ids, answers: res.map((r) => r.ids) };
    return res.map((r, i) => generated(i, r));
  } finally {
    s.model.adapterEnabled = before;
    if (generation === ctrl) generation = null;
  }
}

/** Mean response-token loss on (at most `limit`) held-out rows, with the adapter on or off. */
export async function heldOutLoss(useAdapter: boolean, limit: number): Promise<EvalPoint & { rows: number }> {
  const s = requireSession();
  const d = requireDataset();
  const rows = limit > 0 ? d.validation.slice(0, limit) : d.validation;
  if (rows.length === 0) throw new Error('There are no held-out rows: set a validation share above 0.');
  const before = s.model.adapterEnabled;
  s.model.adapterEnabled = useAdapter;
  try {
    const r = await evaluate(s.model, rows, { batchSize: 8, maxLength: d.maxLength });
    return { step: 0, loss: r.loss, perplexity: r.perplexity, rows: rows.length };
  } finally {
    s.model.adapterEnabled = before;
  }
}
