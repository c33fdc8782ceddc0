/**
 * Kernel benchmark: our fused WGSL kernels against the composed tfjs reference,
 * measured in the same run on the same device, forward + backward.
 *
 *   attention_fwd_bwd  B=1, H=8 (Hkv=8), D=64, T = 128, 256, 512, 1024
 *   lora_fwd_bwd       512 tokens, 576 -> 1536, r = 8
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
 * Variants: only one of each kernel was written (4 threads per query row,
 * K/V tiles of 16 keys, 8 at D=128; matmul 32×32 tiles, 4×4 per thread).
 */
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../src/engine/gpu/device';
import { attentionReference, type AttentionArgs } from '../src/engine/ops/attention';
import { linearReference, type LinearArgs } from '../src/engine/ops/linear';
import { fusedAttention } from '../kernels/attention';
import { fusedLoraLinear } from '../kernels/lora_linear';

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
  reps?: (T: number) => number;
  log?: (row: BenchRow) => void;
}

export async function benchKernels(opts: BenchOptions = {}): Promise<BenchRow[]> {
  await initGpu();
  const rows: BenchRow[] = [];
  const push = (r: BenchRow) => {
    rows.push(r);
    opts.log?.(r);
  };
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
