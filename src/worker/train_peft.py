#!/usr/bin/env python3
"""train_peft.py: the LIMA playground's LoRA run, in PyTorch (transformers + peft).

Written by the playground's recipe export beside run.json (every setting of the
browser run), train.jsonl / validation.jsonl ({"prompt", "completion"}: the text
after the template) and train_tokens.jsonl / validation_tokens.jsonl (the exact
ids and labels the browser trained on, same order).

    python train_peft.py                          # one GPU (or the CPU)
    accelerate launch train_peft.py               # many GPUs (DDP), same maths
    accelerate launch --multi_gpu --num_processes 2 train_peft.py   # 2 CPU processes (gloo), e.g. to try it
    python train_peft.py --tokens train_tokens.jsonl --log steps.jsonl
    python train_peft.py --plan 5                 # data order, lr, A init; stdlib only
    python train_peft.py --full-precision         # a 4- or 8-bit run's base in f32 instead

What it reproduces of the browser run (src/engine/train/trainer.ts):
  - data order: epoch e visits the rows in a Fisher-Yates shuffle seeded with
    seed + e (mulberry32, the engine's Rng, replicated here with 32-bit
    masking); step k takes the next batch_size x grad_accum rows of that order
    (an epoch's last step may be short); shuffle off keeps file order;
  - tokenization: BOS (when the tokenizer has one and the prompt does not start
    with it) + encode(prompt); the reply's ids from encode(prompt + completion)
    after that prefix, or, when BPE merged across the boundary, the completion
    encoded as a continuation (encode("\n" + completion) minus the anchor's
    ids); then EOS. Labels -100 on the prompt; reply + EOS trained. Truncated
    from the right at max_length. With --tokens the browser's own ids are used
    (needed for multi-turn rows, whose text here is one prompt and one reply);
  - loss: the sum of next-token NLL over every trained token of the whole
    effective batch divided by their count (not a mean of micro-batch means);
  - LoRA: r, alpha (alpha/r, or alpha/sqrt(r) with rsLoRA), the same targets;
    A initialised from the engine's Rng(seed) stream value by value (layer by
    layer, targets in run.json's order, A row-major, uniform(-1, 1)/sqrt(in),
    rounded to f32), B zero: the whole curve can match, not only step 1;
  - optimizer: torch.optim.AdamW (betas 0.9/0.999, eps 1e-8, decoupled weight
    decay) or SGD (weight decay in the gradient); clip_grad_norm_ of the mean
    gradient at max_grad_norm (0 = none); lr schedules as HF's
    get_{constant,linear,cosine}_schedule_with_warmup (lr of step k, 0-based);
  - rows padded on the right to a multiple of 32 (at most max_length), so
    tokens_processed (rows x length) counts what the browser's tokens/s counts;
  - a quantized base (QLoRA): when the browser held the frozen weights at 4 or 8
    bits (run.json frozenBits), the base loads through bitsandbytes at the same
    bits, LoRA and the maths in f32 (see base_quantization).
What it does not reproduce:
  - LoRA dropout: PEFT's own dropout (torch's RNG) cannot draw our masks, so
    with dropout > 0 the curves agree only statistically;
  - packing: packed rows give the same loss as unpacked ones (each sample
    attends to itself only), so this script always trains unpacked;
  - the browser's f16/bf16 weight storage and its kernels' summation order:
    expect float-rounding differences that grow slowly over the steps;
  - the browser's quantized blocks: ggml's Q4_0/Q4_1/Q4_K and Q8_0 are not
    bitsandbytes' nf4 and LLM.int8(), so a 4- or 8-bit run's base weights, and
    its curve, differ from the browser's by the two quantizations' gap;
  - periodic validation (eval_every) and sample generation: it evaluates once
    at the end.
Under accelerate launch each rank takes its share of every micro-batch and the
loss is scaled so that DDP's averaged gradient is sum / (global trained tokens).
On a machine without a GPU, accelerate's --cpu launcher starts one process only;
--multi_gpu starts them through torchrun, and this script then asks accelerate
for CPU ranks (gloo).
"""
import argparse
import contextlib
import json
import math
import os
import struct
import sys
import time

IGNORE_INDEX = -100
LINEAR_NAMES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ANCHOR = "\n"
M32 = 0xFFFFFFFF


