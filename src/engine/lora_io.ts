/**
 * PEFT adapter format (huggingface/peft): `adapter_config.json` and
 * `adapter_model.safetensors` with keys like
 * `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (r, in) and
 * `...lora_B.weight` (out, r). We write exactly that, and read adapters made
 * by PEFT itself (which may also carry the adapter name in keys, e.g.
 * `.lora_A.default.weight`).
 */
import { LINEAR_NAMES, linearKey, linearShape, type LinearName } from './config';
import { readSafetensors } from './io/safetensors';
import { peftFiles, type PeftFiles, type PeftMeta } from './peft_files';
import { LoraAdapter, type LoraConfig } from './lora';
import type { LlamaModel } from './model';

export { peftKey, type PeftFiles, type PeftMeta } from './peft_files';

/** An adapter on the GPU as PEFT files (peft_files.ts writes them). */
export async function exportPeft(adapter: LoraAdapter, meta: PeftMeta): Promise<PeftFiles> {
  return peftFiles(adapter.config, await adapter.toHost(), meta);
}

export interface ImportedAdapter {
  adapter: LoraAdapter;
  template: string | null;
  baseModel: string | null;
}

/** Reads a PEFT LoRA adapter for `model`; every problem names the file and the key. */
export function importPeft(files: { config: string; safetensors: Uint8Array }, model: LlamaModel): ImportedAdapter {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(files.config);
  } catch (e) {
    throw new Error(`adapter_config.json: not valid JSON (${(e as Error).message})`);
  }
  if (cfg.peft_type !== 'LORA') throw new Error(`adapter_config.json: peft_type is ${JSON.stringify(cfg.peft_type)}; only LORA adapters are supported`);
  const r = Number(cfg.r);
  const alpha = Number(cfg.lora_alpha ?? r);
  if (!(r > 0)) throw new Error(`adapter_config.json: r is ${JSON.stringify(cfg.r)}`);
  if (cfg.fan_in_fan_out) throw new Error('adapter_config.json: fan_in_fan_out adapters (GPT-2 Conv1D) are not supported');
  const { tensors } = readSafetensors(files.safetensors, 'adapter_model.safetensors');
  // normalise keys: drop the adapter name PEFT may insert (".lora_A.default.weight")
  const byKey = new Map<string, { a?: Float32Array; b?: Float32Array; aShape?: number[]; bShape?: number[] }>();
  for (const [k, t] of tensors) {
    const m = /^base_model\.model\.(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(k);
    if (!m) {
      if (/lora_embedding|lora_magnitude/.test(k)) throw new Error(`adapter_model.safetensors: "${k}": embedding/DoRA adapters are not supported`);
      continue;
    }
    const e = byKey.get(m[1]) ?? {};
    if (m[2] === 'A') (e.a = t.data), (e.aShape = t.shape);
    else (e.b = t.data), (e.bShape = t.shape);
    byKey.set(m[1], e);
  }
  const targets = new Set<LinearName>();
  const weights = new Map<string, { a: Float32Array; b: Float32Array }>();
  for (const [key, e] of byKey) {
    const m = /^model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)$/.exec(key);
    const name = m?.[3] as LinearName | undefined;
    if (!m || !name || !LINEAR_NAMES.includes(name)) throw new Error(`adapter_model.safetensors: "${key}" is not a linear layer of this model`);
    if (Number(m[1]) >= model.config.numLayers) throw new Error(`adapter_model.safetensors: "${key}": the model has ${model.config.numLayers} layers`);
    if (!e.a || !e.b) throw new Error(`adapter_model.safetensors: "${key}" has lora_${e.a ? 'B' : 'A'} missing`);
    const [out, inp] = linearShape(model.config, name);
    if (e.aShape!.join() !== [r, inp].join() || e.bShape!.join() !== [out, r].join()) {
      throw new Error(`adapter_model.safetensors: "${key}" has A [${e.aShape}] B [${e.bShape}], expected A [${r},${inp}] B [${out},${r}] (adapter made for another model?)`);
    }
    targets.add(name);
    weights.set(key, { a: e.a, b: e.b });
  }
  if (weights.size === 0) throw new Error('adapter_model.safetensors: no LoRA weights found');
  const cfgTargets = cfg.target_modules;
  const lora: LoraConfig = {
    rank: r,
    alpha,
    dropout: Number(cfg.lora_dropout ?? 0),
    rslora: Boolean(cfg.use_rslora),
    targets: Array.isArray(cfgTargets) ? LINEAR_NAMES.filter((n) => targets.has(n)) : [...targets],
  };
  // layers PEFT skipped (layers_to_transform) get zero adapters: B = 0 means no change
  for (let i = 0; i < model.config.numLayers; i++)
    for (const n of lora.targets) {
      const key = linearKey(i, n);
      if (!weights.has(key)) {
        const [out, inp] = linearShape(model.config, n);
        weights.set(key, { a: new Float32Array(r * inp), b: new Float32Array(out * r) });
      }
    }
  const adapter = new LoraAdapter(model.config, lora, { tensors: weights });
  return { adapter, template: typeof cfg.template === 'string' ? cfg.template : null, baseModel: typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : null };
}
