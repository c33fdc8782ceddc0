"""lm-evaluation-harness itself on a local multiple-choice task (test/peers/lm_eval.test.ts).

    python lm_eval_mc.py --model DIR --tasks test/peers/lm_eval_tasks --task stories_mc --out RESULT.json

Runs lm_eval.simple_evaluate with the HF backend (CPU, f32, BOS first as our
engine scores) and the task YAMLs of --tasks, and writes, as JSON: acc,
acc_norm, n, and per item (in the file's order) the log-likelihood of each
choice's continuation and its gold index, read from the logged samples.
"""

import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tasks", required=True, help="folder of task YAMLs")
    ap.add_argument("--task", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    import lm_eval
    from lm_eval.tasks import TaskManager

    res = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={a.model},dtype=float32,add_bos_token=True",
        tasks=[a.task],
        task_manager=TaskManager(include_path=os.path.abspath(a.tasks)),
        device="cpu",
        batch_size=8,
        log_samples=True,
    )
    metrics = res["results"][a.task]
    samples = sorted(res["samples"][a.task], key=lambda s: s["doc_id"])
    items = [{"scores": [float(r[0]) for r in s["filtered_resps"]], "gold": int(s["target"])} for s in samples]
    out = {"acc": metrics["acc,none"], "acc_norm": metrics["acc_norm,none"], "n": len(items), "items": items}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f)
    print(json.dumps({k: out[k] for k in ("acc", "acc_norm", "n")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
