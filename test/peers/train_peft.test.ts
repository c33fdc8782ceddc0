/**
 * train_peft.py, as `cli train --recipe` writes it, trains with real torch +
 * transformers + peft on the CPU (issue 22 item 4): a 20-step stories260K-hf
 * run (batch 4, warmup 2, shuffled, all 7 linears, AdamW, cosine), then
 * - `python train_peft.py` beside the recipe, tokenizing the recipe's text rows
 *   itself (every row must give the browser's ids and labels): its per-step
 *   losses against the CLI's `--log`, step 1 within 1e-4 relative, every step
 *   within 1e-3 relative;
 * - `accelerate launch --multi_gpu --num_processes 2 train_peft.py`: two CPU
 *   ranks (torchrun underneath, gloo; accelerate's --cpu launcher would start
 *   one process), each taking half of every micro-batch: the same curve within
 *   1e-3 relative.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerPython } from '../helpers/python';
import { sharedPath } from '../helpers/shared';
import { curveDiff, readSteps } from './curves';

const ROOT = path.resolve(__dirname, '../..');
const STEPS = 20;

describe('train_peft.py on torch + transformers + peft (CPU)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-peft-'));
  const recipe = path.join(tmp, 'recipe');
  const ours = path.join(tmp, 'ours.jsonl');
  const py = peerPython();
  // one BLAS thread a process: two ranks share this machine's cores
  const env = { ...process.env, HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false', OMP_NUM_THREADS: '1' };

  it(`the CLI's ${STEPS}-step run writes the recipe and its log`, () => {
    const args = ['train', '--model', sharedPath('models/stories260K-hf'), '--data', sharedPath('data/tinystories-instruct-1k.jsonl'), '--out', path.join(tmp, 'run'),
      '--max-steps', String(STEPS), '--batch-size', '4', '--warmup', '2', '--recipe', recipe, '--log', ours, '--json'];
    const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readSteps(ours).map((s) => s.step)).toEqual(Array.from({ length: STEPS }, (_, k) => k + 1));
    expect(fs.readFileSync(path.join(recipe, 'train_peft.py'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'src/worker/train_peft.py'), 'utf8'));
  });

  it('python train_peft.py: the same rows, step 1 within 1e-4 and every step within 1e-3 of our losses', () => {
    const log = path.join(tmp, 'torch.jsonl');
    const r = spawnSync(py, ['train_peft.py', '--device', 'cpu', '--log', log, '--out', path.join(tmp, 'torch-adapter')], { cwd: recipe, env, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const rows = /tokenization: (\d+) of (\d+) training rows equal the browser's ids and labels/.exec(r.stdout);
    expect(rows, r.stdout).not.toBeNull();
    expect(Number(rows![1])).toBe(Number(rows![2]));
    const d = curveDiff(readSteps(ours), readSteps(log));
    console.log(`train_peft.py vs cli train (${STEPS} steps): step 1 rel ${d.firstRel.toExponential(2)}; max |diff| ${d.maxAbs.toExponential(2)} (rel ${d.maxRel.toExponential(2)}), mean |diff| ${d.meanAbs.toExponential(2)}; last loss ours ${d.lastOurs.toFixed(6)} torch ${d.lastTheirs.toFixed(6)}`);
    expect(d.steps).toBe(STEPS);
    expect(d.firstRel).toBeLessThanOrEqual(1e-4);
    expect(d.maxRel).toBeLessThanOrEqual(1e-3);
    expect(fs.existsSync(path.join(tmp, 'torch-adapter', 'adapter_config.json'))).toBe(true);
  });

  it('accelerate launch --num_processes 2 (CPU, gloo): the same curve within 1e-3', () => {
    const log = path.join(tmp, 'accelerate.jsonl');
    const accelerate = path.join(path.dirname(py), 'accelerate');
    const port = String(20000 + (process.pid % 20000)); // not accelerate's default 29500, which another run may hold
    const r = spawnSync(accelerate, ['launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no', '--dynamo_backend', 'no',
      '--main_process_port', port, 'train_peft.py', '--log', log, '--out', path.join(tmp, 'accelerate-adapter')], { cwd: recipe, env, encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/accelerate: 2 processes \(MULTI_CPU, gloo\) on cpu/);
    const d = curveDiff(readSteps(ours), readSteps(log));
    const single = curveDiff(readSteps(path.join(tmp, 'torch.jsonl')), readSteps(log));
    console.log(`accelerate (2 ranks) vs cli train: step 1 rel ${d.firstRel.toExponential(2)}; max |diff| ${d.maxAbs.toExponential(2)} (rel ${d.maxRel.toExponential(2)}), mean ${d.meanAbs.toExponential(2)}; vs one process: max |diff| ${single.maxAbs.toExponential(2)}`);
    expect(d.steps).toBe(STEPS);
    expect(d.maxRel).toBeLessThanOrEqual(1e-3);
  });
});
