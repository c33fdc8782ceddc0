/**
 * The shared ground truth on whatever GPU this runs on, in each kernel flavour
 * (the 'tiled' kernels, every real GPU's default, had never run on one before
 * issue 10): stories260K's prompt ids, last-position logits (to 1e-4) and
 * greedy continuation (ids and text) against ../shared/models/stories260K/
 * reference.json (llama2.c's run.c and an independent PyTorch implementation).
 *
 *   npx tsx bench/reference_check.ts [--model DIR] [--reference FILE] [--flavours tiled,simple]
 *
 * One JSON line per case and flavour; exits 1 if any differs. The same checks
 * as test/gpu/reference.test.ts, as a command the GPU kit carries.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../src/engine/gpu/device';
import { loadModelPath } from '../src/engine/io/node_load';
import { LlamaModel } from '../src/engine/model';
import { TextTokenizer } from '../src/engine/tokenizer';
import { generate } from '../src/engine/generate';
import { referenceCases } from '../test/helpers/shared';
import { kernelFlavor, setKernelFlavor, type KernelFlavor } from '../kernels/program';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: new URL('../../shared/models/stories260K-hf', import.meta.url).pathname },
    reference: { type: 'string' },
    flavours: { type: 'string', default: 'tiled,simple' },
  },
});
const cases = referenceCases(values.reference);
const info = await initGpu();
const loaded = await loadModelPath(values.model!);
const model = LlamaModel.fromLoaded(loaded);
const tok = new TextTokenizer(loaded.tokenizer);
let failures = 0;
for (const flavour of values.flavours!.split(',') as KernelFlavor[]) {
  setKernelFlavor(flavour);
  for (const c of cases) {
    const ids = tok.encodePrompt(c.prompt);
    const logits = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
    const all = (await logits.data()) as Float32Array;
    logits.dispose();
    const V = model.config.vocabSize;
    const last = Array.from(all.slice((ids.length - 1) * V, (ids.length - 1) * V + c.last_logits_head.length));
    const logitDiff = Math.max(...last.map((v, i) => Math.abs(v - c.last_logits_head[i])));
    // run.c prints `steps` tokens after BOS: the prompt's, then the generated ones
    const res = await generate(model, ids, { temperature: 0, maxNewTokens: c.steps - ids.length + 1 });
    const n = Math.min(60, res.ids.length);
    const checks = {
      prompt_ids: JSON.stringify(ids) === JSON.stringify(c.prompt_ids),
      logits: logitDiff < 1e-4,
      greedy_ids: JSON.stringify(res.ids.slice(0, n)) === JSON.stringify(c.greedy_ids_first60.slice(0, n)) && res.ids.length >= Math.min(60, c.steps - ids.length),
      text: tok.decode([...ids, ...res.ids]) === c.text,
    };
    const pass = Object.values(checks).every(Boolean);
    if (!pass) failures++;
    console.log(JSON.stringify({ figure: 'reference', flavour: kernelFlavor(), prompt: c.prompt, pass, ...checks, max_logit_diff: logitDiff, adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim() }));
  }
}
setKernelFlavor(null);
model.dispose();
console.error(failures ? `${failures} case(s) differ from the reference` : 'every case equals the reference');
process.exit(failures ? 1 : 0);
