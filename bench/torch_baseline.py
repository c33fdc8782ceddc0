#!/usr/bin/env python3
"""The PyTorch baseline for issue 10's GPU figures (bench/gpu_figures.ts is our side):
random-weight models at SmolLM2-135M's and Qwen2.5-0.5B's configs (the Hub's
config.json values, as test/helpers/real_checkpoints.ts lists them), run with
the functions of the recipe's train_peft.py, so the baseline is the same
LoRA step a user would scale out with.

    python bench/torch_baseline.py [--script DIR/train_peft.py] [--models smollm2-135m,qwen2.5-0.5b]
        [--modes f32,bf16] [--batch 4] [--len 256] [--steps 3] [--prefill 256] [--decode 64]
        [--layers N] [--attn sdpa] [--out torch_figures.jsonl]

The script comes from a recipe export (--script), or by default from the checkout's
src/worker/train_peft.py.
Figures, each one JSON line with the GPU's name and the torch / transformers / peft versions:
  train    processed tokens/s (batch x len / step time) of train_peft.train(): forward,
           backward and AdamW of LoRA r 8 (alpha 16) on all 7 linears, the first third of
           each row masked as a prompt, as gpu_figures.ts; mean of `steps` steps after
           two warm-up steps, timed with torch.cuda.synchronize
  prefill  tokens/s of one `prefill`-token forward into a KV cache (DynamicCache)
  decode   tokens/s of greedy KV-cache steps (T = 1) after that prefill, each step
           taking its argmax token back to the host as generation does
  lima     the LIMA run's projected wall time: mean step time at --lima (16 x 416) x the
           steps of 1,000 rows x 3 epochs, as gpu_figures.ts projects ours
Modes: f32 (eager PyTorch, f32 weights and math) and bf16 (f32 weights, bf16 autocast).
Defaults follow gpu_figures.ts (batch 4 x 256, 3 steps, prefill 256, decode 64) so the
ratios compare like with like. It needs a CUDA GPU, torch, transformers and peft;
--device cpu runs the same code on the CPU (test/peers/torch_baseline.test.ts, tiny shapes),
where the figures mean nothing.
"""
import argparse
import importlib.util
import inspect
import json
import os
import pathlib
import sys
import time

SMOLLM2_135M = {
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536,
    "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
    "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 100000.0, "tie_word_embeddings": True,
    "attention_bias": False, "mlp_bias": False, "hidden_act": "silu", "vocab_size": 49152, "bos_token_id": 0, "eos_token_id": 0,
}
QWEN25_05B = {
    "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "hidden_size": 896, "intermediate_size": 4864,
    "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True, "hidden_act": "silu",
    "use_sliding_window": False, "sliding_window": 32768, "max_window_layers": 24, "vocab_size": 151936,
    "bos_token_id": 151643, "eos_token_id": 151643,
}
MODELS = {"smollm2-135m": SMOLLM2_135M, "qwen2.5-0.5b": QWEN25_05B}

# the browser run's settings at gpu_figures.ts's shape (DEFAULT_TRAIN_CONFIG, warmup 0, no shuffle)
SETTINGS = {
    "rank": 8, "alpha": 16, "dropout": 0.0, "rslora": False,
    "targets": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "lr": 1e-2, "schedule": "cosine", "warmup": 0, "optimizer": "adamw", "weightDecay": 0.0, "maxGradNorm": 1.0,
    "batchSize": 4, "gradAccum": 1, "epochs": 1, "maxSteps": 0, "packing": False, "seed": 0, "shuffle": False,
    "evalEvery": 0, "gradientCheckpointing": False,
}