# ---- the engine's random numbers (src/engine/rng.ts, mulberry32) -------------

def imul(a, b):
    """Math.imul on unsigned 32-bit values: the low 32 bits of the product."""
    return (a * b) & M32


class Rng:
    """mulberry32 as src/engine/rng.ts writes it, in unsigned 32-bit arithmetic."""

    def __init__(self, seed):
        self.state = int(seed) & M32

    def next(self):
        """uniform in [0, 1)"""
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0

    def int(self, n):
        return math.floor(self.next() * n)


def shuffled(items, seed):
    """src/engine/data/split.ts shuffled: Fisher-Yates from the end."""
    out = list(items)
    rng = Rng(seed)
    for i in range(len(out) - 1, 0, -1):
        j = rng.int(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


# ---- the run's arithmetic (trainer.ts, schedule.ts) -----------------------------

def steps_per_epoch(n, s):
    return math.ceil(n / (s["batchSize"] * s["gradAccum"]))


def total_steps(n, s):
    return s["maxSteps"] if s["maxSteps"] > 0 else math.ceil(s["epochs"] * steps_per_epoch(n, s))


def epoch_order(n, s, epoch):
    idx = list(range(n))
    return shuffled(idx, s["seed"] + epoch) if s.get("shuffle", True) else idx


_EPOCH_ORDER = {}  # the last epoch's order: steps of one epoch draw its shuffle once


def samples_of_step(n, s, k):
    """Row indices of optimizer step k (0-based), as micro-batches: Trainer.samplesOfStep."""
    B, G = s["batchSize"], s["gradAccum"]
    spe = steps_per_epoch(n, s)
    epoch, within = k // spe, k % spe
    key = (n, s["seed"], bool(s.get("shuffle", True)), epoch)
    if key not in _EPOCH_ORDER:
        _EPOCH_ORDER.clear()
        _EPOCH_ORDER[key] = epoch_order(n, s, epoch)
    picked = _EPOCH_ORDER[key][within * B * G:(within + 1) * B * G]
    return [picked[i:i + B] for i in range(0, len(picked), B)]


def lr_multiplier(kind, step, warmup, total):
    if step < warmup:
        return step / max(1, warmup)
    if kind == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return max(0.0, 1 - progress)
    return max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))


def lr_of_step(n, s, k):
    return s["lr"] * lr_multiplier(s["schedule"], k, s["warmup"], total_steps(n, s))


# ---- LoRA A init (src/engine/lora.ts) -----------------------------------------

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def linear_key(layer, name):
    block = "mlp" if name in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    return f"model.layers.{layer}.{block}.{name}"


def linear_in(cfg, name):
    """in features of a linear, from an HF config.json dict."""
    hidden = cfg["hidden_size"]
    head_dim = cfg.get("head_dim") or hidden // cfg["num_attention_heads"]
    if name == "o_proj":
        return cfg["num_attention_heads"] * head_dim
    if name == "down_proj":
        return cfg["intermediate_size"]
    return hidden


def lora_a_init(cfg, s):
    """{linear key: (r, in, [r*in f32 values row-major])}, drawn as LoraAdapter does."""
    rng = Rng(s["seed"])
    r = s["rank"]
    out = {}
    for layer in range(cfg["num_hidden_layers"]):
        for name in s["targets"]:
            fan_in = linear_in(cfg, name)
            bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) = 1/sqrt(fan_in)
            out[linear_key(layer, name)] = (r, fan_in, [f32((rng.next() * 2 - 1) * bound) for _ in range(r * fan_in)])
    return out


# ---- files -----------------------------------------------------------------------

def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def local_config(model):
    path = os.path.join(model, "config.json")
    if not os.path.isfile(path):
        raise SystemExit(f"--plan needs a local model folder with config.json (got {model!r})")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def plan(run, here, model, n_steps, tokens_path):
    """The first n_steps steps' rows and lrs and the first 8 values of each A: stdlib only."""
    s = run["settings"]
    rows_path = tokens_path or os.path.join(here, "train.jsonl")
    n = len(read_jsonl(rows_path))
    cfg = local_config(model)
    steps = [{"step": k + 1, "micro": samples_of_step(n, s, k), "lr": lr_of_step(n, s, k)} for k in range(min(n_steps, total_steps(n, s)))]
    a = {key: v[2][:8] for key, v in lora_a_init(cfg, s).items()}
    return {"rows": n, "steps_per_epoch": steps_per_epoch(n, s), "total_steps": total_steps(n, s), "steps": steps, "lora_a": a,
            "base_quantization": base_quantization(s)}


