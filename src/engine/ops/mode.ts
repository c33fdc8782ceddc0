/**
 * Which implementation the hot ops use: our fused WGSL kernels (`fused`) or
 * the composed tfjs reference path (`reference`), kept for tests and
 * benchmarks. Set it once, before building a graph.
 */
export type KernelMode = 'fused' | 'reference';

let mode: KernelMode = 'reference';

export function setKernelMode(m: KernelMode): void {
  mode = m;
}

export function kernelMode(): KernelMode {
  return mode;
}
