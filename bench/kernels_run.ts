/** Standalone runner: `npx tsx bench/kernels_run.ts [T...] [--flavours]` prints benchKernels rows as they finish (--flavours: only the simple-vs-tiled rows). */
import { benchKernels, type BenchRow } from './kernels';

const Ts = process.argv.slice(2).map(Number).filter((n) => n > 0);
const fmt = (r: BenchRow) =>
  `${r.name.padEnd(18)} ${r.shape.padEnd(24)} ours ${r.ours_ms.toFixed(0).padStart(6)} ms  base ${r.baseline_ms
    .toFixed(0)
    .padStart(6)} ms  x${r.speedup.toFixed(2)}  peak ours ${(r.ours_peak_bytes / 2 ** 20).toFixed(1)} MiB  base ${(
    r.baseline_peak_bytes / 2 ** 20
  ).toFixed(1)} MiB (x${(r.baseline_peak_bytes / Math.max(1, r.ours_peak_bytes)).toFixed(1)})  max|Δ| ${r.max_abs_diff.toExponential(2)}`;
const flavoursOnly = process.argv.includes('--flavours');
await benchKernels({ attentionT: Ts.length ? Ts : undefined, flavoursOnly, log: (r) => console.log(fmt(r)) });
process.exit(0);
