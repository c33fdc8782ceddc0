#!/usr/bin/env python3
"""gguf-py's Q8_0 and Q4_0 quantization of f32 matrices, for test/peers/gguf_quantize.test.ts.

Writes into --out, for each case NAME (listed with its shape in cases.json):
  NAME.in.f32        the (rows, cols) f32 input, row-major, little-endian
  NAME.TYPE.blocks   gguf.quants.quantize of it, each row padded with zeros to whole 32-weight blocks
  NAME.TYPE.f32      gguf.quants.dequantize of those blocks, (rows, padded cols)
The cases are random weight-like rows, per-block magnitudes from 1e-9 to 1e4, crafted blocks (all
zeros, a negative max, +a and -a as the max, exact half-way points of x*id and the f32 values just
below them, subnormal and overflowing f16 scales, f16 scales half-way between two subnormals), and
rows whose length is not a multiple of 32, and blocks so small that d is an f32 subnormal and 1/d
overflows (ggml's C then converts inf/NaN to int8, undefined in C; x86 and numpy give 0).
"""

import argparse
import json
import os
import warnings

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

TYPES = ["Q8_0", "Q4_0"]
f32 = np.float32


def ulp_below(v):
    return np.nextafter(f32(v), f32(-np.inf), dtype=f32)


def q_of(t, v):
    """ggml's q from x*id (an f32 or a double)."""
    if t == "Q8_0":
        return np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.minimum(15, np.trunc(f32(f32(v) + f32(8.5)) if isinstance(v, np.float32) else v + 8.5))


def straddling_block(rng, t):
    """A block (absmax first) of x where ggml's q differs from q by x/d or by x * (double 1/d)."""
    amax = f32(rng.uniform(0.5, 2))
    d = f32(amax / f32(127)) if t == "Q8_0" else f32(-amax / f32(-8))  # Q4_0: max = -amax
    idf = f32(f32(1) / d)
    xs = [amax if t == "Q8_0" else -amax]
    while len(xs) < 32:
        h = rng.integers(-126, 126) + 0.5 if t == "Q8_0" else rng.integers(-8, 8) + 0.5
        x = f32(h * float(d))
        for _ in range(6):
            ours = q_of(t, f32(x * idf))
            if ours != q_of(t, f32(x / d)) or ours != q_of(t, f32(float(x) * (1 / float(d)))) or ours != q_of(t, float(x) / float(d)):
                if abs(x) <= amax:
                    xs.append(x)
                break
            x = np.nextafter(x, f32(np.inf), dtype=f32)
    return np.array(xs, f32)


def crafted_blocks():
    """Blocks of 32, each testing one rounding rule (see src/engine/io/quantize.ts)."""
    rng = np.random.default_rng(231)
    b = []
    b.append(np.zeros(32, f32))  # all +0
    z = np.zeros(32, f32)
    z[5] = -0.0
    b.append(z)  # zeros with a -0 that is not first: ggml and gguf-py agree
    x = rng.uniform(-2, 2, 32).astype(f32)
    x[7] = -3.0
    b.append(x)  # negative max
    x = rng.uniform(-0.4, 0.4, 32).astype(f32)
    x[2], x[9] = 0.5, -0.5
    b.append(x)  # +a first, then -a: d < 0 in Q4_0
    x = x.copy()
    x[2], x[9] = -0.5, 0.5
    b.append(x)  # -a first
    # Q8_0 half-way points: amax = 127 * 2^k makes d = 2^k and id = 2^-k exact, so x*id = j + 0.5 exactly
    for k in (0, -3, 5):
        s = f32(2.0**k)
        x = (rng.integers(-127, 127, 32) + f32(0.5)).astype(f32) * s
        x[0] = 127 * s
        x[1] = -126.5 * s
        x[2] = ulp_below(2.5) * s  # just below a half-way point
        b.append(x.astype(f32))
    # Q4_0 half-way points: max = -8 * 2^k makes d = 2^k, id = 2^-k; each half-way point h and the 4 f32 values
    # below it: x*id + 8.5 is rounded to f32 before the truncation, so some of those below h round up to it
    for k in (0, -6, 4):
        s = f32(2.0**k)
        vals = [f32(-8)]
        for h in (-7.5, -2.5, -0.5, 0.5, 2.5, 7.5):
            v = f32(h)
            for _ in range(5):
                vals.append(v)
                v = ulp_below(v)
        vals.append(f32(3.0))
        b.append((np.array(vals, f32) * s).astype(f32))
    # x whose q depends on ggml's f32 reciprocal id = 1/d and f32 product x*id: x/d, or x times a double 1/d,
    # lands on the other side of the rounding point
    for t in ("Q8_0", "Q4_0"):
        for _ in range(2):
            b.append(straddling_block(rng, t))
    # f16 scales half-way between two subnormals (Q4_0's d = max / -8 is exact): ties to even, both ways
    for m in (6, 7, 100, 101):
        x = rng.uniform(-1, 1, 32).astype(f32) * f32((2 * m + 1) * 2.0**-22)
        x[3] = -(2 * m + 1) * 2.0**-22
        b.append(x.astype(f32))
    # tiny blocks: subnormal f16 scales, and scales below half the least subnormal (f16 d = 0, q nonzero)
    for amax in (1e-3, 1e-4, 3e-5, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9):
        x = rng.uniform(-1, 1, 32).astype(f32)
        x /= np.abs(x).max()
        b.append((x * f32(amax)).astype(f32))
    # overflow of the f16 scale: Q4_0 d = 65519 rounds to 65504, d = 65520 is half-way and rounds to inf; Q8_0 past 65504*127
    for mx in (-8 * 65519.0, -8 * 65520.0, 1e7):
        x = rng.uniform(-1, 1, 32).astype(f32) * f32(abs(mx))
        x[11] = mx
        b.append(x.astype(f32))
    return np.stack(b)


