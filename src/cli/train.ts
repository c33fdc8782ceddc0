/** CLI: train (LoRA instruction tuning) and eval (response-token loss, with/without an adapter). */
import fs from 'node:fs';
import path from 'node:path';
import { LINEAR_NAMES, type LinearName } from '../engine/config';
import { prepareDataset, rowLabel, splitTrainValidation, type FormatId, type PreparedDataset, type TemplateId } from '../engine/data';
import { exportPeft } from '../engine/lora_io';
import type { TextTokenizer } from '../engine/tokenizer';
import { checkpointFromFiles, checkpointToFiles } from '../engine/train/checkpoint_files';
import { evaluate } from '../engine/train/evaluate';
import { DEFAULT_TRAIN_CONFIG, Trainer, type TrainConfig } from '../engine/train/trainer';
import type { FrozenBits } from '../engine/frozen';
import { num, parseFlags, required, UsageError } from './args';
import { gpuSpan, measureResident, uploadTensors } from '../engine/gpu/memory';
import { buildRecipe } from '../worker/recipe';
import { gpuBytes, MODEL_FLAGS, openModel, pickTemplate, printResult, readAdapterDir, uploadOptions } from './common';

const DATA_FLAGS = {
  data: { type: 'string' },
  format: { type: 'string' },
  template: { type: 'string' },
  'max-length': { type: 'string' },
} as const;

export async function loadData(file: string, tok: TextTokenizer, template: TemplateId, maxLength: number, format?: string): Promise<PreparedDataset> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const ds = await prepareDataset(fs.readFileSync(file), { tokenizer: tok, template, maxLength, format: format && format !== 'auto' ? (format as FormatId) : undefined });
  for (const w of ds.warnings) console.error(`warning: ${w}`);
  // file:line for an editor; a JSON array's rows also by their place in it (a one-line array has every row on line 1)
  for (const e of ds.errors.slice(0, 20)) console.error(`${file}:${e.line}: ${e.index !== undefined ? `${rowLabel(e)}: ` : ''}${e.reason}`);
  if (ds.errors.length > 20) console.error(`… and ${ds.errors.length - 20} more unusable rows`);
  if (ds.samples.length === 0) throw new Error(`${file}: no usable rows (${ds.errors.length} rejected)`);
  console.error(`${file}: ${ds.format} format, ${ds.samples.length} usable rows, ${ds.errors.length} rejected, ${ds.stats.truncated} truncated at ${maxLength} tokens`);
  return ds;
}


function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), body);
}

const fmtTime = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

