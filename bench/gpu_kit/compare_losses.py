"""Compare two per-step loss logs: the browser engine's (`cli train --log`) and
train_peft.py's (`--log`), one JSON object per line with "step" and "loss".

    python3 compare_losses.py OURS.jsonl TORCH.jsonl [--first 1e-4] [--json OUT.json]

Issue 10's check on stories260K: same data, order, init and settings, so the
first step's loss (the base model's loss on the first batch, B = 0 at init) must
agree to 1e-4 and the curves must stay close after. Prints the first-step
difference, the largest and mean absolute differences over the steps both logs
have, and the loss at a few steps side by side; exits 1 when the first step
differs by more than --first, or a log is empty, or their steps do not line up.
Standard library only (it runs on the device machine and in tests here).
"""
import argparse
import json
import sys


def read_log(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                raise SystemExit(f"{path}:{n}: not JSON ({e})")
            if "step" not in r or "loss" not in r:
                raise SystemExit(f"{path}:{n}: a row needs 'step' and 'loss'")
            rows.append(r)
    return rows


def compare(ours, torch, first_tol):
    a = {r["step"]: float(r["loss"]) for r in ours}
    b = {r["step"]: float(r["loss"]) for r in torch}
    steps = sorted(set(a) & set(b))
    problems = []
    if not steps:
        problems.append("the logs have no step in common")
        return {"steps": 0, "problems": problems}
    if steps[0] != 1:
        problems.append(f"the first common step is {steps[0]}, not 1")
    diffs = [abs(a[s] - b[s]) for s in steps]
    first = abs(a[steps[0]] - b[steps[0]])
    if first > first_tol:
        problems.append(f"step {steps[0]}: loss {a[steps[0]]:.6f} vs {b[steps[0]]:.6f}, |diff| {first:.2e} > {first_tol:g}")
    if len(a) != len(b):
        problems.append(f"the logs have {len(a)} and {len(b)} steps")
    picks = sorted({steps[0], steps[len(steps) // 4], steps[len(steps) // 2], steps[(3 * len(steps)) // 4], steps[-1]})
    return {
        "steps": len(steps),
        "first_step_abs_diff": first,
        "max_abs_diff": max(diffs),
        "mean_abs_diff": sum(diffs) / len(diffs),
        "final": {"ours": a[steps[-1]], "torch": b[steps[-1]]},
        "at": [{"step": s, "ours": a[s], "torch": b[s]} for s in picks],
        "problems": problems,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("ours")
    p.add_argument("torch")
    p.add_argument("--first", type=float, default=1e-4, help="largest allowed |diff| of the first step's loss")
    p.add_argument("--json", help="also write the result here")
    args = p.parse_args(argv)
    r = compare(read_log(args.ours), read_log(args.torch), args.first)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=2)
    print(json.dumps(r))
    for line in r["problems"]:
        print(f"FAIL: {line}", file=sys.stderr)
    return 1 if r["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
