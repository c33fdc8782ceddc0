/**
 * What 8- and 4-bit frozen weights cost in quality (issue 23 item 3): the
 * same 30-step stories260K LoRA run (`cli train`, the shared
 * tinystories-instruct-1k, its default 5 % validation split) with the base
 * held at 16, 8 and 4 bits (quantized on load: bf16, Q8_0, Q4_0), the
 * held-out loss before and after training each time, and why the losses
 * differ where they do: each matrix's quantization error (relative RMS,
 * ‖W − deq(quant(W))‖ / ‖W‖) at 8 and 4 bits.
 *
 *   npx tsx bench/frozen_bits_quality.ts [--steps 30] [--out DIR]
 *
 * One JSON line per figure on stdout (progress on stderr), with the load
 * average (this machine is shared) and the commands that made it. Figures in
 * BENCHMARKS.md ("Issue 23: frozen weights at 16, 8 and 4 bits").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { num, parseFlags } from '../src/cli/args';
import { loadAvg, runCli } from './cli_child';
import { dequantizeRows } from '../src/engine/io/ggml_quants';
import { loadModelPath } from '../src/engine/io/node_load';
import { quantizeRows } from '../src/engine/io/quantize';
import { toBf16Bits } from '../src/engine/frozen';

const STORIES = '/work/shared/models/stories260K-hf';
const DATA = '/work/shared/data/tinystories-instruct-1k.jsonl';

const f = parseFlags(process.argv.slice(2), { steps: { type: 'string' }, out: { type: 'string' } });
const steps = num(f.steps, 'steps', 30, (n) => Number.isInteger(n) && n > 0);
const OUT = path.resolve(f.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'frozen-bits-')));
const load = loadAvg;
const log = (s: string) => console.error(`[frozen_bits] ${s}`);
const emit = (row: Record<string, unknown>) => console.log(JSON.stringify({ ...row, load_avg: load(), cores: os.cpus().length }));

const cli = (args: string[]) => runCli(args, log);

/** Relative RMS error of each matrix held at bf16, Q8_0 and Q4_0 (rows zero-padded to whole blocks, as uploaded). */
async function tensorErrors(): Promise<void> {
  const loaded = await loadModelPath(STORIES);
  const rows: Record<string, Record<string, number>> = {};
  const worst: Record<string, [string, number]> = {};
  for (const [name, t] of loaded.weights) {
    if (t.shape.length !== 2) continue;
    const [r, c] = t.shape;
    const held: Record<string, Float32Array> = {};
    const bits = toBf16Bits(t.data);
    held.bf16 = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
    for (const format of ['Q8_0', 'Q4_0'] as const) held[format] = dequantizeRows(format, quantizeRows(t.data, r, c, format), r, c);
    rows[name] = {};
    for (const [k, v] of Object.entries(held)) {
      let e = 0;
      let n = 0;
      for (let i = 0; i < v.length; i++) (e += (v[i] - t.data[i]) ** 2), (n += t.data[i] ** 2);
      const rel = Math.sqrt(e / n);
      rows[name][k] = Number(rel.toExponential(3));
      if (!worst[k] || rel > worst[k][1]) worst[k] = [name, Number(rel.toExponential(3))];
    }
  }
  const mean = (k: string) => Number((Object.values(rows).reduce((s, r) => s + r[k], 0) / Object.keys(rows).length).toExponential(3));
  emit({ figure: 'tensor_error', model: 'stories260K-hf (F32)', measure: 'relative RMS error per matrix', mean: { bf16: mean('bf16'), Q8_0: mean('Q8_0'), Q4_0: mean('Q4_0') }, worst, per_matrix: rows });
}

async function runs(): Promise<void> {
  const results: Record<string, unknown>[] = [];
  for (const bits of [16, 8, 4]) {
    const dir = path.join(OUT, `bits${bits}`);
    const r = await cli(['train', '--model', STORIES, '--data', DATA, '--out', dir, '--max-steps', String(steps), '--frozen-bits', String(bits), '--json']);
    results.push({ bits, command: r.command, wall_s: r.wall_s, ...pick(r.json) });
    emit({ figure: 'train', bits, command: r.command, wall_s: r.wall_s, ...pick(r.json) });
  }
  const base = results[0] as { val_loss: number; base_val_loss?: number };
  emit({
    figure: 'train_summary',
    steps,
    val_loss: Object.fromEntries(results.map((r: any) => [r.bits, r.val_loss])),
    rel_to_16: Object.fromEntries(results.map((r: any) => [r.bits, Number(((r.val_loss - base.val_loss) / base.val_loss).toFixed(5))])),
  });
}

/** The fields of cli train --json that say what the run reached and what it held. */
function pick(j: Record<string, any>): Record<string, unknown> {
  const keep = ['steps', 'train_loss', 'val_loss', 'base_val_loss', 'frozen', 'gpu_bytes', 'tokens_per_sec'];
  return Object.fromEntries(Object.entries(j).filter(([k]) => keep.includes(k)));
}

log(`out ${OUT}; load average ${load().join(', ')}`);
await tensorErrors();
await runs();
process.exit(0);
