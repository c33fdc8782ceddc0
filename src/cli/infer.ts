/** CLI commands that run a model forward: generate and score. */
import * as tf from '@tensorflow/tfjs';
import { gpuSpan, measureResident, uploadTensors } from '../engine/gpu/memory';
import { generate } from '../engine/generate';
import { scoreIds } from '../engine/score';
import { num, parseFlags, required, UsageError } from './args';
import { createTemplate, promptIds as promptIdsOf } from '../engine/data';
import { gpuBytes, MODEL_FLAGS, openModel, pickTemplate, printResult, readAdapterDir, uploadOptions } from './common';

export async function generateCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    ...MODEL_FLAGS,
    prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    adapter: { type: 'string' },
    instruction: { type: 'string' },
    template: { type: 'string' },
  });
  const { model, tokenizer, weightBytes, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, uploadOptions(f));
  let template: string | null = f.template ?? null;
  let adapterBytes = 0;
  if (f.adapter) {
    const imp = readAdapterDir(f.adapter, model);
    adapterBytes = measureResident(() => uploadTensors(imp.adapter)).bytes;
    model.adapter = imp.adapter;
    template ??= imp.template;
    console.error(`adapter ${f.adapter}: r=${imp.adapter.config.rank}, template ${imp.template ?? 'unknown'}`);
  }
  if (f.prompt !== undefined && f.instruction !== undefined) throw new UsageError('give --prompt or --instruction, not both');
  let prompt: string;
  let promptIds: number[];
  if (f.instruction !== undefined) {
    // the prompt exactly as the adapter saw it in training
    const tpl = createTemplate(pickTemplate(template ?? undefined, tokenizer), tokenizer);
    prompt = tpl.generationPrompt({ instruction: f.instruction });
    promptIds = promptIdsOf(tokenizer, prompt);
  } else {
    prompt = required(f.prompt, 'prompt');
    promptIds = tokenizer.encodePrompt(prompt);
  }
  const work = gpuSpan();
  const res = await generate(model, promptIds, {
    maxNewTokens: num(f['max-new-tokens'], 'max-new-tokens', 128, (n) => Number.isInteger(n) && n >= 0),
    temperature: num(f.temperature, 'temperature', 0, (n) => n >= 0),
    topK: num(f['top-k'], 'top-k', 0, (n) => Number.isInteger(n) && n >= 0),
    topP: num(f['top-p'], 'top-p', 1, (n) => n > 0 && n <= 1),
    repetitionPenalty: num(f['repetition-penalty'], 'repetition-penalty', 1, (n) => n > 0),
    seed: num(f.seed, 'seed', 0, Number.isInteger),
    stopIds: tokenizer.eosIds,
  });
  const text = tokenizer.decode(res.ids);
  const tps = res.ids.length > 1 ? ((res.ids.length - 1) / res.decodeMs) * 1000 : 0;
  console.error(`${res.ids.length} tokens (${res.stopReason}); prefill ${res.prefillMs.toFixed(0)} ms, decode ${tps.toFixed(1)} tok/s`);
  const gpu_bytes = gpuBytes(weightBytes, adapterBytes, work);
  printResult(f.json, { prompt_ids: promptIds, ids: res.ids, text, stop_reason: res.stopReason, gpu_bytes, frozen }, prompt + text);
  tf.disposeVariables();
}

export async function scoreCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { ...MODEL_FLAGS, text: { type: 'string' } });
  const { model, tokenizer, weightBytes, frozen } = await openModel(required(f.model, 'model'), f.tokenizer, uploadOptions(f));
  const ids = tokenizer.encodePrompt(required(f.text, 'text'));
  const work = gpuSpan();
  const losses = await scoreIds(model, ids);
  const mean = losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : NaN;
  const gpu_bytes = gpuBytes(weightBytes, 0, work);
  printResult(f.json, { ids, losses, mean, gpu_bytes, frozen }, `${ids.length} tokens, mean NLL ${mean.toFixed(4)} (perplexity ${Math.exp(mean).toFixed(2)})`);
}
