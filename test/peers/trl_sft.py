"""TRL's own SFTTrainer on a recipe export (test/peers/trl.test.ts).

    python trl_sft.py RECIPE_DIR --out RESULT.json [--steps 3]

Reads RECIPE_DIR/trl_sft.yaml with the parser of `trl sft` (trl.scripts.sft:
ScriptArguments, SFTConfig, ModelConfig, DatasetMixtureConfig), refusing any key
it does not know, loads the exported train.jsonl through TRL's dataset mixture,
and trains with SFTTrainer on the CPU for a few steps, as `trl sft --config
trl_sft.yaml` would (only output_dir, max_steps, logging and reporting are
overridden). Writes, as JSON:
  losses      the loss TRL logs at each step (logging_steps 1)
  same_rows   how many of TRL's tokenized rows have the browser's ids and
              labels (train_tokens.jsonl: -100 off the response), of how many
  first_batch the rows and trained-target count of TRL's first batch
"""

import argparse
import json
import os
import sys
import tempfile


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def same_rows(dataset, browser):
    """Rows whose TRL ids and labels (its completion_mask folded in: -100 off the completion) are the browser's."""
    return sum(1 for ours, theirs in zip(dataset, browser, strict=True)
               if ours["input_ids"] == theirs["input_ids"] and ours["labels"] == theirs["labels"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("recipe")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    out_path = os.path.abspath(a.out)
    os.chdir(a.recipe)  # the YAML names train.jsonl relative to itself, as `trl sft` run beside it reads it

    from trl import SFTTrainer, get_dataset, get_peft_config
    from trl.scripts.sft import make_parser

    work = tempfile.mkdtemp(prefix="trl-sft-")
    overrides = ["--output_dir", work, "--max_steps", str(a.steps), "--logging_steps", "1", "--report_to", "none",
                 "--save_strategy", "no", "--use_cpu", "true"]
    script_args, training_args, model_args, dataset_args = make_parser().parse_args_and_config(
        args=["--config", "trl_sft.yaml", *overrides], fail_with_unknown_args=True)
    dataset = get_dataset(dataset_args)
    trainer = SFTTrainer(model=model_args.model_name_or_path, args=training_args,
                         train_dataset=dataset[script_args.dataset_train_split], peft_config=get_peft_config(model_args))

    browser = read_jsonl("train_tokens.jsonl")
    batch = next(iter(trainer.get_train_dataloader()))
    labels = batch["labels"]
    first = {"rows": int(labels.shape[0]), "trained_targets": int((labels[:, 1:] != -100).sum())}
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h and "step" in h]
    result = {"losses": losses, "same_rows": [same_rows(trainer.train_dataset, browser), len(browser)], "first_batch": first,
              "train_sampling_strategy": training_args.train_sampling_strategy, "lora_target_modules": model_args.lora_target_modules}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
