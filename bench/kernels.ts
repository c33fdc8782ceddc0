/**
 * Kernel benchmark: our fused WGSL kernels against the composed tfjs reference,
 * measured in the same run on the same device, forward + backward.
 *
 *   attention_fwd_bwd  B=1, H=8 (Hkv=8), D=64, T = 128, 256, 512, 1024
 *   attention_decode   forward only, T=1 against a full KV cache of S = 512, 2048
 *                      keys (queryOffset = S - 1), B=1, H=8, Hkv = 8 and 2, D=64;
 *                      against the composed reference and the fused forward
 *                      kernel (attention_forward, 4 of 64 threads busy at T=1)
 *   lora_fwd_bwd       512 tokens, 576 -> 1536, r = 8
 *   (these three with the adapter's kernel flavour, named in the shape)
 *   attention_fwd_bwd_simple, lora_fwd_bwd_simple: 'simple' against 'tiled'
 *                      kernels at a stories260K training micro-batch's shapes
 *   rms_norm_fwd_bwd   our RMSNorm kernel against composed tfjs, same shapes
 *
 * Time: mean wall time of fwd+bwd (tf.grads of sum(out · g)) after one
 * warm-up run (which also compiles the pipelines), awaiting every gradient's
 * data. Peak bytes: tf.profile's peakBytes of tfjs's allocator during one
 * fwd+bwd, minus the bytes already live before it (inputs), i.e. the working
 * set each implementation adds. max_abs_diff: largest |ours - baseline| over
 * the output and every gradient.
 *
 * Measured while writing (SwiftShader over 2 CPU cores shared with other jobs,
 * so ±20 %; `npx tsx bench/kernels_run.ts [T...]` reproduces):
 *   attention T=128   ours   562 ms  base  1078 ms  x1.92  peak 4.5 vs 7.8 MiB
 *   attention T=512   ours  6995 ms  base 17296 ms  x2.47  peak 18.0 vs 86.5 MiB (x4.8)
 *   lora 512 tok 576->1536 r=8  ours 6116 ms  base 9808 ms  x1.60  peak 25.2 vs 48.2 MiB
 *   second run:
 *   attention T=256   ours  2103 ms  base  4347 ms  x2.07  peak 9.0 vs 24.9 MiB
 *   attention T=1024  ours 30917 ms  base 51161 ms  x1.65  peak 36.0 vs 320.0 MiB (x8.9)
 *   lora 512 tok 576->1536 r=8  ours 4084 ms  base 10956 ms  x2.68 (same code: CPU contention)
 *   (forward alone at T=512, first version: ours 2.2 s vs composed 7.0 s)
 *   T=1024 scales worse than T^2 for ours (7.0 s -> 30.9 s): not yet explained.
 *   attention_decode (median of 21 interleaved steps incl. readback; load 5-7 on
 *   the 2 cores, so single figures swing ±50 %, ratios less; D=64, B=1, H=8):
 *     S=512  Hkv=8  ours 26 ms  composed 111 ms x4.2   fused fwd T=1  63 ms x2.1
 *     S=512  Hkv=2  ours 34 ms  composed 225 ms x6.6   fused fwd T=1  85 ms x2.8
 *     S=2048 Hkv=8  ours 78 ms  composed 444 ms x5.7   fused fwd T=1 128 ms x2.9
 *     S=2048 Hkv=2  ours 41 ms  composed 394 ms x9.6   fused fwd T=1 112 ms x2.8
 *     S=16 (floor: dispatch + readback) ours 8-14 ms, fused fwd 6-11 ms (x0.8):
 *     the split kernel's fixed merge cost shows only when there are no keys to split.
 *   Peak: 6 KiB for both kernels (the output); composed 0.27 MiB (MHA) and
 *   18 MiB (GQA 8:2, K/V tiled to 8 heads) at S=2048.
 * Variants: only one of each kernel was written (4 threads per query row;
 * decode: one thread per key, 64 per workgroup,
 * K/V tiles of 16 keys, 8 at D=128; matmul 32×32 tiles, 4×4 per thread).
 */
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../src/engine/gpu/device';
import { attentionReference, type AttentionArgs } from '../src/engine/ops/attention';
import { linearReference, type LinearArgs } from '../src/engine/ops/linear';
import { fusedAttention } from '../kernels/attention';
import { attentionForward } from '../kernels/attention_forward';
import { attentionDecode } from '../kernels/attention_decode';
import { fusedLoraLinear } from '../kernels/lora_linear';
import { kernelFlavor, setKernelFlavor, type KernelFlavor } from '../kernels/program';
import { fusedRmsNorm } from '../kernels/rms_norm';
import { rmsNormReference } from '../src/engine/ops/norm';

