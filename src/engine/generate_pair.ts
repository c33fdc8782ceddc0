/**
 * Several completions of one prompt in one batch: row b rides the model's
 * adapter at strength loraScales[b] (0 = base, 1 = tuned; ForwardOptions),
 * so Compare's base and tuned sides stream together in about the time of
 * one. The prompt is the same for every row, so one KV cache of batch B
 * holds them all.
 *
 * Each row is today's generate() (generate.ts) for its side, token for
 * token: its own Rng seeded with `seed`, its own repetition-penalty history
 * and stop, and the same checks in the same order (abort, context, sample,
 * stop id). A row that stops keeps being computed (its last token is fed
 * again) until every row is done, but its output ends there. The rows'
 * logits are their single-row forwards' bit for bit: every kernel computes
 * a row independently of the others, and the per-row scale is exact at 0
 * and 1 (kernels/lora_linear.wgsl.ts), as test/gpu/generate_pair.test.ts
 * checks on both kernel flavours.
 */
import * as tf from '@tensorflow/tfjs';
import { generationCache, samplingOf, type GenerateOptions, type GenerateResult } from './generate';
import type { LlamaModel } from './model';
import { Rng } from './rng';
import { sampleToken } from './sampling';

export interface GeneratePairOptions extends Omit<GenerateOptions, 'onToken'> {
  /** per row: aborts that row alone (its output ends; `signal` ends them all) */
  rowSignals?: (AbortSignal | undefined)[];
  /** called after each new token of row `row` with it and all that row's ids so far */
  onToken?: (row: number, id: number, ids: number[]) => void | Promise<void>;
  /** called once per row when it ends (a row that stops early ends before the others) */
  onEnd?: (row: number, result: GenerateResult) => void;
}

/** One completion per entry of `loraScales`, all from `promptIds`, in one batch. */
export async function generatePair(model: LlamaModel, promptIds: number[], loraScales: number[], opts: GeneratePairOptions = {}): Promise<GenerateResult[]> {
  if (promptIds.length === 0) throw new Error('generatePair: empty prompt (a prompt needs at least BOS)');
  if (loraScales.length === 0) throw new Error('generatePair: no rows (loraScales is empty)');
  const maxCtx = model.config.maxPositions;
  if (promptIds.length > maxCtx) throw new Error(`generatePair: prompt is ${promptIds.length} tokens; the model's context is ${maxCtx}`);
  const sampling = samplingOf(opts);
  const B = loraScales.length;
  const V = model.config.vocabSize;
  const stop = new Set(opts.stopIds ?? model.config.eosTokenIds);
  const maxNew = opts.maxNewTokens ?? 128;
  const rows = loraScales.map(() => ({
    rng: new Rng(opts.seed ?? 0), // each row draws as its own generate() would
    out: [] as number[],
    stopReason: null as GenerateResult['stopReason'] | null,
    endedAt: 0,
  }));
  const cache = generationCache(model, promptIds.length, maxNew);
  const capacity = cache.capacity;
  const t0 = performance.now();
  let t1 = t0;
  const resultOf = (r: number): GenerateResult => ({ ids: rows[r].out, stopReason: rows[r].stopReason!, prefillMs: t1 - t0, decodeMs: Math.max(0, rows[r].endedAt - t1) });
  const end = (r: number, reason: GenerateResult['stopReason']) => {
    rows[r].stopReason = reason;
    rows[r].endedAt = performance.now();
    opts.onEnd?.(r, resultOf(r));
  };
  const live = () => rows.map((_, r) => r).filter((r) => rows[r].stopReason === null);
  try {
    let input: number[][] = rows.map(() => promptIds); // (B, T): the prompt, then each row's last token
    for (let step = 0; step < maxNew && live().length > 0; step++) {
      for (const r of live()) if (opts.signal?.aborted || opts.rowSignals?.[r]?.aborted) end(r, 'aborted');
      if (cache.length + input[0].length > capacity) for (const r of live()) end(r, 'context');
      if (live().length === 0) break;
      const ids = tf.tensor2d(input, [B, input[0].length], 'int32');
      const logitsT = model.nextLogits(ids, cache, loraScales);
      ids.dispose();
      const logits = (await logitsT.data()) as Float32Array; // (B, V)
      logitsT.dispose();
      if (step === 0) t1 = performance.now();
      const active = live();
      for (const r of active) {
        const row = rows[r];
        const next = sampleToken(logits.subarray(r * V, (r + 1) * V), sampling, row.rng, [...promptIds, ...row.out]);
        if (stop.has(next)) {
          end(r, 'eos');
          continue;
        }
        row.out.push(next);
        input[r] = [next];
      }
      for (const r of active) if (rows[r].stopReason === null) await opts.onToken?.(r, rows[r].out.at(-1)!, rows[r].out);
      // a row that just ended feeds its last token again: a length-1 input, like the others
      input = input.map((ids) => (ids.length === 1 ? ids : [ids.at(-1)!]));
    }
  } finally {
    cache.dispose();
  }
  for (const r of live()) end(r, 'length');
  return rows.map((_, r) => resultOf(r));
}
