/**
 * What a real model shows (issue 22 item 5): SmolLM2-135M-Instruct (the Q4_1
 * GGUF in .cache/fixtures, bf16 on the GPU) through the engine. Figures in
 * BENCHMARKS.md ("Issue 22: a real 135M model through the engine").
 *
 *   npx tsx bench/real_model.ts [--only judge|shift|step] [--out DIR] [--steps N] [--frozen-bits 16|8|4]
 *
 * One JSON line per figure on stdout (progress on stderr), each with the load
 * average (os.loadavg(), uptime's) when it was taken and the commands that
 * made it:
 *
 *   judge  the model judge with a real instruction-tuned judge: a stories260K
 *          LoRA adapter trained by `cli train` (30 steps), base and tuned
 *          answering 10 distinct held-out instructions of that run (greedy,
 *          48 tokens), SmolLM2-135M-Instruct judging each pair in both orders
 *          through its ChatML template (src/engine/eval/judge.ts modelJudge +
 *          judgePairs, as the worker's judge does; there is no CLI command):
 *          replies parsed of 20, the outcomes from the tuned side, every reply
 *   shift  a 10-step SmolLM2 adapter (`cli train`, alpaca-1k, 1 × 64, warmup 2, lr 2e-4
 *          (the default 1e-2 is stories260K's: on SmolLM2 it drove the loss from 1.26 to 4.68 by step 6),
 *          no validation split so no evaluation pass), then `cli shift --json`
 *          on 3 instructions: per answer the URIAL classes, KL and base ranks;
 *          the exported adapter's PEFT names (adapter_config.json and the
 *          safetensors header)
 *   step   `cli train --gradient-checkpointing --batch-size 4 --max-length 256`
 *          for --steps steps (default 1) on the alpaca-1k rows that reach 256
 *          ChatML tokens (written to DIR/alpaca-256.jsonl): time per step,
 *          tokens/s, the CLI's gpu_bytes beside the memory model's prediction
 *          for that micro-batch (src/engine/memory_model.ts)
 *
 * Every CLI run is `npx tsx src/cli/main.ts …` (= `npm run -s cli -- …`) in a
 * child process; the command is printed in the figure's `commands`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { num, parseFlags } from '../src/cli/args';
import { loadAvg, runCli } from './cli_child';
import { createTemplate, locationKey, parseRows, prepareDataset, promptIds, splitTrainValidation, type TemplateId } from '../src/engine/data';
import { judgePairs, judgePrompt, type JudgePair, judgeTemplate, modelJudge, renderJudgePrompt } from '../src/engine/eval/judge';
import { generate } from '../src/engine/generate';
import { initGpu } from '../src/engine/gpu/device';
import { uploadTensors } from '../src/engine/gpu/memory';
import { releasePooledBuffers } from '../src/engine/gpu/pool';
import { loadModelPath } from '../src/engine/io/node_load';
import { importPeft } from '../src/engine/lora_io';
import { lossChunkFloatsFor, predictTrainingMemory, type MemoryQuery } from '../src/engine/memory_model';
import { LlamaModel } from '../src/engine/model';
import { TextTokenizer } from '../src/engine/tokenizer';
import { DEFAULT_TRAIN_CONFIG } from '../src/engine/train/trainer';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SMOL = '.cache/fixtures/SmolLM2-135M-Instruct.Q4_1.gguf';
const STORIES = '/work/shared/models/stories260K-hf';
const TINY_DATA = '/work/shared/data/tinystories-instruct-1k.jsonl';
const ALPACA = '/work/shared/data/alpaca-1k.jsonl';
const SHIFT_PROMPTS = ['What is the capital of France?', 'Give three tips for staying healthy.', 'Translate "Good morning" into Spanish.'];

const f = parseFlags(process.argv.slice(2), { only: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, 'frozen-bits': { type: 'string' } });
/** --frozen-bits for the step figure's run (default: as the file holds it, its Q4_1/Q8_0 blocks) */
const stepBits = f['frozen-bits'];
const only = f.only;
if (only !== undefined && !['judge', 'shift', 'step'].includes(only)) throw new Error(`--only: "${only}" is not one of judge, shift, step`);
const stepCount = num(f.steps, 'steps', 1, (n) => Number.isInteger(n) && n > 0);
const OUT = path.resolve(f.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'real-model-')));
fs.mkdirSync(OUT, { recursive: true });
const log = (s: string) => console.error(`[real_model] ${s}`);
const load = loadAvg;
const emit = (row: Record<string, unknown>) => console.log(JSON.stringify({ ...row, load_avg: load(), cores: os.cpus().length }));

