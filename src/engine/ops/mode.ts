/**
 * Which implementation the hot ops use: our fused WGSL kernels (`fused`) or
 * the composed tfjs reference path (`reference`), kept for tests and
 * benchmarks. Set it once, before building a graph.
 */
export type KernelMode = 'fused' | 'reference';

// 'fused' since the kernels match the reference on every tested case (forward and
// gradients, GQA 1/2/3/7, D 8/64/128, T = 1..300, segments/padding, KV-cache
// offsets): see test/gpu/kernels/. Head dims the kernels do not take fall back.
let mode: KernelMode = 'fused';

export function setKernelMode(m: KernelMode): void {
  mode = m;
}

export function kernelMode(): KernelMode {
  return mode;
}

/** Runs fn with the kernel mode set to m, then restores the previous mode. */
export function withKernelMode<T>(m: KernelMode, fn: () => T): T {
  const before = mode;
  mode = m;
  try {
    return fn();
  } finally {
    mode = before;
  }
}
