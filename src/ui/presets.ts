/**
 * Training presets that say what they are. Defaults follow the reference run
 * in ../shared/README.md (LoRA r=8, alpha=16 on all 7 linear layers, AdamW
 * lr 1e-2, warmup, cosine, batch 16, 3 epochs, on stories260K), scaled down
 * for a quick demo.
 */
import { LINEAR_NAMES, type LinearName } from '../engine/config';
import { DEFAULT_TRAIN_CONFIG } from '../engine/train/trainer';
import type { TrainSettings } from '../worker/protocol';

export const ALL_TARGETS: LinearName[] = [...LINEAR_NAMES];

/** The engine's defaults (the shared recipe), scaled down to a quick run on the tiny model. */
export const DEFAULT_SETTINGS: TrainSettings = {
  ...DEFAULT_TRAIN_CONFIG,
  warmup: 10,
  batchSize: 8,
  epochs: 1,
  maxSteps: 60,
  evalEvery: 20,
  sampleEvery: 20,
  checkpointEvery: 10,
  // activation checkpointing only when the run would not fit the GPU budget without it (lib/save_memory.ts)
  saveMemory: 'auto',
};

export interface Preset {
  id: string;
  title: string;
  what: string;
  settings: Partial<TrainSettings>;
}

export const PRESETS: Preset[] = [
  {
    id: 'quick',
    title: 'Quick demo: stories260K, 60 steps',
    what: '60 steps of 8 rows at a high learning rate: enough to see the loss fall and the stories start to use the requested name. Made for the tiny model: about 5 minutes even on a CPU-emulated adapter (measured: 5 min 16 s on the demo dataset, SwiftShader on 2 cores), less on a GPU; the status line shows the real ETA.',
    settings: { ...DEFAULT_SETTINGS },
  },
  {
    id: 'lima',
    title: 'LIMA-style: 3 epochs over ~1,000 rows',
    what: 'The shape of the LIMA experiment: every row seen three times, batch 16, warmup then cosine decay. About 170 steps on the 1k TinyStories set: about 40 minutes on a CPU-emulated adapter (measured from the command line, SwiftShader on 2 cores), minutes on a real GPU.',
    settings: { ...DEFAULT_SETTINGS, batchSize: 16, epochs: 3, maxSteps: 0, warmup: 20, evalEvery: 25, sampleEvery: 50, checkpointEvery: 25 },
  },
  {
    id: 'smoke',
    title: 'Smoke test: 3 steps',
    what: 'Checks that everything works on this machine (batch 2, 128 tokens, 3 steps). The model will not change noticeably.',
    settings: { ...DEFAULT_SETTINGS, batchSize: 2, maxLength: 128, maxSteps: 3, warmup: 0, evalEvery: 3, sampleEvery: 0, checkpointEvery: 1 },
  },
];