const cli = (args: string[]) => runCli(args, log);

const mean = (a: number[]) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const r4 = (x: number) => Number(x.toFixed(4));

// ------------------------------------------------------------------ judge

async function judgeFigure(): Promise<void> {
  const tinyDir = path.join(OUT, 'tiny');
  const train = await cli(['train', '--model', STORIES, '--data', TINY_DATA, '--out', tinyDir, '--max-steps', '30', '--json']);
  await initGpu();
  // the run's held-out rows: the CLI's split (seed 0, 5 %) of the same samples (plain template, max length 512)
  const loaded = await loadModelPath(STORIES);
  const tok = new TextTokenizer(loaded.tokenizer);
  const model = LlamaModel.fromLoaded(loaded);
  uploadTensors(model);
  tok.eosIds = [...new Set([...tok.eosIds, ...model.config.eosTokenIds])];
  const imp = importPeft({ config: fs.readFileSync(path.join(tinyDir, 'adapter_config.json'), 'utf8'), safetensors: new Uint8Array(fs.readFileSync(path.join(tinyDir, 'adapter_model.safetensors'))) }, model);
  uploadTensors(imp.adapter);
  const template = (imp.template ?? 'plain') as TemplateId;
  const bytes = fs.readFileSync(TINY_DATA);
  const ds = await prepareDataset(bytes, { tokenizer: tok, template, maxLength: Math.min(DEFAULT_TRAIN_CONFIG.maxLength, model.config.maxPositions) });
  const { validation } = splitTrainValidation(ds.samples, { seed: DEFAULT_TRAIN_CONFIG.seed, validationFraction: 0.05 });
  const rows = new Map((await parseRows(bytes)).rows.map((r) => [locationKey(r), r.value]));
  const instructions = [...new Set(validation.map((s) => String(rows.get(locationKey(s))?.instruction)))].slice(0, 10);
  const tpl = createTemplate(template, tok);
  const answer = async (tuned: boolean, instruction: string) => {
    model.adapter = tuned ? imp.adapter : null;
    const res = await generate(model, promptIds(tok, tpl.generationPrompt({ instruction })), { temperature: 0, maxNewTokens: 48, stopIds: tok.eosIds });
    return tok.decode(res.ids).trim();
  };
  let t0 = performance.now();
  const pairs: JudgePair[] = [];
  for (const instruction of instructions) pairs.push({ instruction, a: await answer(true, instruction), b: await answer(false, instruction) });
  const answers_s = (performance.now() - t0) / 1000;
  model.adapter = null;
  imp.adapter.dispose();
  model.dispose();
  releasePooledBuffers();

  const jl = await loadModelPath(path.join(ROOT, SMOL));
  const jtok = new TextTokenizer(jl.tokenizer);
  const judgeModel = LlamaModel.fromLoaded(jl);
  uploadTensors(judgeModel);
  jtok.eosIds = [...new Set([...jtok.eosIds, ...judgeModel.config.eosTokenIds])];
  const jtpl = judgeTemplate(jtok);
  const promptTokens = pairs.map((p) => promptIds(jtok, renderJudgePrompt(jtpl, judgePrompt(p.instruction, p.a, p.b))).length);
  log(`judge template ${jtpl.id}; judge prompts ${Math.min(...promptTokens)}–${Math.max(...promptTokens)} tokens`);
  t0 = performance.now();
  const r = await judgePairs(modelJudge(judgeModel, jtok), pairs, {
    onProgress: (p) => log(`judge reply ${p.done}/${p.total}${p.pair ? `: ${JSON.stringify(p.pair.ab.raw)} | ${JSON.stringify(p.pair.ba.raw)} -> ${p.pair.outcome}` : ''}`),
  });
  const judge_s = (performance.now() - t0) / 1000;
  judgeModel.dispose();
  releasePooledBuffers();
  const replies = r.verdicts.flatMap((v) => [v.ab, v.ba]);
  const byVerdict = (x: string) => replies.filter((o) => o.verdict === x).length;
  emit({
    figure: 'judge',
    judge: 'SmolLM2-135M-Instruct Q4_1 GGUF (bf16 on the GPU), its ChatML template, greedy, 24 new tokens at most',
    answers: 'stories260K base vs + LoRA (30 steps), greedy, 48 new tokens at most, plain template',
    commands: [train.command, 'npx tsx bench/real_model.ts --only judge'],
    tiny_train: { steps: train.json.steps, val_loss: train.json.val_loss, wall_s: train.wall_s, load_avg: train.load_avg },
    instructions: instructions.length,
    replies: replies.length,
    replies_parsed: replies.length - r.unparsedReplies,
    verdicts: { A: byVerdict('A'), B: byVerdict('B'), tie: byVerdict('tie'), unparsed: byVerdict('unparsed') },
    pairs: { tuned_wins: r.wins, base_wins: r.losses, ties: r.ties, unparsed: r.unparsed },
    judge_prompt_tokens: { min: Math.min(...promptTokens), max: Math.max(...promptTokens) },
    answers_s: Number(answers_s.toFixed(1)),
    judge_s: Number(judge_s.toFixed(1)),
    items: r.verdicts.map((v, i) => ({ instruction: pairs[i].instruction, tuned: pairs[i].a, base: pairs[i].b, tuned_first: v.ab.raw, base_first: v.ba.raw, outcome: v.outcome })),
  });
}