export interface BenchRow {
  name: string;
  shape: string;
  baseline: string;
  ours_ms: number;
  baseline_ms: number;
  speedup: number;
  ours_peak_bytes: number;
  baseline_peak_bytes: number;
  max_abs_diff: number;
}

type Step = (inputs: tf.Tensor[]) => tf.Tensor[]; // [output, ...grads]

async function sync(ts: tf.Tensor[]): Promise<void> {
  await Promise.all(ts.map((t) => t.data()));
}

async function timeStep(step: Step, inputs: tf.Tensor[], reps: number): Promise<number> {
  const warm = step(inputs);
  await sync(warm);
  tf.dispose(warm);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const out = step(inputs);
    await sync(out);
    tf.dispose(out);
  }
  return (performance.now() - t0) / reps;
}

async function peakBytes(step: Step, inputs: tf.Tensor[]): Promise<number> {
  const before = tf.memory().numBytes;
  let outs: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    outs = step(inputs);
    return outs;
  });
  await sync(outs);
  tf.dispose(outs);
  return info.peakBytes - before;
}

async function maxAbsDiff(a: tf.Tensor[], b: tf.Tensor[]): Promise<number> {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = await Promise.all([a[i].data(), b[i].data()]);
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j] - y[j]));
  }
  return m;
}

/** fwd + bwd of sum(f(inputs) · g) as one step returning [out, ...grads]; the forward runs once. */
function fwdBwd(f: (xs: tf.Tensor[]) => tf.Tensor, g: tf.Tensor): Step {
  return (inputs) => {
    let out: tf.Tensor | null = null;
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      out = tf.keep(f(xs));
      return out.mul(g).sum();
    })(inputs);
    value.dispose();
    return [out!, ...grads];
  };
}

async function compare(
  name: string,
  shape: string,
  baseline: string,
  ours: Step,
  base: Step,
  inputs: tf.Tensor[],
  reps: number,
): Promise<BenchRow> {
  const a = ours(inputs);
  const b = base(inputs);
  const diff = await maxAbsDiff(a, b);
  tf.dispose([...a, ...b]);
  const ours_ms = await timeStep(ours, inputs, reps);
  const baseline_ms = await timeStep(base, inputs, reps);
  const ours_peak_bytes = await peakBytes(ours, inputs);
  const baseline_peak_bytes = await peakBytes(base, inputs);
  return {
    name,
    shape,
    baseline,
    ours_ms,
    baseline_ms,
    speedup: baseline_ms / ours_ms,
    ours_peak_bytes,
    baseline_peak_bytes,
    max_abs_diff: diff,
  };
}

export interface BenchOptions {
  attentionT?: number[];
  /** KV-cache lengths for the attention_decode rows; [] skips them */
  decodeS?: number[];
  reps?: (T: number) => number;
  log?: (row: BenchRow) => void;
  /** only the 'simple' vs 'tiled' rows at stories260K's training shapes */
  flavoursOnly?: boolean;
}

/** The same step with the kernel flavour pinned (forward and backward both run inside it). */
const withFlavour = (flavour: KernelFlavor, step: Step): Step => (inputs) => {
  setKernelFlavor(flavour);
  try {
    return step(inputs);
  } finally {
    setKernelFlavor(null);
  }
};

/**
 * 'simple' against 'tiled' kernels (and RMSNorm's kernel against composed
 * tfjs) at the shapes of one stories260K training micro-batch: 16 rows of 352
 * tokens, H 8, Hkv 4, D 8; linears 64 -> 172 with r = 8.
 */
