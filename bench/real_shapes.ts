/**
 * Throughput at the catalogue's real shapes (random weights, written by
 * test/helpers/real_checkpoints.ts in the layout the page downloads): for each
 * model, prefill tokens/s (one 64-token prompt), decode tokens/s (16 KV-cache
 * steps) and one LoRA training micro-batch's tokens/s (2 rows x 64 tokens, all
 * trained, r 8 on all 7 linears), each measured after a warm-up run of the
 * same shapes so shader compilation is not counted.
 *
 * At full depth this is heavy on a CPU-emulated adapter: Qwen2.5-0.5B is 24
 * layers with a 151936 x 896 LM head. Pass `layers` (e.g. 2) for a quick run.
 */
import { createTemplate } from '../src/engine/data/templates';
import { tokenizeSample } from '../src/engine/data/tokenize';
import { generate } from '../src/engine/generate';
import { initGpu } from '../src/engine/gpu/device';
import { loadModelPath } from '../src/engine/io/node_load';
import { LlamaModel } from '../src/engine/model';
import { TextTokenizer } from '../src/engine/tokenizer';
import { DEFAULT_TRAIN_CONFIG, Trainer } from '../src/engine/train/trainer';
import { fullDepth, REAL_MODEL_IDS, realCheckpoint, type RealModelId } from '../test/helpers/real_checkpoints';

const PROMPT_TOKENS = 64;
const DECODE_STEPS = 16;
const TRAIN_ROWS = 2;
const TRAIN_TOKENS = 64;
const TEXT =
  'Once upon a time, in a small town by the sea, there lived a girl named Amy who loved to read. Every morning she walked to the ' +
  'library, chose a new book and sat by the window until the sun went down. One day she found a book with no title and no author. ';

interface RowBase {
  name: 'real_shape';
  model: RealModelId;
  layers: number;
}

export interface RealShapeRow extends RowBase {
  phase: 'prefill' | 'decode' | 'train';
  tokens: number;
  seconds: number;
  tokens_per_s: number;
}

/** `n` ids of real text: BOS (if any) + the tokenized text, repeated as needed. */
function realIds(tok: TextTokenizer, n: number): number[] {
  let text = TEXT;
  while (tok.encodePrompt(text).length < n) text += TEXT;
  return tok.encodePrompt(text).slice(0, n);
}

async function inferenceRows(model: LlamaModel, tok: TextTokenizer, base: RowBase): Promise<RealShapeRow[]> {
  const ids = realIds(tok, PROMPT_TOKENS);
  const run = () => generate(model, ids, { maxNewTokens: DECODE_STEPS + 1, temperature: 0, stopIds: [] }); // token 1 comes from the prefill
  await run(); // warm-up: compiles every shader for these shapes
  const r = await run();
  return [
    { ...base, phase: 'prefill', tokens: PROMPT_TOKENS, seconds: r.prefillMs / 1000, tokens_per_s: (PROMPT_TOKENS / r.prefillMs) * 1000 },
    { ...base, phase: 'decode', tokens: DECODE_STEPS, seconds: r.decodeMs / 1000, tokens_per_s: (DECODE_STEPS / r.decodeMs) * 1000 },
  ];
}

async function trainRow(model: LlamaModel, tok: TextTokenizer, base: RowBase): Promise<RealShapeRow> {
  // plain text samples: every token after the first is trained (the heaviest case for the LM head)
  const template = createTemplate('plain', tok); // unused by text samples, required by the signature
  const samples = Array.from({ length: TRAIN_ROWS }, (_, i) => tokenizeSample(tok, { kind: 'text', text: TEXT.slice(i * 7) + TEXT + TEXT }, template, TRAIN_TOKENS, { line: i + 1 }));
  for (const s of samples) if (s.ids.length !== TRAIN_TOKENS) throw new Error(`bench: a training row has ${s.ids.length} tokens, want ${TRAIN_TOKENS}`);
  const trainer = new Trainer(model, samples, [], {
    ...DEFAULT_TRAIN_CONFIG, batchSize: TRAIN_ROWS, maxLength: TRAIN_TOKENS, maxSteps: 2, warmup: 0, schedule: 'constant', shuffle: false,
  });
  try {
    await trainer.step(); // warm-up
    const t0 = performance.now();
    await trainer.step();
    const seconds = (performance.now() - t0) / 1000;
    const tokens = TRAIN_ROWS * TRAIN_TOKENS;
    return { ...base, phase: 'train', tokens, seconds, tokens_per_s: tokens / seconds };
  } finally {
    trainer.dispose();
    trainer.adapter.dispose();
    model.adapter = null;
  }
}

/**
 * Rows `{name: 'real_shape', model, layers, phase, tokens, seconds, tokens_per_s}` for each
 * model (default: all five of test/helpers/real_checkpoints.ts) at full depth or `layers`.
 */
export async function benchRealShapes(opts: { models?: string[]; layers?: number } = {}): Promise<Record<string, unknown>[]> {
  const ids = (opts.models ?? [...REAL_MODEL_IDS]) as RealModelId[];
  for (const id of ids) if (!REAL_MODEL_IDS.includes(id)) throw new Error(`bench: unknown model "${id}" (known: ${REAL_MODEL_IDS.join(', ')})`);
  await initGpu();
  const rows: RealShapeRow[] = [];
  for (const id of ids) {
    const layers = opts.layers ?? fullDepth(id);
    const ck = realCheckpoint(id, { layers });
    const loaded = await loadModelPath(ck.modelPath);
    const model = LlamaModel.fromLoaded(loaded);
    const tok = new TextTokenizer(loaded.tokenizer);
    const base: RowBase = { name: 'real_shape', model: id, layers };
    try {
      rows.push(...(await inferenceRows(model, tok, base)));
      rows.push(await trainRow(model, tok, base));
    } finally {
      model.dispose();
    }
  }
  return rows.map((r) => ({ ...r }));
}
