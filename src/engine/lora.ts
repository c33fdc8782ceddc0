/**
 * LoRA adapters (Hu et al. 2021): for each targeted linear layer W (out, in),
 * a trainable pair A (r, in) and B (out, r) so that W' = W + s·B·A with
 * s = alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023).
 * Initialised as PEFT does: A Kaiming-uniform with a = sqrt(5) (bound
 * 1/sqrt(in)), B zero, so training starts exactly at the base model.
 * The adapter rides on the frozen base weights; toggling it never copies them.
 */
import * as tf from '@tensorflow/tfjs';
import { LINEAR_NAMES, linearKey, linearShape, type LinearName, type ModelConfig } from './config';
import type { AdapterProvider } from './model';
import type { LoraWeights } from './ops/linear';
import { Rng } from './rng';

export interface LoraConfig {
  rank: number; // r
  alpha: number; // lora_alpha
  dropout: number; // lora_dropout, on the adapter's input during training
  rslora: boolean; // scale alpha/sqrt(r) instead of alpha/r
  targets: LinearName[]; // which linear layers carry an adapter
}

export const DEFAULT_LORA: LoraConfig = { rank: 8, alpha: 16, dropout: 0, rslora: false, targets: [...LINEAR_NAMES] };

export function loraScale(c: LoraConfig): number {
  return c.rslora ? c.alpha / Math.sqrt(c.rank) : c.alpha / c.rank;
}

export interface LoraPair {
  layer: number;
  name: LinearName;
  a: tf.Variable<tf.Rank.R2>; // (r, in)
  b: tf.Variable<tf.Rank.R2>; // (out, r)
}

let instances = 0; // tfjs variable names are global: each adapter gets its own suffix

export class LoraAdapter implements AdapterProvider {
  readonly pairs = new Map<string, LoraPair>(); // key: model.layers.{i}.{block}.{name}
  readonly scale: number;

  constructor(
    readonly modelConfig: ModelConfig,
    readonly config: LoraConfig,
    init: { seed: number } | { tensors: Map<string, { a: Float32Array; b: Float32Array }> },
  ) {
    this.scale = loraScale(config);
    const uid = ++instances;
    const rng = 'seed' in init ? new Rng(init.seed) : null;
    for (let layer = 0; layer < modelConfig.numLayers; layer++) {
      for (const name of config.targets) {
        const key = linearKey(layer, name);
        const [out, inp] = linearShape(modelConfig, name);
        let a: Float32Array;
        let b: Float32Array;
        if (rng) {
          const bound = 1 / Math.sqrt(inp); // kaiming_uniform_(a=sqrt(5)): gain·sqrt(3/fan_in) = 1/sqrt(fan_in)
          a = Float32Array.from({ length: config.rank * inp }, () => (rng.next() * 2 - 1) * bound);
          b = new Float32Array(out * config.rank);
        } else {
          const t = (init as { tensors: Map<string, { a: Float32Array; b: Float32Array }> }).tensors.get(key);
          if (!t) throw new Error(`adapter has no weights for ${key}`);
          a = t.a;
          b = t.b;
        }
        this.pairs.set(key, {
          layer,
          name,
          a: tf.variable(tf.tensor2d(a, [config.rank, inp]), true, `${key}.lora_A#${uid}`),
          b: tf.variable(tf.tensor2d(b, [out, config.rank]), true, `${key}.lora_B#${uid}`),
        });
      }
    }
  }

  lora(layer: number, name: LinearName): LoraWeights | null {
    const p = this.pairs.get(linearKey(layer, name));
    return p ? { a: p.a, b: p.b, scale: this.scale } : null;
  }

  /** The trainable variables, in a fixed order (A then B per layer and target). */
  variables(): tf.Variable[] {
    return [...this.pairs.values()].flatMap((p) => [p.a, p.b]);
  }

  numParams(): number {
    return this.variables().reduce((n, v) => n + v.size, 0);
  }

  /** Host copies of every A and B, keyed like `pairs`. */
  async toHost(): Promise<Map<string, { a: Float32Array; b: Float32Array; aShape: number[]; bShape: number[] }>> {
    const out = new Map<string, { a: Float32Array; b: Float32Array; aShape: number[]; bShape: number[] }>();
    for (const [key, p] of this.pairs) {
      out.set(key, { a: (await p.a.data()) as Float32Array, b: (await p.b.data()) as Float32Array, aShape: p.a.shape, bShape: p.b.shape });
    }
    return out;
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
    this.pairs.clear();
  }
}