export async function benchFlavours(opts: BenchOptions = {}): Promise<BenchRow[]> {
  await initGpu();
  const rows: BenchRow[] = [];
  const push = (r: BenchRow) => {
    rows.push(r);
    opts.log?.(r);
  };
  {
    const [B, H, Hkv, T, D] = [16, 8, 4, 352, 8];
    const inputs = [tf.randomNormal([B, H, T, D], 0, 1, 'float32', 40), tf.randomNormal([B, Hkv, T, D], 0, 1, 'float32', 41), tf.randomNormal([B, Hkv, T, D], 0, 1, 'float32', 42)];
    const g = tf.randomNormal([B, H, T, D], 0, 1, 'float32', 43);
    const step = fwdBwd((xs) => fusedAttention({ q: xs[0] as tf.Tensor4D, k: xs[1] as tf.Tensor4D, v: xs[2] as tf.Tensor4D }), g);
    push(await compare('attention_fwd_bwd_simple', `B=${B} H=${H} Hkv=${Hkv} T=${T} D=${D}`, "our 'tiled' kernels", withFlavour('simple', step), withFlavour('tiled', step), inputs, 2));
    tf.dispose([...inputs, g]);
  }
  {
    const [N, inDim, outDim, r] = [5632, 64, 172, 8];
    const w = tf.randomNormal([outDim, inDim], 0, 0.05, 'float32', 50) as tf.Tensor2D;
    const inputs = [tf.randomNormal([N, inDim], 0, 1, 'float32', 51), tf.randomNormal([r, inDim], 0, 0.05, 'float32', 52), tf.randomNormal([outDim, r], 0, 0.05, 'float32', 53)];
    const g = tf.randomNormal([N, outDim], 0, 1, 'float32', 54);
    const step = fwdBwd((xs) => fusedLoraLinear({ x: xs[0] as tf.Tensor2D, w, lora: { a: xs[1] as tf.Tensor2D, b: xs[2] as tf.Tensor2D, scale: 2 } }), g);
    push(await compare('lora_fwd_bwd_simple', `N=${N} ${inDim}->${outDim} r=${r}`, "our 'tiled' kernel + tfjs rank-r matMuls", withFlavour('simple', step), withFlavour('tiled', step), inputs, 3));
    tf.dispose([...inputs, g, w]);
  }
  {
    const [N, D] = [5632, 64];
    const w = tf.randomNormal([D], 1, 0.1, 'float32', 60) as tf.Tensor1D;
    const inputs = [tf.randomNormal([N, D], 0, 1, 'float32', 61)];
    const g = tf.randomNormal([N, D], 0, 1, 'float32', 62);
    push(
      await compare(
        'rms_norm_fwd_bwd',
        `N=${N} D=${D}`,
        'composed tfjs (square, mean, rsqrt, mul; autograd)',
        fwdBwd((xs) => fusedRmsNorm(xs[0] as tf.Tensor2D, w, 1e-5), g),
        fwdBwd((xs) => rmsNormReference(xs[0] as tf.Tensor2D, w, 1e-5), g),
        inputs,
        3,
      ),
    );
    tf.dispose([...inputs, g, w]);
  }
  return rows;
}

export async function benchKernels(opts: BenchOptions = {}): Promise<BenchRow[]> {
  await initGpu();
  const rows: BenchRow[] = [];
  const push = (r: BenchRow) => {
    const row = { ...r, shape: `${r.shape} [${kernelFlavor()}]` };
    rows.push(row);
    opts.log?.(row);
  };
  for (const r of await benchFlavours(opts)) rows.push(r);
  if (opts.flavoursOnly) return rows;
  const [B, H, D] = [1, 8, 64];
  for (const T of opts.attentionT ?? [128, 256, 512, 1024]) {
    const inputs = [0, 1, 2].map((i) => tf.randomNormal([B, H, T, D], 0, 1, 'float32', i));
    const g = tf.randomNormal([B, H, T, D], 0, 1, 'float32', 9);
    const attn = (f: (a: AttentionArgs) => tf.Tensor4D) => (xs: tf.Tensor[]) =>
      f({ q: xs[0] as tf.Tensor4D, k: xs[1] as tf.Tensor4D, v: xs[2] as tf.Tensor4D });
    push(
      await compare(
        'attention_fwd_bwd',
        `B=${B} H=${H} T=${T} D=${D}`,
        'composed tfjs (matMul, mask, softmax, matMul; autograd)',
        fwdBwd(attn(fusedAttention), g),
        fwdBwd(attn(attentionReference), g),
        inputs,
        opts.reps?.(T) ?? (T >= 1024 ? 1 : 2),
      ),
    );
    tf.dispose([...inputs, g]);
  }

  for (const r of await benchDecode(opts.decodeS ?? [512, 2048])) push(r);

  {
    const [N, inDim, outDim, r] = [512, 576, 1536, 8];
    const w = tf.randomNormal([outDim, inDim], 0, 0.05, 'float32', 20) as tf.Tensor2D;
    const inputs = [
      tf.randomNormal([N, inDim], 0, 1, 'float32', 21),
      tf.randomNormal([r, inDim], 0, 0.05, 'float32', 22),
      tf.randomNormal([outDim, r], 0, 0.05, 'float32', 23),
    ];
    const g = tf.randomNormal([N, outDim], 0, 1, 'float32', 24);
    const lin = (f: (a: LinearArgs) => tf.Tensor2D) => (xs: tf.Tensor[]) =>
      f({ x: xs[0] as tf.Tensor2D, w, lora: { a: xs[1] as tf.Tensor2D, b: xs[2] as tf.Tensor2D, scale: 2 } });
    push(
      await compare(
        'lora_fwd_bwd',
        `N=${N} ${inDim}->${outDim} r=${r}`,
        'composed tfjs (matMul x·Wᵀ, x·Aᵀ, ·Bᵀ, add; autograd)',
        fwdBwd(lin(fusedLoraLinear), g),
        fwdBwd(lin(linearReference), g),
        inputs,
        opts.reps?.(N) ?? 3,
      ),
    );
    tf.dispose([...inputs, g, w]);
  }
  return rows;
}

