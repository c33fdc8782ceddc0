/**
 * Autoregressive generation: prefill the prompt into a KV cache, then decode
 * one token at a time until an EOS id, the token budget, the context length,
 * or an abort signal. Streams each token to `onToken`.
 */
import * as tf from '@tensorflow/tfjs';
import { KVCache, type LlamaModel } from './model';
import { Rng } from './rng';
import { DEFAULT_SAMPLING, sampleToken, type SamplingOptions } from './sampling';

export interface GenerateOptions extends Partial<SamplingOptions> {
  maxNewTokens?: number;
  seed?: number;
  /** ids that stop generation (not included in the output); default: the model's EOS ids */
  stopIds?: number[];
  signal?: AbortSignal;
  /** called after each new token with it and all generated ids so far */
  onToken?: (id: number, ids: number[]) => void | Promise<void>;
}

export interface GenerateResult {
  ids: number[];
  stopReason: 'eos' | 'length' | 'context' | 'aborted';
  prefillMs: number;
  decodeMs: number;
}

/**
 * A KV cache for a prompt of `promptLength` tokens plus `maxNew` new ones, its
 * capacity rounded up to 64 (within the context) so that different prompts
 * share compiled shaders.
 */
export function generationCache(model: LlamaModel, promptLength: number, maxNew: number): KVCache {
  const capacity = Math.min(model.config.maxPositions, Math.ceil((promptLength + maxNew) / 64) * 64);
  return new KVCache(model.config.numLayers, capacity);
}

/** The sampling options of a call, the defaults filled in. */
export function samplingOf(opts: Partial<SamplingOptions>): SamplingOptions {
  return {
    temperature: opts.temperature ?? DEFAULT_SAMPLING.temperature,
    topK: opts.topK ?? DEFAULT_SAMPLING.topK,
    topP: opts.topP ?? DEFAULT_SAMPLING.topP,
    repetitionPenalty: opts.repetitionPenalty ?? DEFAULT_SAMPLING.repetitionPenalty,
  };
}

export async function generate(model: LlamaModel, promptIds: number[], opts: GenerateOptions = {}): Promise<GenerateResult> {
  if (promptIds.length === 0) throw new Error('generate: empty prompt (a prompt needs at least BOS)');
  const maxCtx = model.config.maxPositions;
  if (promptIds.length > maxCtx) throw new Error(`generate: prompt is ${promptIds.length} tokens; the model's context is ${maxCtx}`);
  const sampling = samplingOf(opts);
  const stop = new Set(opts.stopIds ?? model.config.eosTokenIds);
  const maxNew = opts.maxNewTokens ?? 128;
  const rng = new Rng(opts.seed ?? 0);
  const cache = generationCache(model, promptIds.length, maxNew);
  const capacity = cache.capacity;
  const out: number[] = [];
  let stopReason: GenerateResult['stopReason'] = 'length';
  const t0 = performance.now();
  let t1 = t0;
  try {
    let input = promptIds;
    for (let step = 0; step < maxNew; step++) {
      if (opts.signal?.aborted) {
        stopReason = 'aborted';
        break;
      }
      if (cache.length + input.length > capacity) {
        stopReason = 'context';
        break;
      }
      const ids = tf.tensor2d([input], [1, input.length], 'int32');
      const logitsT = model.nextLogits(ids, cache);
      ids.dispose();
      const logits = (await logitsT.data()) as Float32Array;
      logitsT.dispose();
      if (step === 0) t1 = performance.now();
      const next = sampleToken(logits, sampling, rng, [...promptIds, ...out]);
      if (stop.has(next)) {
        stopReason = 'eos';
        break;
      }
      out.push(next);
      await opts.onToken?.(next, out);
      input = [next];
    }
  } finally {
    cache.dispose();
  }
  const t2 = performance.now();
  return { ids: out, stopReason, prefillMs: t1 - t0, decodeMs: t2 - t1 };
}
