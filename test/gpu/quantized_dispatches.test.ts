/**
 * Dequantization lives in the matmuls (issue 23): with the frozen matrices
 * held as Q8_0 or Q4_0 blocks, a decoded token and a training micro-batch run
 * exactly as many GPU programs per layer as with bf16 halves, counted by
 * wrapping runWebGPUProgram (bench/dispatches.ts), and within issue 9's
 * bounds (decode ≤ 12, training ≤ 80; decoding with the adapter on is 16
 * either way). Per layer = 2 layers − 1 layer.
 */
import { beforeAll, expect, it } from 'vitest';
import { initGpu } from '../../src/engine/gpu/device';
import { countPhases, type Phases } from '../../bench/dispatches';
import { tinyConfig } from '../helpers/tiny_checkpoint';
import type { FrozenBits } from '../../src/engine/frozen';

beforeAll(async () => {
  await initGpu();
});

const shape = (layers: number) => ({ ...tinyConfig({ hidden: 64, heads: 4, kvHeads: 2, headDim: 16, layers }), vocabSize: 512 });

async function perLayer(bits: FrozenBits): Promise<Phases> {
  const [one, two] = [await countPhases(1, 'fused', bits, shape), await countPhases(2, 'fused', bits, shape)];
  return { decode: two.decode - one.decode, decode_adapter: two.decode_adapter - one.decode_adapter, train_micro_batch: two.train_micro_batch - one.train_micro_batch };
}

it('decode and training dispatches per layer are the same at 16, 8 and 4 bits', async () => {
  const b16 = await perLayer(16);
  const b8 = await perLayer(8);
  const b4 = await perLayer(4);
  console.log(`dispatches per layer: 16-bit ${JSON.stringify(b16)}, 8-bit ${JSON.stringify(b8)}, 4-bit ${JSON.stringify(b4)}`);
  expect(b8).toEqual(b16);
  expect(b4).toEqual(b16);
  expect(b4.decode).toBeLessThanOrEqual(12);
  expect(b4.train_micro_batch).toBeLessThanOrEqual(80);
}, 600_000);
