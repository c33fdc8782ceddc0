/**
 * GPU time per program of one piece of work, from tfjs's timestamp queries
 * (tf.time; SwiftShader and real GPUs with 'timestamp-query' have them), each
 * query matched to the program that ran it by wrapping runWebGPUProgram, which
 * every tfjs and own program goes through. The work must dispatch
 * synchronously (tf.time collects what runs inside the call).
 * Used by bench/gpu_figures.ts, bench/program_times.ts and bench/profile_step.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { getBackend } from '../src/engine/gpu/device';

/** What a dispatched program offers for naming it (tfjs's classes, or our kernels/ programs: constructor Object). */
export interface DispatchedProgram {
  constructor: { name: string };
  shaderKey?: string;
  outputShape?: number[];
  dispatch?: number[];
}

export interface ProgramTimes {
  /** GPU ms of every program together */
  kernelMs: number;
  /** each dispatch in order, with its GPU ms */
  runs: { name: string; ms: number }[];
  /** the runs summed by name, slowest first */
  byName: { name: string; count: number; ms: number }[];
}

type Backend = { runWebGPUProgram: (p: DispatchedProgram, ...rest: unknown[]) => unknown };

export async function timePrograms(work: () => void, nameOf: (p: DispatchedProgram) => string): Promise<ProgramTimes> {
  const backend = getBackend() as unknown as Backend;
  const run = backend.runWebGPUProgram;
  const names: string[] = [];
  backend.runWebGPUProgram = function (this: unknown, p, ...rest) {
    names.push(nameOf(p));
    return run.call(this, p, ...rest);
  };
  let timed: { kernelMs: number; getExtraProfileInfo: () => string };
  try {
    timed = (await tf.time(work)) as unknown as typeof timed;
  } finally {
    backend.runWebGPUProgram = run;
  }
  const ms = timed.getExtraProfileInfo().split(', ').map((s) => Number(s.slice(s.lastIndexOf(':') + 1)));
  const runs = names.map((name, i) => ({ name, ms: ms[i] || 0 }));
  const by = new Map<string, { count: number; ms: number }>();
  for (const r of runs) {
    const e = by.get(r.name) ?? { count: 0, ms: 0 };
    e.count++;
    e.ms += r.ms;
    by.set(r.name, e);
  }
  const byName = [...by].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return { kernelMs: timed.kernelMs, runs, byName };
}
