#!/usr/bin/env python3
"""What transformers computes from a GGUF file: the peer test/peers/gguf_transformers.test.ts
holds the engine against (issue 22 item 3).

transformers loads the file itself (from_pretrained(dir, gguf_file=...), dequantizing with the
gguf package) and builds its tokenizer from the file's metadata. Given inputs.json:
  {"strings": [...], "chats": [[{"role", "content"}, ...], ...],
   "logit_prompts": [...], "greedy_chats": [[...], ...], "new_tokens": 32}
it writes to OUT:
  reference.json   {"string_ids": [[...]], "chat_texts": [...], "chat_ids": [[...]],
                    "logit_prompt_ids": [[...]], "greedy_prompt_ids": [[...]],
                    "greedy_f32": [[...]], "greedy_bf16": [[...]]}
  logits_f32_K.bin / logits_bf16_K.bin   prompt K's logits (T, V) as little-endian f32
"bf16" is the model with every matrix (2-D weight) rounded to bfloat16 and computed in f32:
what the engine keeps on the GPU by default; "f32" is the exact dequantized model.
Greedy takes the argmax n times without stopping, through transformers' KV cache.
"""

import argparse
import json
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def greedy(model, prompt, n):
    """n argmax tokens after prompt (no stopping), decoding against the model's KV cache."""
    out = []
    with torch.no_grad():
        step = model(torch.tensor([prompt]), use_cache=True)
        for _ in range(n):
            nxt = int(torch.argmax(step.logits[0, -1]))
            out.append(nxt)
            step = model(torch.tensor([[nxt]]), past_key_values=step.past_key_values, use_cache=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    folder, name = os.path.split(os.path.abspath(a.gguf))
    with open(a.inputs) as f:
        inp = json.load(f)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()

    def enc(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    ref = {"string_ids": [enc(s) for s in inp["strings"]]}
    ref["chat_texts"] = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in inp["chats"]]
    ref["chat_ids"] = [enc(t) for t in ref["chat_texts"]]
    ref["logit_prompt_ids"] = [enc(p) for p in inp["logit_prompts"]]
    greedy_texts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in inp["greedy_chats"]]
    ref["greedy_prompt_ids"] = [enc(t) for t in greedy_texts]
    n = inp["new_tokens"]

    def run(tag):
        with torch.no_grad():
            for k, ids in enumerate(ref["logit_prompt_ids"]):
                logits = model(torch.tensor([ids])).logits[0].float().contiguous().numpy()
                logits.astype("<f4").tofile(os.path.join(a.out, f"logits_{tag}_{k}.bin"))
        ref[f"greedy_{tag}"] = [greedy(model, p, n) for p in ref["greedy_prompt_ids"]]

    run("f32")
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(p.to(torch.bfloat16).float())
    run("bf16")
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
