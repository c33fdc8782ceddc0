/**
 * The run recipe, for when a user outgrows the browser: the processed dataset
 * as prompt/completion JSONL (exactly the text that was masked and trained,
 * after the template) and configs that train the same LoRA with TRL's
 * `trl sft` (prompt-completion datasets train on the completion only) or
 * Axolotl (`train_on_inputs: false`).
 */
import { IGNORE_INDEX, type TokenizedSample } from '../engine/data';
import type { TextTokenizer } from '../engine/tokenizer';
import type { ResolvedTrainSettings } from './protocol';
import type { PreparedSplit } from './session';

function toJsonl(tok: TextTokenizer, samples: TokenizedSample[]): string {
  return samples
    .map((s) => {
      const first = s.labels.findIndex((l) => l !== IGNORE_INDEX);
      const prompt = tok.decode(s.ids.slice(0, first));
      const completion = tok.decode(s.ids.slice(first));
      return JSON.stringify({ prompt, completion });
    })
    .join('\n') + '\n';
}

const yamlList = (xs: string[]) => `[${xs.join(', ')}]`;

export function buildRecipe(baseModel: string, tok: TextTokenizer, d: PreparedSplit, s: ResolvedTrainSettings): Record<string, string> {
  const trl = `# TRL (https://huggingface.co/docs/trl/sft_trainer): trl sft --config trl_sft.yaml
# Made by the LIMA playground: the same LoRA run as in the browser.
model_name_or_path: ${baseModel}
datasets:
  - path: json
    data_files: {train: train.jsonl}
    split: train
eval_strategy: ${s.evalEvery > 0 ? 'steps' : 'no'}
output_dir: lima-lora
use_peft: true
lora_r: ${s.rank}
lora_alpha: ${s.alpha}
lora_dropout: ${s.dropout}
use_rslora: ${s.rslora}
lora_target_modules: ${yamlList(s.targets)}
completion_only_loss: true   # prompt/completion rows: loss on the response only
max_length: ${d.maxLength}
packing: ${s.packing}
learning_rate: ${s.lr}
lr_scheduler_type: ${s.schedule}
warmup_steps: ${s.warmup}
optim: ${s.optimizer === 'adamw' ? 'adamw_torch' : 'sgd'}
weight_decay: ${s.weightDecay}
max_grad_norm: ${s.maxGradNorm}
per_device_train_batch_size: ${s.batchSize}
gradient_accumulation_steps: ${s.gradAccum}
gradient_checkpointing: ${s.gradientCheckpointing}   # recompute activations in backward (the page's Save memory: ${s.saveMemory})
num_train_epochs: ${s.epochs}
max_steps: ${s.maxSteps > 0 ? s.maxSteps : -1}
seed: ${s.seed}
`;
  const axolotl = `# Axolotl (https://docs.axolotl.ai): axolotl train axolotl.yaml
base_model: ${baseModel}
adapter: lora
lora_r: ${s.rank}
lora_alpha: ${s.alpha}
lora_dropout: ${s.dropout}
peft_use_rslora: ${s.rslora}
lora_target_modules: ${yamlList(s.targets)}
datasets:
  - path: train.jsonl
    ds_type: json
    type:
      field_instruction: prompt
      field_output: completion
      format: "{instruction}"
      no_input_format: "{instruction}"
test_datasets:
  - path: validation.jsonl
    ds_type: json
    split: train
    type:
      field_instruction: prompt
      field_output: completion
      format: "{instruction}"
      no_input_format: "{instruction}"
train_on_inputs: false   # loss on the response only
sequence_len: ${d.maxLength}
sample_packing: ${s.packing}
learning_rate: ${s.lr}
lr_scheduler: ${s.schedule}
warmup_steps: ${s.warmup}
optimizer: ${s.optimizer === 'adamw' ? 'adamw_torch' : 'sgd'}
weight_decay: ${s.weightDecay}
max_grad_norm: ${s.maxGradNorm}
micro_batch_size: ${s.batchSize}
gradient_accumulation_steps: ${s.gradAccum}
gradient_checkpointing: ${s.gradientCheckpointing}   # recompute activations in backward (the page's Save memory: ${s.saveMemory})
num_epochs: ${s.epochs}
${s.maxSteps > 0 ? `max_steps: ${s.maxSteps}\n` : ''}seed: ${s.seed}
output_dir: ./lima-lora
`;
  const readme = `LIMA playground run recipe
base model: ${baseModel}
dataset: ${d.name} (${d.train.length} training rows, ${d.validation.length} held out), template "${d.template}"

train.jsonl / validation.jsonl: {"prompt", "completion"} rows, the text after the template was applied.
The loss was computed on the completion (and the EOS that ends it) only.
trl_sft.yaml: trl sft --config trl_sft.yaml
axolotl.yaml: axolotl train axolotl.yaml
`;
  return {
    'train.jsonl': toJsonl(tok, d.train),
    'validation.jsonl': toJsonl(tok, d.validation),
    'trl_sft.yaml': trl,
    'axolotl.yaml': axolotl,
    'README.txt': readme,
  };
}
