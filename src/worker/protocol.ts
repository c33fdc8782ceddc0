/**
 * The one typed protocol between the page and the engine worker. The page
 * never touches the GPU: it posts Requests and renders Events.
 * Every request carries an id; its final reply echoes it (`done` or `error`),
 * and progress events on the way echo it too. A few events (`train-step`,
 * `gpu-memory`, `device-lost`) are pushed without a request and carry id 0.
 */
import type { TrainConfig } from '../engine/train/trainer';
import type { FrozenBits } from '../engine/frozen';
import type { GpuInfo } from '../engine/gpu/device';
import type { ModelShape } from '../engine/memory_model';
import type { DatasetStats, FieldMap, FormatId, RowError, RowLocation, TemplateId } from '../engine/data';
import type { SamplingOptions } from '../engine/sampling';
import type { Verdict } from '../engine/eval/judge';

/** A file handed to the worker (bytes are transferred, not copied). */
export interface FileBytes {
  name: string;
  bytes: Uint8Array;
}

/**
 * How to build the model: a Hugging Face folder's files, a llama2.c
 * checkpoint and its tokenizer.bin, or one GGUF file. A GGUF goes as its
 * File (or the Blob the model cache keeps): structured-cloned by reference,
 * the worker reads it by slices (io/byte_source.ts), so the page never holds it.
 */
export type ModelFiles =
  | { format: 'hf'; name: string; files: FileBytes[] }
  | { format: 'llama2c'; name: string; model: FileBytes; tokenizer: FileBytes }
  | { format: 'gguf'; name: string; file: Blob };

/**
 * Bytes per frozen matrix weight a model takes on the GPU at each choice of
 * frozen bits (UploadOptions.frozenBits; the mean over its matrices, rows
 * padded to whole blocks): `stored` is the upload without frozenBits, as the
 * file stores them (F32 4, BF16/F16 2, a GGUF's Q8_0/Q4_0/Q4_1/Q4_K blocks
 * as they are and its other types at bf16), named by `format`
 * ('f32', 'bf16', 'Q4_1 + Q8_0'). What the page weighs the choice against.
 */
export interface FrozenSizes {
  stored: { bytes: number; format: string };
  16: number;
  8: number;
  4: number;
}

/**
 * What a GGUF's header says (io/gguf_model.ts ggufSummary), before anything
 * is loaded: enough for the page's memory estimate (memory_model.ts).
 */
export interface GgufPeek {
  /** the file's name */
  name: string;
  fileBytes: number;
  /** general.architecture ('llama', 'qwen2') and general.name when the file has one */
  architecture: string;
  title: string | null;
  params: number;
  /** tensors per ggml type, e.g. { Q4_1: 210, F32: 61, Q8_0: 1 } */
  types: Record<string, number>;
  /** bytes of tensor data in the file */
  tensorBytes: number;
  shape: ModelShape;
  /** bytes per matrix weight on the GPU as the file stores them (frozenSizes.stored.bytes) */
  weightBytes: number;
  /** the same at each choice of frozen bits */
  frozenSizes: FrozenSizes;
  /** whether tokenizer.chat_template is set (instruct models) */
  chatTemplate: boolean;
}

export interface ModelSummary {
  name: string;
  format: 'hf' | 'llama2c' | 'gguf';
  params: number;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  context: number;
  /** templates this model's tokenizer can use (model = its own chat template) */
  templates: TemplateId[];
  /** what the memory model needs (src/engine/memory_model.ts), for models that are not in the catalogue */
  shape: ModelShape;
  /** bytes per frozen matrix weight on the GPU as loaded (the mean over its matrices): 4 f32, 2 bf16/f16, Q8_0 34/32, Q4_0 18/32, … */
  weightBytes: number;
  /** the frozen matrices' format(s) on the GPU, most weights first: 'f32', 'bf16', 'Q4_0', 'Q4_1 + Q8_0' */
  weightFormat: string;
  /** the frozen bits the load asked for (null: as the file stores them) */
  frozenBits: FrozenBits | null;
  /** what each choice of frozen bits would take on a reload of the same files */
  frozenSizes: FrozenSizes;
}