export async function trainCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    ...MODEL_FLAGS,
    ...DATA_FLAGS,
    out: { type: 'string' },
    epochs: { type: 'string' },
    'max-steps': { type: 'string' },
    'batch-size': { type: 'string' },
    'grad-accum': { type: 'string' },
    lr: { type: 'string' },
    schedule: { type: 'string' },
    warmup: { type: 'string' },
    optimizer: { type: 'string' },
    'weight-decay': { type: 'string' },
    'max-grad-norm': { type: 'string' },
    rank: { type: 'string' },
    alpha: { type: 'string' },
    dropout: { type: 'string' },
    targets: { type: 'string' },
    rslora: { type: 'boolean' },
    packing: { type: 'boolean' },
    'gradient-checkpointing': { type: 'boolean' },
    'memory-budget': { type: 'string' },
    seed: { type: 'string' },
    'no-shuffle': { type: 'boolean' },
    'val-fraction': { type: 'string' },
    'eval-every': { type: 'string' },
    'save-every': { type: 'string' },
    'stop-at-step': { type: 'string' },
    'init-adapter': { type: 'string' },
    resume: { type: 'string' },
    log: { type: 'string' },
    recipe: { type: 'string' },
  });
  const out = required(f.out, 'out');
  const d = DEFAULT_TRAIN_CONFIG;
  const oneOf = <T extends string>(v: string | undefined, flag: string, options: readonly T[], fallback: T): T => {
    if (v === undefined) return fallback;
    if (!options.includes(v as T)) throw new UsageError(`--${flag}: "${v}" is not one of ${options.join(', ')}`);
    return v as T;
  };
  const targets = f.targets ? (f.targets.split(',').map((s) => s.trim()) as LinearName[]) : d.targets;
  for (const t of targets) if (!LINEAR_NAMES.includes(t)) throw new UsageError(`--targets: "${t}" is not one of ${LINEAR_NAMES.join(',')}`);
  let resumed: ReturnType<typeof checkpointFromFiles> | null = null;
  if (f.resume) {
    const dir = path.join(f.resume, 'checkpoint');
    const files = ['trainer_state.json', 'checkpoint.safetensors'].map((n) => path.join(dir, n));
    for (const p of files) if (!fs.existsSync(p)) throw new Error(`${p}: missing; --resume takes a train --out folder with a checkpoint/ inside`);
    resumed = checkpointFromFiles({ 'trainer_state.json': fs.readFileSync(files[0], 'utf8'), 'checkpoint.safetensors': new Uint8Array(fs.readFileSync(files[1])) });
  }
  const upload = uploadOptions(f);
  // a resumed run holds its base as the run it continues asked (its trainer_state.json's frozen_bits)
  const askedBefore = resumed?.extra.frozen_bits as FrozenBits | null | undefined;
  if (resumed && f['frozen-bits'] === undefined && askedBefore) upload.frozenBits = askedBefore;
  else if (resumed && (askedBefore ?? undefined) !== upload.frozenBits) console.error(`warning: the run being resumed held its base at --frozen-bits ${askedBefore ?? '(as stored)'}, this one at ${upload.frozenBits ?? '(as stored)'}: it will not continue exactly`);
  const { model, tokenizer, loaded, weightBytes, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, upload);
  // what the base was held at, for the run's record and its recipe: quantized blocks (8 or 4 bits), or the 16 asked
  const frozenBits: FrozenBits | undefined = frozen.bits <= 8 ? (frozen.bits as FrozenBits) : upload.frozenBits === 16 ? 16 : undefined;
  const maxLength = num(f['max-length'], 'max-length', Math.min(d.maxLength, model.config.maxPositions), (n) => Number.isInteger(n) && n > 1 && n <= model.config.maxPositions);
  let config: TrainConfig = {
    rank: num(f.rank, 'rank', d.rank, (n) => Number.isInteger(n) && n > 0),
    alpha: num(f.alpha, 'alpha', d.alpha, (n) => n > 0),
    dropout: num(f.dropout, 'dropout', d.dropout, (n) => n >= 0 && n < 1),
    rslora: Boolean(f.rslora),
    targets,
    lr: num(f.lr, 'lr', d.lr, (n) => n > 0),
    schedule: oneOf(f.schedule, 'schedule', ['constant', 'linear', 'cosine'] as const, d.schedule),
    warmup: num(f.warmup, 'warmup', d.warmup, (n) => Number.isInteger(n) && n >= 0),
    optimizer: oneOf(f.optimizer, 'optimizer', ['adamw', 'sgd'] as const, d.optimizer),
    weightDecay: num(f['weight-decay'], 'weight-decay', d.weightDecay, (n) => n >= 0),
    maxGradNorm: num(f['max-grad-norm'], 'max-grad-norm', d.maxGradNorm, (n) => n >= 0),
    batchSize: num(f['batch-size'], 'batch-size', d.batchSize, (n) => Number.isInteger(n) && n > 0),
    gradAccum: num(f['grad-accum'], 'grad-accum', d.gradAccum, (n) => Number.isInteger(n) && n > 0),
    epochs: num(f.epochs, 'epochs', d.epochs, (n) => n > 0),
    maxSteps: num(f['max-steps'], 'max-steps', d.maxSteps, (n) => Number.isInteger(n) && n >= 0),
    maxLength,
    packing: Boolean(f.packing),
    gradientCheckpointing: Boolean(f['gradient-checkpointing']),
    ...(f['memory-budget'] !== undefined ? { memoryBudgetBytes: num(f['memory-budget'], 'memory-budget', 0, (n) => n > 0) * 2 ** 30 } : {}),
    seed: num(f.seed, 'seed', d.seed, Number.isInteger),
    shuffle: !f['no-shuffle'],
    evalEvery: num(f['eval-every'], 'eval-every', d.evalEvery, (n) => Number.isInteger(n) && n >= 0),
    ...(frozenBits ? { frozenBits } : {}),
  };
  const valFraction = num(f['val-fraction'], 'val-fraction', 0.05, (n) => n >= 0 && n < 1);
  const saveEvery = num(f['save-every'], 'save-every', 50, (n) => Number.isInteger(n) && n >= 0);
  // stop early as if interrupted (the checkpoint lets --resume continue the same schedule)
  const stopAt = num(f['stop-at-step'], 'stop-at-step', Infinity, (n) => Number.isInteger(n) && n > 0);

  if (resumed) {
    config = resumed.config; // a resumed run continues with its own settings
    console.error(`resuming from ${f.resume} at step ${resumed.step}`);
  }
  const template = (resumed?.extra.template as TemplateId | undefined) ?? pickTemplate(f.template, tokenizer);
  const dataFile = required(f.data, 'data');
  const ds = await loadData(dataFile, tokenizer, template, config.maxLength, f.format);
  const { train, validation } = splitTrainValidation(ds.samples, { seed: config.seed, validationFraction: valFraction });
  console.error(`train ${train.length} rows, validation ${validation.length} rows, template ${template}`);

  // the adapter and its optimizer state, uploaded now so their bytes are measured here
  const { value: trainer, bytes: adapterBytes } = measureResident(() => {
    let t: Trainer;
    if (resumed) t = Trainer.restore(model, train, validation, resumed);
    else if (f['init-adapter']) {
      const imp = readAdapterDir(f['init-adapter'], model);
      config = { ...config, rank: imp.adapter.config.rank, alpha: imp.adapter.config.alpha, rslora: imp.adapter.config.rslora, targets: imp.adapter.config.targets };
      t = new Trainer(model, train, validation, config, imp.adapter);
    } else t = new Trainer(model, train, validation, config);
    uploadTensors(t.adapter, t.optimizer);
    return t;
  });
  console.error(`LoRA r=${config.rank} alpha=${config.alpha} on ${config.targets.join(',')}: ${trainer.adapter.numParams()} trainable parameters; ${trainer.totalSteps} steps`);

  const baseModelName = loaded.source.name;
  if (f.recipe) {
    // the page's recipe export for this very run: train_peft.py, run.json, the exact ids, TRL/Axolotl configs
    const base = fs.existsSync(f.model!) ? path.resolve(f.model!) : baseModelName; // the script runs from the recipe's folder
    writeFiles(f.recipe, buildRecipe(base, tokenizer, { name: path.basename(dataFile), template, maxLength: config.maxLength, train, validation }, config));
    console.error(`wrote the run's recipe to ${f.recipe} (python ${path.join(f.recipe, 'train_peft.py')} trains the same run in PyTorch)`);
  }
  const save = async () => {
    const ck = await trainer.checkpoint();
    writeFiles(path.join(out, 'checkpoint'), checkpointToFiles(ck, { template, data: path.resolve(dataFile), frozen_bits: upload.frozenBits ?? null }) as unknown as Record<string, Uint8Array>);
    writeFiles(out, (await exportPeft(trainer.adapter, { baseModel: baseModelName, template })) as unknown as Record<string, Uint8Array>);
  };
  const t0 = performance.now();
  const work = gpuSpan();
  let lastVal: number | null = null;
  // --log: one JSON line per step (train_peft.py --log writes the same fields, so the curves compare line by line)
  const logFd = f.log ? fs.openSync(f.log, 'w') : null;
  while (!trainer.done && trainer.stepsDone < stopAt) {
    const r = await trainer.step();
    if (logFd !== null) {
      const line = { step: r.step, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, tokens: r.tokens, tokens_per_s: r.tokensPerSec, elapsed_s: (performance.now() - t0) / 1000 };
      fs.writeSync(logFd, JSON.stringify(line) + '\n');
    }
    console.error(
      `step ${r.step}/${r.totalSteps} epoch ${r.epoch.toFixed(2)} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)} grad-norm ${r.gradNorm.toFixed(3)} ${r.tokensPerSec.toFixed(0)} tok/s ETA ${fmtTime(r.etaSec)}`,
    );
    if (config.evalEvery > 0 && r.step % config.evalEvery === 0 && validation.length) {
      lastVal = (await trainer.evaluate()).loss;
      console.error(`  validation loss ${lastVal.toFixed(4)}`);
    }
    if (saveEvery > 0 && r.step % saveEvery === 0) await save();
  }
  await save();
  if (logFd !== null) fs.closeSync(logFd);
  const wall = (performance.now() - t0) / 1000;
  const val = validation.length ? await trainer.evaluate() : null;
  const hist = trainer.history;
  const tail = hist.slice(-10);
  const result = {
    out: path.resolve(out),
    steps: trainer.stepsDone,
    train_loss: tail.reduce((a, h) => a + h.loss, 0) / Math.max(1, tail.length),
    val_loss: val?.loss ?? null,
    val_perplexity: val?.perplexity ?? null,
    train_rows: train.length,
    val_rows: validation.length,
    tokens_per_sec: hist.length ? hist.reduce((a, h) => a + h.tokensPerSec, 0) / hist.length : 0,
    wall_s: wall,
    template,
    gpu_bytes: gpuBytes(weightBytes, adapterBytes, work),
    frozen,
  };
  printResult(f.json, result, `saved adapter to ${result.out} (${result.steps} steps, val loss ${val ? val.loss.toFixed(4) : 'n/a'}, ${fmtTime(wall)})`);
}

