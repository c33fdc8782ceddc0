/**
 * Training presets that say what they are. Defaults follow the reference run
 * in ../shared/README.md (LoRA r=8, alpha=16 on all 7 linear layers, AdamW
 * lr 1e-2, warmup, cosine, batch 16, 3 epochs, on stories260K), scaled down
 * for a quick demo.
 */
import type { TrainSettings } from '../worker/protocol';

export const ALL_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

export const DEFAULT_SETTINGS: TrainSettings = {
  rank: 8,
  alpha: 16,
  dropout: 0,
  rslora: false,
  targets: [...ALL_TARGETS],
  lr: 1e-2,
  schedule: 'cosine',
  warmup: 10,
  optimizer: 'adamw',
  weightDecay: 0,
  maxGradNorm: 1,
  batchSize: 8,
  gradAccum: 1,
  epochs: 1,
  maxSteps: 60,
  maxLength: 512,
  packing: false,
  seed: 0,
  shuffle: true,
  evalEvery: 20,
  sampleEvery: 20,
  checkpointEvery: 10,
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
    title: 'Quick demo: stories260K, ~2 minutes',
    what: '60 steps of 8 rows at a high learning rate: enough to see the loss fall and the stories start to use the requested name. Made for the tiny model on any GPU.',
    settings: { ...DEFAULT_SETTINGS },
  },
  {
    id: 'lima',
    title: 'LIMA-style: 3 epochs over ~1,000 rows',
    what: 'The shape of the LIMA experiment: every row seen three times, batch 16, warmup then cosine decay. About 170 steps on the 1k TinyStories set; minutes on a real GPU, much longer on a CPU-emulated one.',
    settings: { ...DEFAULT_SETTINGS, batchSize: 16, epochs: 3, maxSteps: 0, warmup: 20, evalEvery: 25, sampleEvery: 50, checkpointEvery: 25 },
  },
  {
    id: 'smoke',
    title: 'Smoke test: 3 steps',
    what: 'Checks that everything works on this machine (batch 2, 128 tokens, 3 steps). The model will not change noticeably.',
    settings: { ...DEFAULT_SETTINGS, batchSize: 2, maxLength: 128, maxSteps: 3, warmup: 0, evalEvery: 3, sampleEvery: 0, checkpointEvery: 1 },
  },
];