/**
 * GPU memory counted at the device (src/engine/gpu/memory.ts), in bytes: every
 * buffer created and not destroyed, tfjs's pool of freed buffers included.
 */
export interface GpuMemoryReport {
  /** the frozen weights: resident after the model's upload minus before it */
  weights: number;
  /** the LoRA adapter on the model and its optimizer state (0 without one) */
  adapter: number;
  /** everything the device holds now */
  live: number;
  /** the most held above weights + adapter since they were set up (generation, training: activations, temporaries, the pool) */
  peak: number;
  /** the most the device held since the worker started */
  devicePeak: number;
}

export interface DatasetOptions {
  template: TemplateId;
  format?: FormatId;
  fieldMap?: FieldMap;
  maxLength: number;
  validationFraction: number;
  seed: number;
  /** a second dataset to mix in (LIMIT: the mix matters); ratio = its share of the training rows */
  mix?: { name: string; bytes: Uint8Array; ratio: number } | null;
}

export interface DatasetReport {
  name: string;
  container: 'jsonl' | 'json-array';
  format: FormatId | null;
  fields: FieldMap;
  /** field names seen in the first rows, for re-mapping */
  keys: string[];
  warnings: string[];
  errors: RowError[];
  stats: DatasetStats;
  train: number;
  validation: number;
  mixed: number;
  /** prompts of held-out rows (for compare, the judge and fixed sample prompts) */
  heldOutPrompts: HeldOutPrompt[];
  /** set while training uses only a curated subset of the training rows (worker/curate.ts) */
  subset?: SubsetInfo;
}

/**
 * A prompt as generation renders it through the dataset's template
 * (data/templates.ts GenerationRequest): a held-out row's first user message,
 * its Alpaca `input` and its system message, or what Compare's boxes hold.
 * Raw mode feeds `instruction` as is and ignores the rest.
 */
export interface HeldOutPrompt {
  instruction: string;
  input?: string;
  system?: string;
}

/** What "Find near-duplicates / map" and "Pick N diverse" ask of the worker (worker/curate.ts; src/engine/curate does the work). */
export interface CurateRunOptions {
  /** Jaccard threshold of near-duplicates */
  threshold: number;
  /** rows to pick by greedy k-center; null: no pick */
  select: number | null;
  /** k-means clusters; null: the engine's default */
  clusters: number | null;
  filters: { minTokens?: number; maxTokens?: number; answerShorterThanPrompt: boolean; exactDuplicates: boolean };
}

/** Which rows of the last curation form the subset: its k-center pick when it made one, else every row the filters kept, only the first of each near-duplicate group when onePerGroup. */
export interface SubsetChoice {
  onePerGroup: boolean;
}

/** A subset of the training rows: its size, of how many training rows, how many of it were mixed in, and how the run names it. */
export interface SubsetInfo {
  rows: number;
  of: number;
  mixed: number;
  description: string;
  /** how its rows were chosen: the curation's filters or near-duplicate removal, its k-center pick, or the quality judge's scores (absent on subsets restored from runs saved before it was kept) */
  kind?: SubsetKind;
}

/** How a training subset was chosen (the LIMIT walkthrough's filter step tells its runs apart by it). */
export type SubsetKind = 'filtered' | 'diverse' | 'judge';

/** Reply to quality-run (worker/quality.ts): each training row's judge score 1–5 (null: unscored, with the reason) and the judge's reply (its top next tokens after "Score:"). */
export interface QualityView {
  judge: string;
  /** every training row, in file order */
  rows: { label: string; prompt: string; response: string; score: 1 | 2 | 3 | 4 | 5 | null; reply: string; reason: string | null }[];
  /** rows the judge read in this pass; the others came from the scores of earlier passes */
  read: number;
  cached: number;
  seconds: number;
}

