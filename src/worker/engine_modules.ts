/**
 * The training engine's modules, loaded lazily. `import.meta.glob` resolves
 * to an empty map when a file does not exist yet, so the page (and its
 * inference side) keeps working while src/engine/train/trainer.ts and
 * src/engine/lora_io.ts are being written; a request that needs them then
 * fails with a clear message instead of the whole worker failing to load.
 *
 * The interfaces mirror those modules' documented API.
 */
import type { TokenizedSample } from '../engine/data';
import type { LoraAdapter } from '../engine/lora';
import type { LlamaModel } from '../engine/model';

export interface StepReport {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSec: number;
  etaSec: number;
}

export interface Trainer {
  readonly adapter: LoraAdapter;
  readonly done: boolean;
  step(): Promise<StepReport>;
  evaluate(samples?: TokenizedSample[]): Promise<{ loss: number; perplexity: number; tokens: number }>;
  checkpoint(): Promise<unknown>;
}

export interface TrainerModule {
  Trainer: {
    new (model: LlamaModel, train: TokenizedSample[], validation: TokenizedSample[], config: Record<string, unknown>): Trainer;
    restore(model: LlamaModel, train: TokenizedSample[], validation: TokenizedSample[], ckpt: unknown): Trainer;
  };
  DEFAULT_TRAIN_CONFIG: Record<string, unknown>;
}

export interface LoraIoModule {
  exportPeft(adapter: LoraAdapter, meta: { baseModel: string; template: string }): Promise<Record<string, string | Uint8Array>>;
  importPeft(files: { config: string; safetensors: Uint8Array }, model: LlamaModel): LoraAdapter;
}

export interface EvaluateModule {
  evaluate(model: LlamaModel, samples: TokenizedSample[], opts?: { batchSize?: number; maxLength?: number }): Promise<{ loss: number; perplexity: number; tokens: number }>;
}

const trainerGlob = import.meta.glob('../engine/train/trainer.ts');
const loraIoGlob = import.meta.glob('../engine/lora_io.ts');
const evaluateGlob = import.meta.glob('../engine/train/evaluate.ts');

async function load<T>(glob: Record<string, () => Promise<unknown>>, what: string): Promise<T> {
  const loader = Object.values(glob)[0];
  if (!loader) throw new Error(`${what} is not part of this build yet (the engine module is missing); update the playground`);
  return (await loader()) as T;
}

export const loadTrainer = () => load<TrainerModule>(trainerGlob, 'Training (src/engine/train/trainer.ts)');
export const loadLoraIo = () => load<LoraIoModule>(loraIoGlob, 'Adapter import/export (src/engine/lora_io.ts)');
export const loadEvaluate = () => (Object.keys(evaluateGlob).length ? load<EvaluateModule>(evaluateGlob, 'evaluation') : Promise.resolve(null));
