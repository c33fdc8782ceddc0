/**
 * Where every LoRA matrix of a model lives in the adapter's one flat f32
 * parameter buffer P (and, with the same offsets, in its gradient and its
 * AdamW moments).
 *
 * Why flat: the optimizer then updates every adapter of the model in one
 * dispatch, gradient accumulation is one in-place add, and fused kernels read
 * A and B straight from P at an offset instead of slicing them out.
 *
 * Order within a layer follows the fused projections of the model, so each
 * group's matrices are contiguous and act as one stacked matrix:
 *   A_q A_k A_v  -> A_qkv (3r, d)          A_o (r, H·D)
 *   A_gate A_up  -> A_gu  (2r, d)          A_down (r, ff)
 *   B_q B_k B_v  -> B_qkv (H·D + 2·Hkv·D, r)  B_o (d, r)
 *   B_gate B_up  -> B_gu  (2·ff, r)        B_down (d, r)
 * Every layer holds all seven pairs. A linear that is not a target keeps
 * A = 0 and B = 0: its term s·B·A·x is exactly zero, its gradients are
 * exactly zero (dA ∝ B, dB ∝ A), and AdamW with zero gradient, zero moments
 * and decoupled decay keeps it zero, so the math equals an adapter on the
 * targets alone. Only targets are exported (PEFT) or checkpointed.
 */
import { LINEAR_NAMES, linearKey, linearShape, type LinearName, type ModelConfig } from './config';

/** The fused projection groups, in layout order. */
export const LORA_GROUPS = {
  qkv: ['q_proj', 'k_proj', 'v_proj'],
  o: ['o_proj'],
  gateUp: ['gate_proj', 'up_proj'],
  down: ['down_proj'],
} as const satisfies Record<string, readonly LinearName[]>;
export type LoraGroup = keyof typeof LORA_GROUPS;
export const GROUP_NAMES = Object.keys(LORA_GROUPS) as LoraGroup[];

export interface LoraSlot {
  a: number; // float offset of A (r, in), row-major
  b: number; // float offset of B (out, r), row-major
  in: number;
  out: number;
}

export interface GroupSlot {
  a: number; // offset of the stacked A (members·r, in)
  b: number; // offset of the stacked B (Σ out, r)
  in: number;
  /** each member's output width, in order (their sum is the stacked B's rows) */
  outs: number[];
}

export class LoraLayout {
  readonly size: number; // floats in P
  private readonly slots = new Map<string, LoraSlot>(); // key: linearKey(layer, name)
  readonly groups: Record<LoraGroup, GroupSlot>[] = [];

  constructor(
    readonly config: ModelConfig,
    readonly rank: number,
  ) {
    let off = 0;
    for (let layer = 0; layer < config.numLayers; layer++) {
      const g = {} as Record<LoraGroup, GroupSlot>;
      // all A matrices of the layer, group by group, then all B matrices
      for (const group of GROUP_NAMES) {
        const names = LORA_GROUPS[group];
        const inp = linearShape(config, names[0])[1];
        g[group] = { a: off, b: -1, in: inp, outs: names.map((n) => linearShape(config, n)[0]) };
        for (const n of names) {
          this.slots.set(linearKey(layer, n), { a: off, b: -1, in: inp, out: linearShape(config, n)[0] });
          off += rank * inp;
        }
      }
      for (const group of GROUP_NAMES) {
        g[group].b = off;
        for (const n of LORA_GROUPS[group]) {
          const s = this.slots.get(linearKey(layer, n))!;
          s.b = off;
          off += s.out * rank;
        }
      }
      this.groups.push(g);
    }
    this.size = off;
  }

  slot(layer: number, name: LinearName): LoraSlot {
    const s = this.slots.get(linearKey(layer, name));
    if (!s) throw new Error(`LoRA layout: no layer ${layer} ${name}`);
    return s;
  }

  /** Every (layer, name) in the order PEFT keys and checkpoints list them: layer by layer, LINEAR_NAMES order. */
  *entries(): Generator<{ layer: number; name: LinearName; key: string; slot: LoraSlot }> {
    for (let layer = 0; layer < this.config.numLayers; layer++)
      for (const name of LINEAR_NAMES) yield { layer, name, key: linearKey(layer, name), slot: this.slot(layer, name) };
  }
}