/** Reply to curate-run: what the curation panel draws. Rows are named as data/location.ts rowLabel does ("line 17"), with the file's name when a mix is loaded. */
export interface CurateView {
  /** the files the training rows came from: 0 the dataset, 1 the one mixed in */
  sources: string[];
  /** training rows curated (the validation split is left as it is) */
  rows: number;
  dropped: { reason: string; rows: number; label: string }[];
  groups: { size: number; label: string }[];
  /** one per row the filters kept: its map position, k-means cluster, file, label and the start of its prompt */
  points: { x: number; y: number; cluster: number; source: number; label: string; prompt: string }[];
  clusters: { size: number; label: string; prompt: string }[];
  /** share of the embeddings' variance each map axis shows */
  explained: [number, number];
  distinctPrompts: number;
  /** the k-center pick's count, null without one */
  select: number | null;
  radius: number;
  /** the subset each choice makes */
  subsets: { all: SubsetInfo; onePerGroup: SubsetInfo };
  seconds: { nearDuplicates: number; embedding: number; map: number; selection: number };
}

/** One token of a sample, and whether it counts in the loss. */
export interface TokenPiece {
  text: string;
  kind: 'prompt' | 'response' | 'eos';
}

/**
 * "Save memory: recompute activations during backward" (TrainConfig.gradientCheckpointing).
 * auto: on exactly when the memory model says the run would not fit the GPU budget without it.
 */
export type SaveMemory = 'auto' | 'on' | 'off';

/** The engine's training config (src/engine/train/trainer.ts) plus what the page adds around it. */
export interface TrainSettings extends TrainConfig {
  /** sample the fixed prompts every N steps (0 = never) */
  sampleEvery: number;
  /** checkpoint to IndexedDB every N steps (and on pause/stop) */
  checkpointEvery: number;
  /** the page's choice; runs saved before it existed have none and read as 'auto' */
  saveMemory: SaveMemory;
}

/**
 * What a run starts with: the settings with the Save memory choice resolved
 * (src/ui/lib/save_memory.ts), and the page's GPU budget (the loss sizes its
 * logits chunks to it: TrainConfig.memoryBudgetBytes).
 */
export type ResolvedTrainSettings = TrainSettings & { gradientCheckpointing: boolean; memoryBudgetBytes: number };

export interface StepPoint {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  etaSec: number;
}

export interface EvalPoint {
  step: number;
  loss: number;
  perplexity: number;
}

export type TrainState = 'idle' | 'running' | 'pausing' | 'paused' | 'stopped' | 'done' | 'error';

export interface GenerateSettings extends SamplingOptions {
  maxNewTokens: number;
  seed: number;
}

/** One finished completion: its text, new tokens, why it stopped, and how long it took. */
export interface Generated {
  text: string;
  tokens: number;
  stopReason: string;
  ms: number;
  /** the in-context baseline's examples were cut for this prompt (or none fit): says how many were used */
  note?: string;
}

/**
 * One training run as kept in IndexedDB (db.ts `runs`; the heavy part, the
 * samples and the checkpoint, is in `runData` under the same id). Light
 * enough to list them all: settings, what was trained on, the loss history.
 */
export interface RunRecord {
  id: number;
  /** "Run 1", … until the user renames it */
  name: string;
  modelId: string;
  modelName: string;
  datasetName: string;
  /** subset: how the curated subset it trained on was chosen (SubsetInfo.description); absent when it trained on every row */
  dataset: { format: FormatId | null; train: number; validation: number; mixed: number; template: TemplateId; subset?: string; subsetKind?: SubsetKind };
  settings: TrainSettings;
  state: TrainState;
  step: number;
  totalSteps: number;
  steps: StepPoint[];
  /** held-out (validation split) loss at its evaluations; the last one is the run's held-out loss */
  evals: EvalPoint[];
  /** its multiple-choice accuracy (lm-eval-harness style, src/engine/eval/multiple_choice.ts), last scored */
  mc?: McScore;
  /** whether runData holds its checkpoint yet (a run is listed from its start, saved at its first checkpoint) */
  saved: boolean;
  createdAt: number;
  savedAt: number;
}

