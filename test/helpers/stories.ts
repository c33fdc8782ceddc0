/** stories260K (HF layout, from ../shared) on the GPU with its tokenizer, for tests that run the real model. */
import { initGpu } from '../../src/engine/gpu/device';
import { loadHF } from '../../src/engine/io/hf';
import { folderSource } from '../../src/engine/io/node_source';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { sharedPath } from './shared';

export async function loadStories260K(): Promise<{ model: LlamaModel; tok: TextTokenizer }> {
  await initGpu();
  const loaded = await loadHF(folderSource(sharedPath('models/stories260K-hf')));
  return { model: LlamaModel.fromLoaded(loaded), tok: new TextTokenizer(loaded.tokenizer) };
}