// ------------------------------------------------------------------ shift

/** Tensor names in a safetensors file's header (the 8-byte length, then JSON). */
function safetensorNames(file: string): string[] {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return Object.keys(JSON.parse(b.subarray(8, 8 + n).toString('utf8'))).filter((k) => k !== '__metadata__');
}

/** One answer token of `cli shift --json`. */
interface ShiftTok {
  base_rank: number;
  kl: number;
  text: string;
  class: string;
}

async function shiftFigure(): Promise<void> {
  const dir = path.join(OUT, 'smol10');
  const trainArgs = ['train', '--model', SMOL, '--data', ALPACA, '--out', dir, '--max-steps', '10', '--batch-size', '1', '--max-length', '64', '--warmup', '2', '--lr', '2e-4', '--val-fraction', '0', '--log', path.join(dir, 'steps.jsonl'), '--json'];
  fs.mkdirSync(dir, { recursive: true });
  const train = await cli(trainArgs);
  const steps = fs.readFileSync(path.join(dir, 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
  const names = safetensorNames(path.join(dir, 'adapter_model.safetensors'));
  const peftName = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj\.lora_(A|B)\.weight$/;
  emit({
    figure: 'shift_train',
    commands: [train.command],
    steps: train.json.steps,
    losses: steps.map((s) => r4(s.loss)),
    train_loss: train.json.train_loss,
    tokens_per_sec: train.json.tokens_per_sec,
    wall_s: train.wall_s,
    train_wall_s: train.json.wall_s,
    gpu_bytes: train.json.gpu_bytes,
    peft: {
      target_modules: cfg.target_modules,
      peft_type: cfg.peft_type,
      r: cfg.r,
      lora_alpha: cfg.lora_alpha,
      base_model_name_or_path: cfg.base_model_name_or_path,
      tensors: names.length,
      matching_hf_names: names.filter((n) => peftName.test(n)).length,
      layers: new Set(names.map((n) => peftName.exec(n)?.[1])).size,
      first: [...names].sort().slice(0, 2),
    },
  });
  const all: ShiftTok[] = [];
  const per = [];
  for (const instruction of SHIFT_PROMPTS) {
    const r = await cli(['shift', '--model', SMOL, '--adapter', dir, '--instruction', instruction, '--max-new-tokens', '48', '--json']);
    const item = r.json.items[0];
    const toks = item.tokens as ShiftTok[];
    all.push(...toks);
    per.push({
      instruction,
      command: r.command,
      wall_s: r.wall_s,
      load_avg: r.load_avg,
      answer: item.text,
      tokens: toks.length,
      unshifted: r4(item.unshifted),
      marginal: r4(item.marginal),
      shifted: r4(item.shifted),
      kl_mean: r4(mean(toks.map((t) => t.kl))),
      kl_max: r4(Math.max(...toks.map((t) => t.kl))),
      base_rank_mean: r4(mean(toks.map((t) => t.base_rank))),
      base_rank_median: median(toks.map((t) => t.base_rank)),
      base_rank_max: Math.max(...toks.map((t) => t.base_rank)),
      shifted_tokens: toks.filter((t) => t.class === 'shifted').map((t) => t.text),
    });
  }
  const frac = (c: string) => r4(all.filter((t) => t.class === c).length / all.length);
  emit({
    figure: 'shift',
    per_prompt: per,
    all: { tokens: all.length, unshifted: frac('unshifted'), marginal: frac('marginal'), shifted: frac('shifted'), kl_mean: r4(mean(all.map((t) => t.kl))), base_rank_mean: r4(mean(all.map((t) => t.base_rank))) },
  });
}

// ------------------------------------------------------------------ step

async function stepFigure(): Promise<void> {
  // rows that really reach 256 tokens: alpaca-1k rows whose ChatML rendering is 256 tokens or more
  const loaded = await loadModelPath(path.join(ROOT, SMOL));
  const tok = new TextTokenizer(loaded.tokenizer);
  const lines = fs.readFileSync(ALPACA, 'utf8').split('\n');
  const ds = await prepareDataset(fs.readFileSync(ALPACA), { tokenizer: tok, template: 'model', maxLength: 256 });
  const long = ds.samples.filter((s) => s.ids.length >= 256);
  const data = path.join(OUT, 'alpaca-256.jsonl');
  fs.writeFileSync(data, long.map((s) => lines[s.line - 1]).join('\n') + '\n');
  const dir = path.join(OUT, `step${stepBits ?? ''}`);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'steps.jsonl');
  const args = ['train', '--model', SMOL, '--data', data, '--out', dir, '--gradient-checkpointing', '--batch-size', '4', '--max-length', '256', '--max-steps', String(stepCount), '--val-fraction', '0', '--log', logFile, ...(stepBits ? ['--frozen-bits', stepBits] : []), '--json'];
  const r = await cli(args);
  const steps = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = steps[steps.length - 1];
  const stepS = steps.length > 1 ? last.elapsed_s - steps[steps.length - 2].elapsed_s : last.elapsed_s;
  // the memory model at the bytes per matrix weight the run held (Q4_1 + Q8_0 blocks, or bf16)
  const q: MemoryQuery = { config: loaded.config, weightBytes: r.json.frozen.bytes_per_weight, rank: DEFAULT_TRAIN_CONFIG.rank, batchSize: 4, maxLength: 256, optimizer: 'adamw', checkpointing: true };
  const chunk = lossChunkFloatsFor(q, undefined);
  const p = predictTrainingMemory({ ...q, lossChunkFloats: chunk, targetTokens: last.tokens });
  const g = r.json.gpu_bytes as { weights: number; adapter: number; peak: number; device_peak: number };
  emit({
    figure: 'step',
    frozen: r.json.frozen,
    commands: [`npx tsx bench/real_model.ts --only step${stepBits ? ` --frozen-bits ${stepBits}` : ''}   # writes ${path.relative(OUT, data)}: the ${long.length} alpaca-1k rows of 256+ ChatML tokens`, r.command],
    data_rows: long.length,
    steps: steps.length,
    step_s: Number(stepS.toFixed(1)),
    step_is: steps.length > 1 ? `step ${steps.length} (steady)` : 'step 1 (includes shader compilation)',
    processed_tokens: 4 * 256,
    trained_tokens: last.tokens,
    tokens_per_s: Number(last.tokens_per_s.toFixed(2)),
    loss: steps.map((s) => r4(s.loss)),
    wall_s: r.wall_s,
    gpu_bytes: g,
    predicted: { weights: p.weights, adapter: p.adapter, gradient: p.gradient, activations: p.activations, transient: p.transient, total: p.total, loss_chunk_floats: chunk },
    device_peak_over_predicted_total: r4(g.device_peak / p.total),
    weights_over_predicted: r4(g.weights / p.weights),
    adapter_over_predicted: r4(g.adapter / p.adapter),
    peak_above_over_predicted: r4(g.peak / (p.gradient + p.activations + p.transient)),
  });
}

log(`out ${OUT}; load average ${load().join(', ')}`);
const t0 = performance.now();
if (!only || only === 'judge') await judgeFigure();
if (!only || only === 'shift') await shiftFigure();
if (!only || only === 'step') await stepFigure();
log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${load().join(', ')}`);
process.exit(0);