/** A multiple-choice benchmark's result for one model: acc and acc_norm over n items of the set `set`. */
export interface McScore {
  set: string;
  n: number;
  acc: number;
  accNorm: number;
}

/** Which adapter rides on the base weights for a completion or a held-out score: none, the one on the model now (a training run's or an imported one), or a saved run's. */
export type AdapterUse = 'base' | 'current' | { run: number } | 'incontext';

/** One blind vote between two sides (as the page showed them: a = left's pick). */
export interface Vote {
  a: 'base' | 'incontext' | number;
  b: 'base' | 'incontext' | number;
  winner: 'a' | 'b' | 'tie';
  at: number;
}

/** The judge model (issue 11 part 3), loaded beside the model under test (worker/judge.ts). */
export interface JudgeSummary {
  name: string;
  params: number;
  layers: number;
  context: number;
  /** whether its tokenizer has a chat template (instruct checkpoints do; the judge prompt goes through it) */
  chatTemplate: boolean;
  /** device bytes its weights took at upload */
  weightBytes: number;
  /** its frozen matrices' format(s) on the GPU (ModelSummary.weightFormat) */
  weightFormat: string;
}

/** One instruction's answers from pick A and pick B and the judge's verdict in both orders. */
export interface JudgedPair {
  instruction: string;
  a: string;
  b: string;
  /** A's answer shown as assistant A, B's as assistant B; verdict = the position chosen */
  ab: { raw: string; verdict: Verdict };
  /** B's answer shown as assistant A */
  ba: { raw: string; verdict: Verdict };
  /** the same pick in both orders wins; a tie or disagreement is a tie; an unparsed order makes the pair unparsed */
  winner: 'a' | 'b' | 'tie' | 'unparsed';
}

/** Reply to judge-run: counts from pick B's side, as Compare's blind-vote tally. */
export interface JudgeReport {
  a: AdapterUse;
  b: AdapterUse;
  pairs: JudgedPair[];
  bWins: number;
  aWins: number;
  ties: number;
  unparsed: number;
  /** judge replies (two per pair) that held no single verdict mark */
  unparsedReplies: number;
  /** bWins / (bWins + aWins) with a 95% Wilson interval; null without a decided pair */
  rate: { p: number; lo: number; hi: number } | null;
}

/**
 * One answer token of a token-shift reply (engine/eval/token_shift.ts): its
 * text as it appears in the answer, where the base model ranks it (1 = its top
 * choice), both models' probabilities of it, KL(p_tuned ‖ p_base) of the two
 * next-token distributions, and the base model's top alternatives.
 */
export interface ShiftPiece {
  text: string;
  baseRank: number;
  pBase: number;
  pTuned: number;
  kl: number;
  shift: 'unshifted' | 'marginal' | 'shifted';
  baseTop: { text: string; p: number }[];
}

/** What the in-context baseline holds (worker/incontext.ts): its examples, and what they cost in the context. */
export interface InContextSummary {
  /** examples asked for */
  k: number;
  choose: 'representative' | 'rows';
  /** the examples, in prefix order: "line N" (data/location.ts rowLabel), the prompt, tokens as a training row */
  rows: { label: string; prompt: string; tokens: number }[];
  /** tokens of all k examples before a query (chat templates: as history turns) */
  prefixTokens: number;
  /** the model's context length */
  context: number;
  maxNewTokens: number;
  /** prompts longer than this many tokens (template included) cut examples; ≤ 0: every prompt does */
  longestUncutPrompt: number;
  template: TemplateId;
}