# ---- the base's quantization (TrainConfig.frozenBits) ----------------------------

def base_quantization(s, full_precision=False):
    """bitsandbytes settings for the browser run's frozen bits (BitsAndBytesConfig's kwargs), or None (f32).

    4 bits: nf4 with double quantization, QLoRA's choice (Dettmers et al. 2023, sections 3-4: NF4
    is information-theoretically optimal for normally distributed weights and beat fp4 in their
    evaluations; double quantization stores the block scales in 8 bits). The browser's Q4_0 is
    neither (a uniform 4-bit grid, 32 weights a block, an f16 scale), and bitsandbytes has no
    such type: nf4 is the closest in memory and loses no more. 8 bits: LLM.int8() (row-wise
    absmax int8, outliers above 6 kept in 16 bits; its matmul takes f16 inputs), where the
    browser's Q8_0 is absmax int8 in blocks of 32. 4-bit compute in f32, as the browser's.
    """
    bits = s.get("frozenBits")
    if full_precision or bits not in (4, 8):
        return None
    if bits == 4:
        return {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": "float32"}
    return {"load_in_8bit": True}


# ---- tokenization (src/engine/data/tokenize.ts) ---------------------------------

def encode(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def encode_continuation(tok, text):
    anchor = encode(tok, ANCHOR)
    with_anchor = encode(tok, ANCHOR + text)
    return with_anchor[len(anchor):] if with_anchor[:len(anchor)] == anchor else encode(tok, text)


def tokenize_row(tok, prompt, completion, max_length):
    """ids and labels of one prompt/completion row, as the browser made them."""
    bos = tok.bos_token_id is not None and not (tok.bos_token and prompt.startswith(tok.bos_token))
    head = [tok.bos_token_id] if bos else []
    p = encode(tok, prompt) if prompt else []
    full = encode(tok, prompt + completion)
    reply = full[len(p):] if full[:len(p)] == p else encode_continuation(tok, completion)
    ids = head + p + reply
    labels = [IGNORE_INDEX] * (len(head) + len(p)) + list(reply)
    eos = tok.eos_token_id
    if eos is None:
        raise SystemExit("the tokenizer has no EOS token")
    if not (ids and ids[-1] == eos and labels[-1] != IGNORE_INDEX):
        ids.append(eos)
        labels.append(eos)
    return {"input_ids": ids[:max_length], "labels": labels[:max_length]}


# ---- batches (src/engine/train/batches.ts, unpacked) ----------------------------

def trained_targets(row):
    return sum(1 for l in row["labels"][1:] if l != IGNORE_INDEX)


def pad_batch(rows, max_length, bucket=32):
    """(ids, labels, mask) lists, right-padded to a multiple of bucket (at most max_length)."""
    longest = max(len(r["input_ids"]) for r in rows)
    T = min(max_length, math.ceil(longest / bucket) * bucket)
    ids = [r["input_ids"] + [0] * (T - len(r["input_ids"])) for r in rows]
    labels = [r["labels"] + [IGNORE_INDEX] * (T - len(r["labels"])) for r in rows]
    mask = [[1] * len(r["input_ids"]) + [0] * (T - len(r["input_ids"])) for r in rows]
    return ids, labels, mask, T


# ---- torch side ------------------------------------------------------------------

def load_model(model, random_init=False, device="cpu", attn=None, config=None, quantization=None):
    """The base model in f32: from a folder / Hub id, or random weights at its config (or a config dict).

    quantization (base_quantization's kwargs): the base's linears through bitsandbytes
    (BitsAndBytesConfig), placed on `device` as they load (a quantized model cannot be moved after).
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    kw = {"attn_implementation": attn} if attn else {}
    if config is not None or random_init:
        if quantization:
            raise SystemExit("a quantized base loads from a checkpoint, not random weights: pass --full-precision")
        cfg = AutoConfig.for_model(**config) if config is not None else AutoConfig.from_pretrained(model)
        m = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, **kw)
    elif quantization:
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig
        q = dict(quantization)
        if "bnb_4bit_compute_dtype" in q:
            q["bnb_4bit_compute_dtype"] = getattr(torch, q["bnb_4bit_compute_dtype"])
        m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, quantization_config=BitsAndBytesConfig(**q), device_map={"": device}, **kw)
        # norms and embeddings to f32, the base frozen; gradient checkpointing stays the run's choice (main)
        return prepare_model_for_kbit_training(m, use_gradient_checkpointing=False)
    else:
        m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, **kw)
    return m.to(device)


def add_lora(model, s, hf_config):
    """PEFT LoRA with the run's settings, A copied from the engine's init stream, B zero."""
    import torch
    from peft import LoraConfig, get_peft_model
    lc = LoraConfig(r=s["rank"], lora_alpha=s["alpha"], lora_dropout=s["dropout"], use_rslora=bool(s["rslora"]),
                    target_modules=list(s["targets"]), bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lc)
    init = lora_a_init(hf_config, s)
    found = 0
    for name, module in model.named_modules():
        if not hasattr(module, "lora_A") or "default" not in getattr(module, "lora_A", {}):
            continue
        at = name.rfind("model.layers.")
        key = name[at:] if at >= 0 else None
        if key not in init:
            continue
        r, fan_in, values = init[key]
        w = module.lora_A["default"].weight
        if tuple(w.shape) != (r, fan_in):
            raise SystemExit(f"{name}: PEFT's A is {tuple(w.shape)}, ours ({r}, {fan_in})")
        with torch.no_grad():
            w.copy_(torch.tensor(values, dtype=torch.float32).view(r, fan_in))
            module.lora_B["default"].weight.zero_()
        found += 1
    if found != len(init):
        raise SystemExit(f"copied {found} of {len(init)} A matrices into PEFT's modules")
    return model


def loss_sum(model, ids, labels, mask, bf16):
    """Sum of next-token NLL over the trained targets of one micro-batch (f32)."""
    import torch
    import torch.nn.functional as F
    with torch.autocast(device_type=ids.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=ids, attention_mask=mask).logits
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")


def make_optimizer(params, s):
    import torch
    if s["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=s["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=s["weightDecay"])
    return torch.optim.SGD(params, lr=s["lr"], momentum=0, weight_decay=s["weightDecay"])


def train(model, rows, s, max_length, device, bf16=False, max_steps=None, log=None, accelerator=None, on_step=None):
    """The browser run's loop; returns the per-step records (rank 0 logs them)."""
    import torch
    rank = accelerator.process_index if accelerator else 0
    world = accelerator.num_processes if accelerator else 1
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, s)
    n = len(rows)
    total = total_steps(n, s)
    if max_steps:
        total_run = min(total, max_steps)
    else:
        total_run = total
    records = []
    t_start = time.perf_counter()
    model.train()
    for k in range(total_run):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        micro = samples_of_step(n, s, k)
        tokens = sum(trained_targets(rows[i]) for m in micro for i in m)
        processed = 0
        lsum = torch.zeros((), device=device)
        for mi, m in enumerate(micro):
            share = m[rank::world]
            weight = 1.0
            if not share:  # this rank has nothing of a short micro-batch: a zero-weight row keeps DDP in step
                share, weight = m[:1], 0.0
            ids, labels, mask, _ = pad_batch([rows[i] for i in share], max_length)
            processed += len(m) * pad_batch([rows[i] for i in m], max_length)[3]
            ids_t = torch.tensor(ids, device=device)
            labels_t = torch.tensor(labels, device=device)
            mask_t = torch.tensor(mask, device=device)
            sync = contextlib.nullcontext() if (accelerator is None or mi == len(micro) - 1) else accelerator.no_sync(model)
            with sync:
                ls = loss_sum(model, ids_t, labels_t, mask_t, bf16) * weight
                (ls * (world / max(1, tokens))).backward()  # DDP averages over ranks: world/tokens makes it sum/tokens
            lsum = lsum + ls.detach()
        if accelerator is not None:
            lsum = accelerator.reduce(lsum, reduction="sum")
        max_norm = s["maxGradNorm"] if s["maxGradNorm"] > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        lr_now = lr_of_step(n, s, k)
        for g in opt.param_groups:
            g["lr"] = lr_now
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss = lsum.item() / tokens if tokens else float("nan")
        gn = float(grad_norm)
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        rec = {"step": k + 1, "total_steps": total, "loss": loss, "lr": lr_now, "grad_norm": gn, "tokens": tokens,
               "tokens_processed": processed, "tokens_per_s": processed / dt if dt > 0 else None,
               "elapsed_s": time.perf_counter() - t_start}
        records.append(rec)
        if rank == 0:
            print(f"step {k + 1}/{total} loss {loss:.6f} lr {lr_now:.3g} grad_norm {gn:.4f} {rec['tokens_per_s'] or 0:.0f} tok/s", flush=True)
            if log is not None:
                log.write(json.dumps(rec) + "\n")
                log.flush()
        if on_step:
            on_step(rec)
    return records


def evaluate(model, rows, s, max_length, device, bf16=False):
    """Mean NLL per trained token over rows, in micro-batches of batch_size."""
    import torch
    if not rows:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rows), s["batchSize"]):
            part = rows[i:i + s["batchSize"]]
            ids, labels, mask, _ = pad_batch(part, max_length)
            total += loss_sum(model, torch.tensor(ids, device=device), torch.tensor(labels, device=device), torch.tensor(mask, device=device), bf16).item()
            count += sum(trained_targets(r) for r in part)
    model.train()
    return total / count if count else None


