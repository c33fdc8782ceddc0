#!/usr/bin/env python3
"""Float64 dequantization of ggml blocks, for test/gpu/kernels/quant_dequant.test.ts (issue 23 item 2).

An independent reference: each format's values are computed here in float64 numpy from the block
layout of ggml-common.h, not through gguf-py's dequantize nor ours (ggml_quants.ts). Every product
and sum below is exact in float64 (f16 scales have 11-bit significands, q at most 8 bits, Q4_K's
sub-block scales and mins 6 bits), so a value rounded once to f32 is what an exact kernel must give.

  Q8_0   32 weights, 34 B: d f16, qs[32] int8                               y = d*q
  Q4_0   32 weights, 18 B: d f16, qs[16] (weight j low nibble, j+16 high)   y = d*(q - 8)
  Q4_1   32 weights, 20 B: d f16, m f16, qs[16]                             y = d*q + m
  Q4_K  256 weights, 144 B: d f16, dmin f16, scales[12], qs[128]
         sub-block s (32 weights) has a 6-bit scale sc and min m packed in scales (get_scale_min_k4);
         qs byte l of 64-weight group g holds weight 64g + l (low nibble) and 64g + 32 + l (high)
                                                                            y = d*sc*q - dmin*m

Writes into --out, for each case NAME (listed in cases.json with format, rows, cols):
  NAME.blocks  the raw blocks, rows of blocksPerRow blocks (the last zero-padded past cols for Q4_K)
  NAME.f64     the dequantized values, (rows, blocksPerRow * block weights) float64 little-endian
Cases: real rows of the SmolLM2-135M-Instruct Q4_1 GGUF (--gguf; GGUFReader's raw blocks, file row
order: 8 rows each of blk.0.attn_q.weight and blk.0.ffn_down.weight in Q4_1, 8 of token_embd.weight
in Q8_0), and random blocks of every format (random bytes with finite f16 scales of varied size and
sign, some subnormal, some negative), Q4_K also on rows that are not a whole number of 256 weights.
"""

import argparse
import json
import os

import numpy as np
from gguf import GGUFReader

# format: (weights per block, bytes per block)
BLOCK = {"Q8_0": (32, 34), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q4_K": (256, 144)}


def f16(blocks, off):
    """The f16 at byte `off` of each block, as float64 (exact)."""
    return blocks[:, off : off + 2].copy().view("<f2").astype(np.float64)[:, 0]


def nibbles(qs):
    """(n, 16) bytes -> (n, 32) weights: byte j's low nibble is weight j, its high nibble weight j + 16."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float64)


def scale_min_k4(sc):
    """Q4_K's 12 scale bytes -> (n, 8) sub-block scales and mins (ggml get_scale_min_k4)."""
    sc = sc.astype(np.int64)
    scales = np.empty((sc.shape[0], 8), np.int64)
    mins = np.empty((sc.shape[0], 8), np.int64)
    for j in range(8):
        if j < 4:
            scales[:, j] = sc[:, j] & 63
            mins[:, j] = sc[:, j + 4] & 63
        else:
            scales[:, j] = (sc[:, j + 4] & 0x0F) | ((sc[:, j - 4] >> 6) << 4)
            mins[:, j] = (sc[:, j + 4] >> 4) | ((sc[:, j] >> 6) << 4)
    return scales.astype(np.float64), mins.astype(np.float64)


def dequant_f64(fmt, raw):
    """Blocks (n * bytes per block,) uint8 -> (n * weights per block,) float64."""
    b = raw.reshape(-1, BLOCK[fmt][1])
    if fmt == "Q8_0":
        return (f16(b, 0)[:, None] * b[:, 2:].view(np.int8).astype(np.float64)).ravel()
    if fmt == "Q4_0":
        return (f16(b, 0)[:, None] * (nibbles(b[:, 2:]) - 8)).ravel()
    if fmt == "Q4_1":
        return (f16(b, 0)[:, None] * nibbles(b[:, 4:]) + f16(b, 2)[:, None]).ravel()
    d, dmin = f16(b, 0), f16(b, 2)
    sc, m = scale_min_k4(b[:, 4:16])
    qs = b[:, 16:].reshape(-1, 4, 32)  # 4 groups of 64 weights, 32 bytes each
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float64)  # sub-block s = 2g (low), 2g + 1 (high)
    return ((d[:, None] * sc)[:, :, None] * q - (dmin[:, None] * m)[:, :, None]).ravel()


def finite_f16(rng, n, lo=-14, hi=2):
    """n f16 scales 2^e * (1 + f), e in [lo, hi]; one in 8 subnormal, about half negative."""
    v = rng.uniform(1, 2, n) * 2.0 ** rng.integers(lo, hi + 1, n) * rng.choice([-1.0, 1.0], n)
    sub = rng.random(n) < 1 / 8
    v[sub] = rng.integers(1, 1024, sub.sum()) * 2.0**-24 * rng.choice([-1.0, 1.0], sub.sum())
    v[0] = 3 * 2.0**-24  # a subnormal scale
    v[1] = -abs(v[1])  # a negative one
    return v.astype(np.float16)


def random_blocks(rng, fmt, rows, cols):
    per, size = BLOCK[fmt]
    n = rows * -(-cols // per)
    b = rng.integers(0, 256, (n, size), dtype=np.uint8)
    b[:, 0:2] = finite_f16(rng, n).view(np.uint8).reshape(n, 2)
    if fmt in ("Q4_1", "Q4_K"):  # m, dmin
        b[:, 2:4] = finite_f16(rng, n, -14, 0).view(np.uint8).reshape(n, 2)
    return b.ravel()


def write(out, listed, name, fmt, rows, cols, raw):
    per, size = BLOCK[fmt]
    assert raw.size == rows * -(-cols // per) * size, (name, raw.size)
    raw.tofile(os.path.join(out, f"{name}.blocks"))
    dequant_f64(fmt, raw).astype("<f8").tofile(os.path.join(out, f"{name}.f64"))
    listed.append({"name": name, "format": fmt, "rows": rows, "cols": cols})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--gguf", required=True)
    a = ap.parse_args()
    listed = []
    real = {"blk.0.attn_q.weight": "Q4_1", "blk.0.ffn_down.weight": "Q4_1", "token_embd.weight": "Q8_0"}
    for t in GGUFReader(a.gguf).tensors:
        if t.name in real:
            assert t.tensor_type.name == real[t.name], (t.name, t.tensor_type.name)
            cols, n_rows = int(t.shape[0]), int(t.shape[1])  # ggml's ne: row length first
            data = np.asarray(t.data).reshape(n_rows, -1)  # (rows, bytes per row)
            picks = np.linspace(0, n_rows - 1, 8).round().astype(int)  # 8 rows spread over the matrix
            write(a.out, listed, f"real_{t.name}", real[t.name], 8, cols, np.ascontiguousarray(data[picks]).ravel())
    assert len(listed) == len(real), f"missing tensors in {a.gguf}"
    rng = np.random.default_rng(23)
    for fmt, rows, cols in (("Q8_0", 7, 160), ("Q4_0", 13, 96), ("Q4_1", 11, 64), ("Q4_K", 9, 512), ("Q4_K", 5, 320), ("Q4_K", 12, 64)):
        write(a.out, listed, f"random_{fmt}_{rows}x{cols}", fmt, rows, cols, random_blocks(rng, fmt, rows, cols))
    with open(os.path.join(a.out, "cases.json"), "w") as f:
        json.dump(listed, f)


if __name__ == "__main__":
    main()