export type Request =
  | { type: 'probe'; id: number }
  /**
   * loads a model (progress: the bytes of a GGUF read, then the upload); the host read comes first, so a broken file leaves the model on the GPU as it was.
   * frozenBits: the frozen matrices' bits on the GPU (the page resolves its Auto to bits first); absent: as the file stores them
   */
  | { type: 'load-model'; id: number; files: ModelFiles; cacheId: string; frozenBits?: FrozenBits }
  /** reads a GGUF's header only; the reply is `gguf-peek` */
  | { type: 'gguf-peek'; id: number; file: Blob; name: string }
  | { type: 'load-dataset'; id: number; name: string; bytes: Uint8Array; options: DatasetOptions }
  | { type: 'sample-tokens'; id: number; index: number; split: 'train' | 'validation' }
  | { type: 'train-start'; id: number; settings: ResolvedTrainSettings }
  | { type: 'train-pause'; id: number }
  | { type: 'train-resume'; id: number }
  | { type: 'train-stop'; id: number }
  /** restore a run saved in IndexedDB to go on training it (the model must be loaded first) */
  | { type: 'train-restore'; id: number; runId: number }
  /** deletes a run (not the one training): its IndexedDB records and, if resident, its adapter's GPU buffers */
  | { type: 'run-delete'; id: number; runId: number }
  | { type: 'generate'; id: number; prompt: HeldOutPrompt; raw: boolean; use: AdapterUse; settings: GenerateSettings }
  /** Compare's two sides streamed together: token events carry `side` (0 = uses[0]), the reply is `generated-pair` */
  | { type: 'generate-pair'; id: number; prompt: HeldOutPrompt; raw: boolean; uses: [AdapterUse, AdapterUse]; settings: GenerateSettings }
  | { type: 'generate-stop'; id: number }
  /** multiple-choice accuracy of each adapter choice on a benchmark file (JSONL/JSON: MMLU, ARC or HellaSwag rows); template: render questions with the dataset's template */
  | { type: 'mc-eval'; id: number; name: string; bytes: Uint8Array; uses: AdapterUse[]; template: boolean }
  /** held-out loss of each adapter choice, on the loaded dataset's validation rows */
  | { type: 'heldout-eval'; id: number; limit: number; uses: AdapterUse[] }
  | { type: 'export-adapter'; id: number }
  | { type: 'import-adapter'; id: number; config: string; safetensors: Uint8Array }
  | { type: 'export-recipe'; id: number; settings: ResolvedTrainSettings }
  /** loads the judge model beside the model under test (a previous judge is freed), its frozen matrices at frozenBits (absent: as the file stores them) */
  | { type: 'judge-load'; id: number; files: ModelFiles; frozenBits?: FrozenBits }
  /** answers each instruction with pick a and pick b (the dataset's template, these sampling settings), then the judge compares each pair in both orders */
  | { type: 'judge-run'; id: number; prompts: HeldOutPrompt[]; a: AdapterUse; b: AdapterUse; settings: GenerateSettings }
  | { type: 'judge-stop'; id: number }
  /** curation of the training rows (issue 15 item 3): filters, near-duplicates, the diversity map, optionally a k-center pick; progress per stage; the reply is `curated` */
  | { type: 'curate-run'; id: number; options: CurateRunOptions }
  | { type: 'curate-stop'; id: number }
  /** trains on the last curation's subset (null: on every training row); the reply is `subset` */
  | { type: 'curate-subset'; id: number; choice: SubsetChoice | null }
  /** the last curation's subset as JSONL, each row as it was in its file, in file order; the reply is `subset-jsonl` */
  | { type: 'curate-export'; id: number; choice: SubsetChoice }
  /** the loaded judge scores every training row 1–5 (issue 24; rows scored before cost nothing); progress per chunk; the reply is `quality` */
  | { type: 'quality-run'; id: number }
  | { type: 'quality-stop'; id: number }
  /** trains on the rows of the last scoring that scored ≥ minScore; the reply is `subset` */
  | { type: 'quality-subset'; id: number; minScore: number }
  /** sets the in-context baseline (AdapterUse 'incontext'): k examples from the training split, the k most representative (k-means over prompt embeddings) or the rows named by number (line, or position in a JSON array) */
  | { type: 'incontext-set'; id: number; k: number; choose: 'representative' | { rows: number[] }; maxNewTokens: number }
  /** the token shift of the last generate-pair's tuned side (the one that is not 'base'), from the ids it generated; prompt/raw/uses name that comparison */
  | { type: 'token-shift'; id: number; prompt: HeldOutPrompt; raw: boolean; uses: [AdapterUse, AdapterUse] };