def tokenized_rows(tok, path, max_length):
    return [tokenize_row(tok, r["prompt"], r["completion"], max_length) for r in read_jsonl(path)]


def compare_tokens(ours, theirs):
    """How many rows of our tokenization equal the browser's (ids and labels)."""
    same = sum(1 for a, b in zip(ours, theirs) if a["input_ids"] == b["input_ids"] and a["labels"] == b["labels"])
    return same, len(theirs)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="The LIMA playground's LoRA run in transformers + peft.")
    ap.add_argument("--config", help="run.json (default: beside this script)")
    ap.add_argument("--model", help="HF id or local folder (default: the run's base model)")
    ap.add_argument("--out", default="lima-lora", help="where the adapter is saved (PEFT save_pretrained)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (the schedule keeps the run's length)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (weights stay f32)")
    ap.add_argument("--device", help="cuda, cuda:1, cpu, ... (default: cuda when there is one)")
    ap.add_argument("--attn", help="attn_implementation (eager, sdpa); default: transformers' choice")
    ap.add_argument("--log", help="one JSON line per step")
    ap.add_argument("--tokens", help="train on these exact ids+labels (train_tokens.jsonl) instead of tokenizing")
    ap.add_argument("--random-init", action="store_true", help="random weights at the model's config (benchmarks)")
    ap.add_argument("--plan", type=int, default=0, help="print the first N steps' rows, lrs and A init as JSON and exit (stdlib only)")
    ap.add_argument("--full-precision", action="store_true", help="load the base in f32 even when the browser run held it at 4 or 8 bits")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    config_path = args.config or os.path.join(here, "run.json")
    with open(config_path, encoding="utf-8") as f:
        run = json.load(f)
    here = os.path.dirname(os.path.abspath(config_path))
    s = run["settings"]
    max_length = run["max_length"]
    model_name = args.model or run["base_model"]
    tokens_path = args.tokens and os.path.abspath(args.tokens)
    if args.plan:
        print(json.dumps(plan(run, here, model_name, args.plan, tokens_path)))
        return 0

    import torch
    from transformers import AutoConfig, AutoTokenizer
    accelerator = None
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        from accelerate import Accelerator
        # without cpu=True accelerate sees no distributed setup on a machine with no GPU: every rank would train the whole run alone
        on_cpu = (args.device or "").startswith("cpu") or not torch.cuda.is_available()
        accelerator = Accelerator(cpu=on_cpu)
        if accelerator.num_processes != world:
            raise SystemExit(f"WORLD_SIZE is {world} but accelerate set up {accelerator.num_processes} process(es)")
        device = accelerator.device
    else:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    main_rank = accelerator is None or accelerator.is_main_process
    say = print if main_rank else (lambda *a, **k: None)
    if accelerator is not None:
        import torch.distributed as dist
        say(f"accelerate: {world} processes ({accelerator.distributed_type.value}, {dist.get_backend()}) on {device.type}")
    if s.get("packing"):
        say("note: the browser run packed rows; this script trains unpacked (same loss per step)")
    if s.get("dropout", 0) > 0:
        say(f"note: LoRA dropout {s['dropout']:g} uses PEFT's RNG, not the browser's masks: the curves agree only statistically")

    browser_train = os.path.join(here, "train_tokens.jsonl")
    browser_val = os.path.join(here, "validation_tokens.jsonl")
    tok = None
    try:
        tok = AutoTokenizer.from_pretrained(model_name)
    except Exception as e:  # a random-init benchmark or --tokens run may have no tokenizer files
        if not tokens_path:
            raise
        say(f"no tokenizer ({e}); using the token files only")
    if tokens_path:
        rows = read_jsonl(tokens_path)
        val_path = browser_val if os.path.isfile(browser_val) else None
        val_rows = read_jsonl(val_path) if val_path else []
    else:
        rows = tokenized_rows(tok, os.path.join(here, "train.jsonl"), max_length)
        vp = os.path.join(here, "validation.jsonl")
        val_rows = tokenized_rows(tok, vp, max_length) if os.path.isfile(vp) else []
    if tok is not None and os.path.isfile(browser_train):
        ours = tokenized_rows(tok, os.path.join(here, "train.jsonl"), max_length)
        same, count = compare_tokens(ours, read_jsonl(browser_train))
        hint = "" if same == count else " (use --tokens train_tokens.jsonl for the exact rows)"
        say(f"tokenization: {same} of {count} training rows equal the browser's ids and labels{hint}")
    say(f"{len(rows)} training rows, {len(val_rows)} validation rows; {total_steps(len(rows), s)} steps")

    quantization = base_quantization(s, args.full_precision or args.random_init)
    if quantization:
        # QLoRA: the browser held the frozen weights at frozenBits; bitsandbytes holds them at the same bits here
        import importlib.util
        if importlib.util.find_spec("bitsandbytes") is None:
            raise SystemExit(f"the browser run held its base at {s['frozenBits']} bits: pip install bitsandbytes to load it so, or pass --full-precision for f32")
        kind = "4-bit nf4, double quantization" if s["frozenBits"] == 4 else "8-bit LLM.int8()"
        say(f"note: the browser run held its base at {s['frozenBits']} bits; loading it {kind} through bitsandbytes (--full-precision for f32)")
    elif s.get("frozenBits") in (4, 8):
        say(f"note: the browser run held its base at {s['frozenBits']} bits; this one is f32")

    torch.manual_seed(s["seed"])
    hf_config = AutoConfig.from_pretrained(model_name).to_dict()
    model = load_model(model_name, random_init=args.random_init, device=device, attn=args.attn, quantization=quantization)
    if s.get("gradientCheckpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model = add_lora(model, s, hf_config)
    if main_rank:
        model.print_trainable_parameters()
    if accelerator is not None:
        model = accelerator.prepare(model)
    with open(args.log, "w", encoding="utf-8") if (args.log and main_rank) else contextlib.nullcontext() as log:
        records = train(model, rows, s, max_length, device, bf16=args.bf16, max_steps=args.max_steps, log=log, accelerator=accelerator)
    inner = accelerator.unwrap_model(model) if accelerator is not None else model
    if main_rank:
        # saved before the evaluation: bitsandbytes' CPU inference kernel for 4-bit layers wants out
        # features in multiples of 32 (stories260K's 172-wide MLP stopped the evaluation, not the training)
        inner.save_pretrained(args.out)
        say(f"adapter saved to {args.out}")
        if records:
            tps = [r["tokens_per_s"] for r in records[1:] or records if r["tokens_per_s"]]
            say(f"mean {sum(tps) / len(tps) if tps else 0:.0f} tokens/s (processed) after the first step")
        vl = evaluate(inner, val_rows, s, max_length, device, args.bf16)
        if vl is not None:
            say(f"validation loss {vl:.6f} (perplexity {math.exp(vl):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
