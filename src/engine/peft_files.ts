/**
 * The two files of a PEFT LoRA adapter (huggingface/peft): `adapter_config.json`
 * and `adapter_model.safetensors` with keys like
 * `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (r, in) and
 * `...lora_B.weight` (out, r), written from host arrays. No tfjs and no GPU:
 * lora_io.ts exportPeft writes an adapter on the GPU through it, and the page
 * writes a saved run's checkpoint (IndexedDB) through it without loading it.
 */
import { writeSafetensors, type WritableTensor } from './io/safetensors';
import type { LoraConfig } from './lora';

export interface PeftMeta {
  baseModel: string;
  /** the prompt template the adapter was trained with (plain, alpaca, chatml, model) */
  template: string;
}

export interface PeftFiles {
  'adapter_config.json': string;
  'adapter_model.safetensors': Uint8Array;
}

/** One adapted linear's factors: A (rank, in) and B (out, rank), row-major. */
export interface HostLoraPair {
  a: Float32Array;
  b: Float32Array;
  aShape: number[];
  bShape: number[];
}

const PREFIX = 'base_model.model.';

export function peftKey(key: string, which: 'A' | 'B'): string {
  return `${PREFIX}${key}.lora_${which}.weight`;
}

/** The files of an adapter with config `c`, its factors in `pairs` (key = the linear's weight key, e.g. model.layers.0.self_attn.q_proj). */
export function peftFiles(c: LoraConfig, pairs: Iterable<[string, HostLoraPair]>, meta: PeftMeta): PeftFiles {
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: c.rank,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: [...c.targets],
    use_rslora: c.rslora,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    base_model_name_or_path: meta.baseModel,
    revision: null,
    // not a PEFT field: the prompt template this adapter expects (PEFT ignores unknown keys)
    template: meta.template,
  };
  const tensors = new Map<string, WritableTensor>();
  for (const [key, t] of pairs) {
    tensors.set(peftKey(key, 'A'), { shape: t.aShape, data: t.a });
    tensors.set(peftKey(key, 'B'), { shape: t.bShape, data: t.b });
  }
  return {
    'adapter_config.json': JSON.stringify(config, null, 2),
    'adapter_model.safetensors': writeSafetensors(tensors, { format: 'pt' }),
  };
}

/** What a training checkpoint (train/trainer.ts TrainCheckpoint) holds of its adapter. */
export interface CheckpointAdapter {
  config: LoraConfig;
  adapter: Record<string, { a: Float32Array; b: Float32Array }>;
}

/**
 * A saved run's adapter as PEFT files, from its checkpoint's factors: the
 * shapes follow from the rank (A holds rank · in values, B out · rank), so
 * the base model need not be loaded.
 */
export function checkpointPeftFiles(ckpt: CheckpointAdapter, meta: PeftMeta): PeftFiles {
  const r = ckpt.config.rank;
  const pairs: [string, HostLoraPair][] = Object.entries(ckpt.adapter).map(([key, { a, b }]) => {
    if (a.length % r || b.length % r) throw new Error(`checkpoint: ${key}'s factors (${a.length}, ${b.length} values) do not divide by rank ${r}`);
    return [key, { a, b, aShape: [r, a.length / r], bShape: [b.length / r, r] }];
  });
  return peftFiles(ckpt.config, pairs, meta);
}
