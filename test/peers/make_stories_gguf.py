#!/usr/bin/env python3
"""Writes stories260K as a GGUF the way llama.cpp's convert_hf_to_gguf.py would, with gguf-py's
GGUFWriter, for test/peers/gguf_stories.test.ts: llama metadata, q_proj/k_proj rows permuted
for llama.cpp's RoPE (LlamaModel.permute), F32 tensors (so the engine's GGUF load can be held
bit for bit against its HF-folder load), and the SentencePiece vocabulary of llama2.c's
tok512.bin ("llama" tokenizer: pieces with '▁', scores, token types).

    make_stories_gguf.py --hf DIR --tokenizer tok512.bin --out FILE [--version 2|3]
"""

import argparse
import json
import os
import struct

import numpy as np
from gguf import GGUFWriter, TokenType
from safetensors.numpy import load_file


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def pieces(path):
    out = []
    with open(path, "rb") as f:
        f.read(4)
        while header := f.read(8):
            score, n = struct.unpack("<fi", header)
            text = f.read(n).decode("utf-8")
            text = {"\n<s>\n": "<s>", "\n</s>\n": "</s>"}.get(text, text.replace(" ", "\u2581"))
            out.append((text, score))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(os.path.join(a.hf, "config.json")) as f:
        cfg = json.load(f)
    weights = load_file(os.path.join(a.hf, "model.safetensors"))
    w = GGUFWriter(a.out, "llama")
    w.add_name("stories260K")
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_dimension_count(cfg["head_dim"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_theta"])
    w.add_vocab_size(cfg["vocab_size"])
    toks = pieces(a.tokenizer)
    w.add_tokenizer_model("llama")
    w.add_token_list([t for t, _ in toks])
    w.add_token_scores([s for _, s in toks])
    types = []
    for i, (t, _) in enumerate(toks):
        if i == 0:
            types.append(TokenType.UNKNOWN)
        elif i in (1, 2):
            types.append(TokenType.CONTROL)
        elif t.startswith("<0x") and t.endswith(">") and len(t) == 6:
            types.append(TokenType.BYTE)
        else:
            types.append(TokenType.NORMAL)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    names = {
        "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    }
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    for name, t in weights.items():
        t = t.astype(np.float32)
        if name == "model.embed_tokens.weight":
            out = "token_embd.weight"
        elif name == "model.norm.weight":
            out = "output_norm.weight"
        elif name == "lm_head.weight":
            out = "output.weight"
        else:
            _, _, layer, rest = name.split(".", 3)
            module = rest.rsplit(".", 1)[0]
            if module.endswith("q_proj"):
                t = permute(t, heads, heads)
            elif module.endswith("k_proj"):
                t = permute(t, heads, kv)
            out = f"blk.{layer}.{names[module]}.weight"
        w.add_tensor(out, np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
