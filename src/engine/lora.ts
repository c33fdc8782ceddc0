/**
 * LoRA adapters (Hu et al. 2021): for each targeted linear layer W (out, in),
 * a trainable pair A (r, in) and B (out, r) so that W' = W + s·B·A with
 * s = alpha / r, or alpha / sqrt(r) with rsLoRA (Kalajdzievski 2023).
 * Initialised as PEFT does: A Kaiming-uniform with a = sqrt(5) (bound
 * 1/sqrt(in)), B zero, so training starts exactly at the base model.
 * The adapter rides on the frozen base weights; toggling it never copies them.
 *
 * Every A and B lives in one flat f32 variable `params` (P) at the offsets of
 * LoraLayout (lora_layout.ts), so the optimizer updates the whole adapter in a
 * few dispatches. Linears that are not targets hold zeros there and stay zero.
 */
import * as tf from '@tensorflow/tfjs';
import { LINEAR_NAMES, linearKey, type LinearName, type ModelConfig } from './config';
import { LoraLayout, type LoraSlot } from './lora_layout';
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

/** A targeted linear and where its A and B sit in P. */
export interface LoraPair {
  layer: number;
  name: LinearName;
  slot: LoraSlot; // A (r, in) at slot.a, B (out, r) at slot.b
}

export type HostLora = Map<string, { a: Float32Array; b: Float32Array; aShape: number[]; bShape: number[] }>;

let instances = 0; // tfjs variable names are global: each adapter gets its own suffix

export class LoraAdapter implements AdapterProvider {
  /** the targeted linears, key model.layers.{i}.{block}.{name}, per layer in config.targets order */
  readonly pairs = new Map<string, LoraPair>();
  readonly scale: number;
  readonly layout: LoraLayout;
  /** P (layout.size): every A and B of every layer */
  readonly params: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly modelConfig: ModelConfig,
    readonly config: LoraConfig,
    init: { seed: number } | { tensors: Map<string, { a: Float32Array; b: Float32Array }> },
  ) {
    this.scale = loraScale(config);
    this.layout = new LoraLayout(modelConfig, config.rank);
    const r = config.rank;
    const p = new Float32Array(this.layout.size); // non-targets stay zero
    const rng = 'seed' in init ? new Rng(init.seed) : null;
    for (let layer = 0; layer < modelConfig.numLayers; layer++) {
      for (const name of config.targets) {
        const key = linearKey(layer, name);
        const slot = this.layout.slot(layer, name);
        if (rng) {
          const bound = 1 / Math.sqrt(slot.in); // kaiming_uniform_(a=sqrt(5)): gain·sqrt(3/fan_in) = 1/sqrt(fan_in)
          for (let i = 0; i < r * slot.in; i++) p[slot.a + i] = (rng.next() * 2 - 1) * bound; // B stays zero
        } else {
          const t = (init as { tensors: Map<string, { a: Float32Array; b: Float32Array }> }).tensors.get(key);
          if (!t) throw new Error(`adapter has no weights for ${key}`);
          if (t.a.length !== r * slot.in || t.b.length !== slot.out * r) {
            throw new Error(`adapter weights for ${key}: A has ${t.a.length} values, B ${t.b.length}; want ${r}×${slot.in} and ${slot.out}×${r}`);
          }
          p.set(t.a, slot.a);
          p.set(t.b, slot.b);
        }
        this.pairs.set(key, { layer, name, slot });
      }
    }
    // tf.variable shares its initial tensor's buffer: dispose that tensor so P owns it alone (the optimizer writes it in place)
    const initial = tf.tensor1d(p);
    this.params = tf.variable(initial, true, `lora.params#${++instances}`);
    initial.dispose();
  }

  /**
   * A (r, in) and B (out, r) of a target as fresh slices of P (so, inside a
   * gradient tape, gradients reach P), or null for a linear that is not a
   * target. The caller disposes them (a tidy does).
   */
  lora(layer: number, name: LinearName): LoraWeights | null {
    const pair = this.pairs.get(linearKey(layer, name));
    if (!pair) return null;
    const { slot } = pair;
    const r = this.config.rank;
    const { a, b } = tf.tidy(() => ({
      a: this.params.slice(slot.a, r * slot.in).reshape([r, slot.in]) as tf.Tensor2D,
      b: this.params.slice(slot.b, slot.out * r).reshape([slot.out, r]) as tf.Tensor2D,
    }));
    return { a, b, scale: this.scale };
  }

  /** The trainable variables: [params]. */
  variables(): tf.Variable[] {
    return [this.params];
  }

  /**
   * The pieces of P that were separate variables before P was flat, in their
   * order (A then B per layer and target): the unit of checkpointed optimizer state.
   */
  segments(): { offset: number; length: number }[] {
    const r = this.config.rank;
    return [...this.pairs.values()].flatMap(({ slot }) => [
      { offset: slot.a, length: r * slot.in },
      { offset: slot.b, length: slot.out * r },
    ]);
  }

  /** Trainable parameters of the targets (the zero non-target parts of P do not count). */
  numParams(): number {
    return this.segments().reduce((n, s) => n + s.length, 0);
  }

  /** Host copies of every target's A and B, keyed like `pairs`. */
  async toHost(): Promise<HostLora> {
    const p = (await this.params.data()) as Float32Array;
    const r = this.config.rank;
    const out: HostLora = new Map();
    for (const [key, { slot }] of this.pairs) {
      out.set(key, {
        a: p.slice(slot.a, slot.a + r * slot.in),
        b: p.slice(slot.b, slot.b + slot.out * r),
        aShape: [r, slot.in],
        bShape: [slot.out, r],
      });
    }
    return out;
  }

  dispose(): void {
    this.params.dispose();
    this.pairs.clear();
  }
}
