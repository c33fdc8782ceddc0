#!/usr/bin/env python3
"""gguf-py's dequantization of random and real ggml blocks, for test/peers/gguf_dequant.test.ts.

For each type it writes TYPE.blocks (random blocks whose f16 scales are finite, so every value is a
number) and TYPE.f32 (gguf.quants.dequantize of them, little-endian f32). With --gguf FILE it also
writes real_NAME.f32 for a few tensors of that file (GGUFReader + dequantize, file row order).
"""

import argparse
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize

# type: (bytes per block, offsets of its f16 scale fields)
LAYOUT = {
    "Q8_0": (34, [0]),
    "Q4_0": (18, [0]),
    "Q4_1": (20, [0, 2]),
    "Q5_0": (22, [0]),
    "Q5_1": (24, [0, 2]),
    "Q4_K": (144, [0, 2]),
    "Q5_K": (176, [0, 2]),
    "Q6_K": (210, [208]),
}


def finite_f16(rng, n):
    # |scale| in [2^-14, 2^3): normal f16 values with either sign
    return (rng.uniform(-1, 1, n) * 2.0 ** rng.integers(-14, 3, n)).astype(np.float16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--gguf")
    ap.add_argument("--tensors", default="")
    a = ap.parse_args()
    rng = np.random.default_rng(22)
    for name, (size, scales) in LAYOUT.items():
        n_blocks = 40
        blocks = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
        for off in scales:
            blocks[:, off : off + 2] = finite_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
        values = dequantize(blocks.reshape(-1), T[name])
        blocks.tofile(os.path.join(a.out, f"{name}.blocks"))
        values.astype("<f4").tofile(os.path.join(a.out, f"{name}.f32"))
    n = 1000
    plain = {
        "F32": rng.standard_normal(n).astype(np.float32).view(np.uint8),
        "F16": finite_f16(rng, n).view(np.uint8),
        "BF16": (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).view(np.uint8),
    }
    for name, raw in plain.items():
        raw.tofile(os.path.join(a.out, f"{name}.blocks"))
        dequantize(raw, T[name]).astype("<f4").tofile(os.path.join(a.out, f"{name}.f32"))
    if a.gguf:
        wanted = set(a.tensors.split(","))
        for t in GGUFReader(a.gguf).tensors:
            if t.name in wanted:
                dequantize(t.data, t.tensor_type).astype("<f4").tofile(os.path.join(a.out, f"real_{t.name}.f32"))


if __name__ == "__main__":
    main()