def cases():
    rng = np.random.default_rng(23)
    out = {}
    out["weights"] = (rng.standard_normal((32, 1024)) * 0.02).astype(f32)
    mag = 10.0 ** rng.uniform(-9, 4, (12, 10, 1))  # one magnitude per block
    x = rng.standard_normal((12, 10, 32)) * mag
    x[:, ::3, 0] *= 1000  # an outlier in some blocks
    out["magnitudes"] = x.reshape(12, 320).astype(f32)
    out["crafted"] = crafted_blocks().reshape(1, -1)
    out["crafted_rows"] = crafted_blocks().reshape(-1, 64)  # the same blocks, two to a row
    for rows, cols in ((5, 77), (3, 1), (7, 33), (2, 31), (4, 200)):
        out[f"padded_{rows}x{cols}"] = (rng.standard_normal((rows, cols)) * 0.05).astype(f32)
    return out


def subnormal_scale_case():
    # d an f32 subnormal (absmax < 127 * 2^-126 for Q8_0, 8 * 2^-126 for Q4_0): 1/d is inf in f32; the f16 d is 0
    rng = np.random.default_rng(7)
    mag = np.array([1e-37, 1e-38, 1e-39, 1e-41, 1e-43, 1e-44, 3e-45, 1.4e-45], np.float64).reshape(8, 1)
    x = (rng.uniform(-1, 1, (8, 32)) * mag).astype(f32)
    x[:, 0] = (mag[:, 0] * (-1) ** np.arange(8)).astype(f32)  # the absmax, of either sign
    return x.reshape(2, 128)


def write(out_dir, name, x):
    rows, cols = x.shape
    padded = np.zeros((rows, -(-cols // 32) * 32), f32)
    padded[:, :cols] = x
    x.astype("<f4").tofile(os.path.join(out_dir, f"{name}.in.f32"))
    for t in TYPES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow/invalid notes on the crafted extremes
            blocks = quantize(padded, T[t])
            values = dequantize(blocks, T[t])
        blocks.tofile(os.path.join(out_dir, f"{name}.{t}.blocks"))
        values.astype("<f4").tofile(os.path.join(out_dir, f"{name}.{t}.f32"))
    return {"name": name, "rows": rows, "cols": cols}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    listed = [write(a.out, name, x) for name, x in cases().items()]
    listed.append(write(a.out, "f32_subnormal_scale", subnormal_scale_case()))
    # a Q4_0 block of zeros whose first weight is -0: gguf-py's d is +0, ggml's C gives -0 (see quantize.ts)
    nz = np.zeros((1, 32), f32)
    nz[0, 0] = -0.0
    listed.append(write(a.out, "negative_zero_first", nz))
    with open(os.path.join(a.out, "cases.json"), "w") as f:
        json.dump(listed, f)


if __name__ == "__main__":
    main()
