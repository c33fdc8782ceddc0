/**
 * Writes the real-shape random checkpoints of test/helpers/real_checkpoints.ts
 * (cached under test/scratch/real-checkpoints/) and prints where they are, so
 * the CLI and benchmarks can run on them:
 *
 *   npx tsx bench/make_real_checkpoints.ts [--models qwen2.5-0.5b,stories15M] [--layers 2] [--seed 0] [--out DIR] [--force]
 *   npm run -s cli -- generate --model <printed path> --prompt "Once upon a time" --max-new-tokens 8
 *
 * Without --layers each model gets its full depth.
 */
import { parseArgs } from 'node:util';
import { fullDepth, REAL_MODEL_IDS, realCheckpoint, type RealModelId } from '../test/helpers/real_checkpoints';

const { values } = parseArgs({
  options: { models: { type: 'string' }, layers: { type: 'string' }, seed: { type: 'string', default: '0' }, out: { type: 'string' }, force: { type: 'boolean' } },
});
const ids = (values.models ? values.models.split(',') : [...REAL_MODEL_IDS]) as RealModelId[];
for (const id of ids) {
  if (!REAL_MODEL_IDS.includes(id)) throw new Error(`unknown model "${id}" (known: ${REAL_MODEL_IDS.join(', ')})`);
  const layers = values.layers ? Number(values.layers) : fullDepth(id);
  const ck = realCheckpoint(id, { layers, seed: Number(values.seed), dir: values.out, force: values.force });
  console.log(`${id} (${ck.format}, ${layers} layers): ${ck.modelPath}${ck.writeSeconds ? ` (written in ${ck.writeSeconds.toFixed(1)} s)` : ' (cached)'}`);
}