/** Forward only (generation never differentiates): a step returning [out]. */
type Forward = (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, qoff: tf.Tensor1D) => tf.Tensor4D;
const fwdOnly = (f: Forward, qoff: tf.Tensor1D): Step => (xs) => [f(xs[0] as tf.Tensor4D, xs[1] as tf.Tensor4D, xs[2] as tf.Tensor4D, qoff)];
const packedOnlyO = (run: typeof attentionForward): Forward => (q, k, v, qoff) => {
  const { o, packed } = run(q, k, v, { qoff });
  packed.dispose();
  return o;
};

/** Median ms of `reps` runs of a and of b, alternating a, b, a, b so both see the same load. */
async function interleavedMedians(a: Step, b: Step, inputs: tf.Tensor[], reps: number): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < reps; i++) {
    for (const [j, step] of [a, b].entries()) {
      const t0 = performance.now();
      const out = step(inputs);
      await sync(out);
      times[j].push(performance.now() - t0);
      tf.dispose(out);
    }
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return [median(times[0]), median(times[1])];
}

/**
 * attention_decode rows: one decode step (T=1, query at position S - 1 of a
 * KV cache of S keys), ours against the composed reference and against the
 * fused forward kernel, for MHA 8:8 and GQA 8:2. Time: median of `reps`
 * interleaved runs (after compare's warm-up), including reading the
 * (1, 8, 1, 64) result back, as a decode step would.
 */
export async function benchDecode(Ss: number[], reps = 10): Promise<BenchRow[]> {
  await initGpu();
  const rows: BenchRow[] = [];
  const [B, H, D] = [1, 8, 64];
  for (const S of Ss) {
    for (const Hkv of [8, 2]) {
      const inputs = [
        tf.randomNormal([B, H, 1, D], 0, 1, 'float32', 30),
        tf.randomNormal([B, Hkv, S, D], 0, 1, 'float32', 31),
        tf.randomNormal([B, Hkv, S, D], 0, 1, 'float32', 32),
      ];
      const qoff = tf.tensor1d([S - 1], 'int32') as tf.Tensor1D;
      const ours = fwdOnly(packedOnlyO(attentionDecode), qoff);
      const shape = `B=${B} H=${H} Hkv=${Hkv} T=1 S=${S} D=${D}`;
      const reference: Forward = (q, k, v, queryOffset) => attentionReference({ q, k, v, queryOffset });
      const baselines: [string, Step][] = [
        ['composed tfjs (forward only)', fwdOnly(reference, qoff)],
        ['fused attention_forward, T=1', fwdOnly(packedOnlyO(attentionForward), qoff)],
      ];
      for (const [name, base] of baselines) {
        const row = await compare('attention_decode', shape, name, ours, base, inputs, 1);
        // steps of a few ms on a shared CPU: medians of interleaved runs, not means
        [row.ours_ms, row.baseline_ms] = await interleavedMedians(ours, base, inputs, reps);
        row.speedup = row.baseline_ms / row.ours_ms;
        rows.push(row);
      }
      tf.dispose([...inputs, qoff]);
    }
  }
  return rows;
}
