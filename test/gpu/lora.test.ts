/**
 * The LoRA adapter over one flat parameter buffer P (src/engine/lora.ts):
 * same initialisation and parameter count as the former one-variable-per-
 * matrix adapter, A/B views of P for the model (gradients reach P at the
 * layout's offsets), host
 * copies, construction from host tensors, and disposal.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../src/engine/gpu/device';
import { linearKey, linearShape, type LinearName } from '../../src/engine/config';
import { LoraAdapter } from '../../src/engine/lora';
import { Rng } from '../../src/engine/rng';
import { tinyConfig } from '../helpers/tiny_checkpoint';

const modelConfig = tinyConfig({ layers: 3, heads: 4, kvHeads: 2, headDim: 8, hidden: 32 });
const targets: LinearName[] = ['down_proj', 'q_proj', 'v_proj']; // not in LINEAR_NAMES order, on purpose
const lora = { rank: 4, alpha: 8, dropout: 0, rslora: false, targets };

beforeAll(async () => {
  await initGpu();
});

describe('LoraAdapter on a flat P', () => {
  it('initialises as before (same Rng draw order), counts only targets, keeps non-targets zero', async () => {
    const adapter = new LoraAdapter(modelConfig, lora, { seed: 7 });
    // the former adapter: per layer, per target in config order, A kaiming-uniform then B zeros
    const rng = new Rng(7);
    let count = 0;
    const host = await adapter.toHost();
    expect([...host.keys()]).toEqual([0, 1, 2].flatMap((l) => targets.map((n) => linearKey(l, n))));
    for (let layer = 0; layer < modelConfig.numLayers; layer++)
      for (const name of targets) {
        const [out, inp] = linearShape(modelConfig, name);
        const a = Float32Array.from({ length: 4 * inp }, () => (rng.next() * 2 - 1) / Math.sqrt(inp));
        const h = host.get(linearKey(layer, name))!;
        expect(h.aShape).toEqual([4, inp]);
        expect(h.bShape).toEqual([out, 4]);
        expect(h.a).toEqual(a);
        expect(h.b.every((v) => v === 0)).toBe(true);
        count += 4 * (inp + out);
      }
    expect(adapter.numParams()).toBe(count);
    expect(adapter.variables()).toEqual([adapter.params]);
    expect(adapter.params.size).toBe(adapter.layout.size);
    const p = (await adapter.params.data()) as Float32Array;
    let nonzero = 0;
    for (const s of adapter.segments()) for (let i = s.offset; i < s.offset + s.length; i++) nonzero += p[i] !== 0 ? 1 : 0;
    expect(p.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)).toBe(nonzero); // nothing outside the targets
    expect(adapter.lora(0, 'k_proj')).toBeNull();
    expect(adapter.lora(0, 'gate_proj')).toBeNull();
    adapter.dispose();
  });

  it('hands out A/B views of P; gradients through them land at the layout offsets', async () => {
    const rng = new Rng(3);
    const tensors = new Map<string, { a: Float32Array; b: Float32Array }>();
    for (let l = 0; l < 3; l++)
      for (const n of targets) {
        const [out, inp] = linearShape(modelConfig, n);
        tensors.set(linearKey(l, n), { a: Float32Array.from({ length: 4 * inp }, () => rng.next()), b: Float32Array.from({ length: out * 4 }, () => rng.next()) });
      }
    const adapter = new LoraAdapter(modelConfig, lora, { tensors });
    const host = await adapter.toHost();
    for (const [key, t] of tensors) {
      expect(host.get(key)!.a).toEqual(t.a);
      expect(host.get(key)!.b).toEqual(t.b);
    }
    const w = adapter.lora(2, 'v_proj')!;
    expect(w.a.shape).toEqual([4, 32]);
    expect(w.b.shape).toEqual([16, 4]);
    expect(w.scale).toBe(2);
    expect(await w.a.data()).toEqual(tensors.get(linearKey(2, 'v_proj'))!.a);
    expect(await w.b.data()).toEqual(tensors.get(linearKey(2, 'v_proj'))!.b);
    w.a.dispose();
    w.b.dispose();
    // after P changes, the views show the new values
    tf.tidy(() => adapter.params.assign(adapter.params.mul(2)));
    const after = adapter.lora(1, 'q_proj')!;
    expect((await after.a.data())[0]).toBeCloseTo(2 * tensors.get(linearKey(1, 'q_proj'))!.a[0], 6);
    tf.dispose([after.a, after.b]);
    // inside a tape the gradient reaches P: d/dP Σ(1·A + 2·B) of one target
    const { grads } = tf.variableGrads(() => {
      const l = adapter.lora(1, 'down_proj')!;
      return l.a.sum().add(l.b.sum().mul(2)) as tf.Scalar;
    }, [adapter.params]);
    const g = (await grads[adapter.params.name].data()) as Float32Array;
    const slot = adapter.layout.slot(1, 'down_proj');
    const want = new Float32Array(adapter.layout.size);
    want.fill(1, slot.a, slot.a + 4 * slot.in);
    want.fill(2, slot.b, slot.b + slot.out * 4);
    expect(g).toEqual(want);
    tf.dispose(grads);
    const n = tf.memory().numTensors;
    adapter.dispose();
    expect(tf.memory().numTensors).toBeLessThan(n);
    expect(() => new LoraAdapter(modelConfig, lora, { tensors: new Map([...tensors].slice(1)) })).toThrow(/no weights for/);
  });
});