export async function evalCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { ...MODEL_FLAGS, ...DATA_FLAGS, adapter: { type: 'string' }, 'dump-tokens': { type: 'boolean' }, 'batch-size': { type: 'string' } });
  const { model, tokenizer, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, uploadOptions(f));
  const imp = f.adapter ? readAdapterDir(f.adapter, model) : null;
  const template = (f.template as TemplateId | undefined) ?? (imp?.template as TemplateId | undefined) ?? pickTemplate(undefined, tokenizer);
  const maxLength = num(f['max-length'], 'max-length', Math.min(512, model.config.maxPositions), (n) => Number.isInteger(n) && n > 1);
  const ds = await loadData(required(f.data, 'data'), tokenizer, pickTemplate(template, tokenizer), maxLength, f.format);
  const batchSize = num(f['batch-size'], 'batch-size', 8, (n) => Number.isInteger(n) && n > 0);
  const progress = (done: number, total: number) => process.stderr.write(`\r  evaluated ${done}/${total}`);
  let base = null;
  if (imp) {
    model.adapter = null;
    base = await evaluate(model, ds.samples, { batchSize, maxLength, onProgress: progress });
    process.stderr.write('\n');
    model.adapter = imp.adapter;
  }
  const r = await evaluate(model, ds.samples, { batchSize, maxLength, onProgress: progress });
  process.stderr.write('\n');
  const result: Record<string, unknown> = { loss: r.loss, perplexity: r.perplexity, tokens: r.tokens, template, frozen };
  if (base) Object.assign(result, { base_loss: base.loss, base_perplexity: base.perplexity });
  if (f['dump-tokens']) {
    result.examples = ds.samples.map((s, i) => ({ line: s.line, ids: s.ids, labels: s.labels, loss_sum: r.examples[i].lossSum, tokens: r.examples[i].tokens }));
  }
  printResult(f.json, result, `${r.tokens} response tokens: loss ${r.loss.toFixed(4)}, perplexity ${r.perplexity.toFixed(3)}${base ? ` (base: ${base.loss.toFixed(4)}, ${base.perplexity.toFixed(3)})` : ''}`);
}
