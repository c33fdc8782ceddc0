#!/usr/bin/env bash
# Issue 10's device check, as one prepared command for the lent GPU machine
# (it has PyTorch, transformers and peft, but no Node and no network):
#
#   here:   npm run gpu:pack                     (writes .gpu/, an ignored folder)
#   device: run(command="bash bench/gpu_kit/device_check.sh", carry=[".gpu"], timeout_s=590)
#
# The parts' limits add up to 555 s, inside one command's 600. If a part runs
# into its limit, rerun it alone with more (PARTS="5", say) rather than the lot.
# In order, each part under its own time limit so one slow part cannot eat the
# others' (the whole lease is 15 minutes, one command at most 10):
#   1. the GPU, driver and library versions                      -> $OUT/env.txt
# train_peft.py reads run.json beside it and uses the browser's exact ids
# (--tokens); it prints how many rows its own tokenization gets equal.
#   2. correctness first, on this GPU, both kernel flavours: stories260K against
#      the shared ground truth (reference_check.ts), our kernels against tfjs's
#      ops (bench --only kernels)                                 -> $OUT/reference.jsonl, log.txt
#   3. stories260K: our CLI trains the recipe's run and exports its recipe;
#      train_peft.py trains the same run from that export on the same GPU;
#      compare_losses.py: first step equal to 1e-4, the curves   -> $OUT/loss_*.jsonl, $OUT/loss_compare.json
#   4. PyTorch's figures (bench/torch_baseline.py)               -> $OUT/figures_torch.jsonl
#   5. our figures, both kernel flavours (bench/gpu_figures.ts)  -> $OUT/figures_ours.jsonl
# Everything printed also goes to $OUT/log.txt. Set PARTS="3 5" (say) to rerun some.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/lima-out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1
PARTS="${PARTS:-1 2 3 4 5}"
W="$(mktemp -d /tmp/lima-check.XXXX)"
KIT=.gpu
[ -x "$KIT/run.sh" ] || { echo "no $KIT/run.sh: run 'npm run gpu:pack' and carry .gpu"; exit 1; }
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

if part 1; then
  stamp "1. environment"
  {
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "cuda", torch.version.cuda, "| transformers", transformers.__version__, "| peft", peft.__version__)' 2>&1
    "$KIT/run.sh" env 2>&1
  } | tee "$OUT/env.txt"
fi

if part 2; then
  stamp "2. correctness: the shared ground truth, our kernels vs tfjs"
  timeout 45 "$KIT/run.sh" reference | tee "$OUT/reference.jsonl"
  echo "exit $?"
  timeout 60 "$KIT/run.sh" bench --only kernels
  echo "exit $?"
fi

if part 3; then
  stamp "3. stories260K: our run, then train_peft.py on its recipe"
  timeout 90 "$KIT/run.sh" cli train --model "$KIT/data/stories260K-hf" --data "$KIT/data/tinystories-instruct-1k.jsonl" \
    --out "$W/ours" --recipe "$W/recipe" --log "$OUT/loss_ours.jsonl" --json
  echo "exit $?"
  timeout 90 python3 "$W/recipe/train_peft.py" --device cuda --model "$KIT/data/stories260K-hf" \
    --tokens "$W/recipe/train_tokens.jsonl" --out "$W/torch" --log "$OUT/loss_torch.jsonl"
  echo "exit $?"
  python3 bench/gpu_kit/compare_losses.py "$OUT/loss_ours.jsonl" "$OUT/loss_torch.jsonl" --json "$OUT/loss_compare.json"
  echo "exit $?"
fi

if part 4; then
  stamp "4. PyTorch baseline figures"
  script=()
  [ -f "$W/recipe/train_peft.py" ] && script=(--script "$W/recipe/train_peft.py") # the exported copy, else the source's text
  timeout 120 python3 bench/torch_baseline.py "${script[@]}" --out "$OUT/figures_torch.jsonl"
  echo "exit $?"
fi

if part 5; then
  stamp "5. our figures (tiled, simple)"
  timeout 150 "$KIT/run.sh" figures --out "$OUT/figures_ours.jsonl"
  echo "exit $?"
fi
stamp "done"