def script_from_source():
    """The checkout's train_peft.py (the file the recipe export writes)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "worker", "train_peft.py")


def load_script(path):
    spec = importlib.util.spec_from_file_location("train_peft", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rows_for(n, length, vocab):
    """gpu_figures.ts samples(): ids 3 + (t*31 + k*7) % min(V-3, 30000), the first third masked."""
    out = []
    for k in range(n):
        ids = [3 + ((t * 31 + k * 7) % min(vocab - 3, 30000)) for t in range(length)]
        out.append({"input_ids": ids, "labels": [-100 if t < length / 3 else i for t, i in enumerate(ids)]})
    return out


def train_rate(tp, model, cfg, B, T, steps, bf16, device):
    warm = 2
    s = dict(SETTINGS, batchSize=B, maxSteps=warm + steps)
    rows = rows_for(B * (warm + steps), T, cfg["vocab_size"])
    records = tp.train(model, rows, s, T, device, bf16=bf16)
    timed = records[warm:]
    seconds = sum(r["tokens_processed"] / r["tokens_per_s"] for r in timed)
    return sum(r["tokens_processed"] for r in timed) / seconds, timed[-1]["loss"]


def synchronize(device):
    import torch
    if device.type == "cuda":
        torch.cuda.synchronize()


def inference_rates(model, cfg, prefill, decode, bf16, device):
    import torch
    from transformers import DynamicCache
    ids = torch.tensor([[3 + ((i * 37) % 2000) for i in range(prefill)]], device=device)
    # transformers 5.25 calls the forward's past_key_values `cache` (the old name is deprecated, gone in 5.40)
    kw = "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"
    model.eval()

    def once():
        cache = DynamicCache()  # filled in place by each forward
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            synchronize(device)
            t0 = time.perf_counter()
            out = model(input_ids=ids, use_cache=True, **{kw: cache})
            nxt = int(out.logits[0, -1].argmax())
            synchronize(device)
            t1 = time.perf_counter()
            for _ in range(decode):
                out = model(input_ids=torch.tensor([[nxt]], device=device), use_cache=True, **{kw: cache})
                nxt = int(out.logits[0, -1].argmax())  # the host needs the token, as greedy generation does
            synchronize(device)
            t2 = time.perf_counter()
        if cache.get_seq_length() != prefill + decode:
            raise SystemExit(f"the KV cache holds {cache.get_seq_length()} positions, expected {prefill + decode}")
        return prefill / (t1 - t0), decode / (t2 - t1)

    once()  # warm-up
    r = once()
    model.train()
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--script", help="a recipe's train_peft.py (default: the checkout's src/worker/train_peft.py)")
    ap.add_argument("--models", default="smollm2-135m,qwen2.5-0.5b")
    ap.add_argument("--modes", default="f32,bf16")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--prefill", type=int, default=256)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--layers", type=int, default=0, help="cut the depth (0 = the real one)")
    ap.add_argument("--attn", default="sdpa", help="attn_implementation: sdpa or eager")
    ap.add_argument("--lima", default="16x416", help="rows x tokens of the LIMA projection's step (gpu_figures.ts --lima)")
    ap.add_argument("--lima-rows", type=int, default=1000)
    ap.add_argument("--lima-epochs", type=int, default=3)
    ap.add_argument("--device", default="cuda", help="cuda (the figures), or cpu (a check that the code runs)")
    ap.add_argument("--out")
    a = ap.parse_args()
    lima_b, lima_t = (int(v) for v in a.lima.split("x"))
    script = a.script or script_from_source()
    if not os.path.isfile(script):
        raise SystemExit(f"no train_peft.py at {script}")
    tp = load_script(script)
    import peft
    import torch
    import transformers
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("torch_baseline.py needs a CUDA GPU (or --device cpu)")
    base = {"gpu": torch.cuda.get_device_name(device) if cuda else "cpu", "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "attn": a.attn}
    if a.out:
        pathlib.Path(a.out).write_text("", encoding="utf-8")

    def emit(row):
        line = json.dumps(dict(row, **base))
        print(line, flush=True)
        if a.out:
            with open(a.out, "a", encoding="utf-8") as out:
                out.write(line + "\n")

    for name in [m.strip() for m in a.models.split(",")]:
        if name not in MODELS:
            raise SystemExit(f"--models: {name!r} is not one of {', '.join(MODELS)}")
        cfg = dict(MODELS[name])
        if a.layers:
            cfg["num_hidden_layers"] = a.layers
            cfg["max_window_layers"] = a.layers
        for mode in [m.strip() for m in a.modes.split(",")]:
            bf16 = mode == "bf16"
            torch.manual_seed(0)
            model = tp.load_model(None, device=device, attn=a.attn, config=cfg)
            shape = f"{cfg['num_hidden_layers']} layers, vocab {cfg['vocab_size']}; random weights (f32){', bf16 autocast' if bf16 else ''}"
            prefill_rate, decode_rate = inference_rates(model, cfg, a.prefill, a.decode, bf16, device)
            emit({"name": "torch_baseline", "model": name, "mode": mode, "phase": "prefill", "tokens_per_s": prefill_rate, "shape": f"{shape}; prefill {a.prefill}"})
            emit({"name": "torch_baseline", "model": name, "mode": mode, "phase": "decode", "tokens_per_s": decode_rate, "shape": f"{shape}; decode {a.decode} after a {a.prefill}-token prefill"})
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            lora = tp.add_lora(model, SETTINGS, cfg)
            rate, loss = train_rate(tp, lora, cfg, a.batch, a.len, a.steps, bf16, device)
            emit({"name": "torch_baseline", "model": name, "mode": mode, "phase": "train", "tokens_per_s": rate, "last_loss": loss,
                  "peak_gib": torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else None,
                  "shape": f"{shape}; train batch {a.batch} x {a.len}, LoRA r 8 on 7 linears, AdamW, mean of {a.steps} steps after 2 warm-ups"})
            # the LIMA run's projection, as gpu_figures.ts makes it: mean step time at its shape x its steps
            lrate, _ = train_rate(tp, lora, cfg, lima_b, lima_t, 2, bf16, device)
            lsteps = a.lima_epochs * -(-a.lima_rows // lima_b)
            step_s = lima_b * lima_t / lrate
            emit({"name": "torch_baseline", "model": name, "mode": mode, "phase": "lima", "batch": lima_b, "len": lima_t, "rows": a.lima_rows,
                  "epochs": a.lima_epochs, "steps": lsteps, "step_s": step_s, "projected_s": step_s * lsteps, "shape": shape})
            del model, lora
            if cuda:
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