export type Event =
  | { type: 'gpu'; id: number; info: GpuInfo }
  | { type: 'error'; id: number; message: string; kind: 'no-webgpu' | 'error' }
  | { type: 'progress'; id: number; label: string; done: number; total: number }
  | { type: 'model'; id: number; model: ModelSummary }
  | { type: 'gguf-peek'; id: number; peek: GgufPeek }
  /** pushed when a load failed after the previous model was freed (its upload to the GPU broke off): no model is loaded now */
  | { type: 'model-unloaded'; id: number; message: string }
  | { type: 'dataset'; id: number; report: DatasetReport }
  | { type: 'tokens'; id: number; pieces: TokenPiece[]; at: RowLocation; truncated: boolean }
  /** runId: the run training or last trained in this worker (null before any) */
  | { type: 'train-state'; id: number; state: TrainState; message?: string; step: number; totalSteps: number; adapterParams: number; runId: number | null }
  /** pushed when the worker wrote a run to IndexedDB (started, checkpointed, finished, deleted): the page re-reads the list */
  | { type: 'runs-changed'; id: number }
  | { type: 'train-step'; id: number; point: StepPoint }
  /** pushed after every request while a model is loaded, and after every training step */
  | { type: 'gpu-memory'; id: number; memory: GpuMemoryReport }
  | { type: 'train-eval'; id: number; point: EvalPoint }
  | { type: 'train-history'; id: number; steps: StepPoint[]; evals: EvalPoint[] }
  /** reply to train-restore: the run's settings and dataset, so the page shows what is being trained */
  | { type: 'restored'; id: number; settings: TrainSettings; report: DatasetReport; template: TemplateId }
  | { type: 'train-samples'; id: number; step: number; samples: { prompt: string; text: string }[] }
  /** side: which of a generate-pair's uses the text is for (absent for generate) */
  | { type: 'token'; id: number; text: string; side?: 0 | 1 }
  | { type: 'generated-pair'; id: number; sides: [Generated, Generated] }
  /** one side of a generate-pair has ended (it may end before the other); the request goes on until `generated-pair` */
  | { type: 'generated-side'; id: number; side: 0 | 1; result: Generated }
  | { type: 'generated'; id: number; text: string; tokens: number; stopReason: string; ms: number; note?: string }
  | { type: 'incontext'; id: number; summary: InContextSummary }
  /** reply to mc-eval: one score per requested use, in order; skipped = rows of the file that were not usable */
  | { type: 'mc'; id: number; scores: McScore[]; skipped: number }
  /** one point per requested use, in order */
  /** examples: for the in-context baseline's point, the mean number of its examples that fit beside a row (null for the others) */
  | { type: 'heldout'; id: number; points: EvalPoint[]; rows: number; examples?: (number | null)[] }
  | { type: 'adapter-files'; id: number; config: string; safetensors: Uint8Array }
  | { type: 'adapter-imported'; id: number; rank: number; params: number }
  | { type: 'recipe'; id: number; files: Record<string, string> }
  | { type: 'device-lost'; id: number; message: string }
  | { type: 'judge-model'; id: number; judge: JudgeSummary }
  | { type: 'judged'; id: number; report: JudgeReport }
  | { type: 'curated'; id: number; view: CurateView }
  | { type: 'quality'; id: number; view: QualityView }
  | { type: 'subset'; id: number; subset: SubsetInfo | null }
  | { type: 'subset-jsonl'; id: number; name: string; text: string; rows: number }
  /** reply to token-shift: side = the tuned side; cut = text after the last whole token (a stop string inside one); topShifted over every answer analysed in this worker, `answers` of them */
  | { type: 'token-shift-result'; id: number; side: 0 | 1; pieces: ShiftPiece[]; cut: string; topShifted: { text: string; count: number }[]; answers: number }
  | { type: 'done'; id: number };

export type RequestOf<T extends Request['type']> = Extract<Request, { type: T }>;
/** A request as the page writes it: the client adds the id. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;
