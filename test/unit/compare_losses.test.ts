/**
 * bench/gpu_kit/compare_losses.py, the device check's judge of "train_peft.py
 * follows the browser run": it passes logs whose first steps agree to 1e-4 and
 * fails, naming the step, those that do not, or whose steps do not line up.
 * The logs have the fields `cli train --log` writes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON } from '../helpers/python';

const SCRIPT = path.resolve(__dirname, '../../bench/gpu_kit/compare_losses.py');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-cmp-'));
const log = (name: string, losses: number[]) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, losses.map((loss, i) => JSON.stringify({ step: i + 1, loss, lr: 0.01, grad_norm: 0.5, tokens: 100, tokens_per_s: 1, elapsed_s: i })).join('\n') + '\n');
  return file;
};
const compare = (a: string, b: string) => {
  const r = spawnSync(PYTHON, [SCRIPT, a, b], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, result: JSON.parse(r.stdout) };
};

describe('compare_losses.py', () => {
  const ours = log('ours.jsonl', [1.2064, 1.15, 1.1, 1.02]);

  it('passes a curve whose first step agrees to 1e-4, and reports the differences', () => {
    const r = compare(ours, log('close.jsonl', [1.20645, 1.151, 1.098, 1.025]));
    expect(r.status, r.stderr).toBe(0);
    expect(r.result.steps).toBe(4);
    expect(r.result.first_step_abs_diff).toBeCloseTo(5e-5, 12);
    expect(r.result.max_abs_diff).toBeCloseTo(0.005, 12);
    expect(r.result.mean_abs_diff).toBeCloseTo((5e-5 + 0.001 + 0.002 + 0.005) / 4, 12);
    expect(r.result.final).toEqual({ ours: 1.02, torch: 1.025 });
  });

  it('fails a first step off by more than 1e-4, and logs of other lengths', () => {
    const r = compare(ours, log('off.jsonl', [1.2070, 1.15, 1.1]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL: step 1: loss 1\.206400 vs 1\.207000/);
    expect(r.stderr).toMatch(/FAIL: the logs have 4 and 3 steps/);
  });

  it('names the line of a row that is not JSON', () => {
    const bad = path.join(tmp, 'bad.jsonl');
    fs.writeFileSync(bad, '{"step": 1, "loss": 1}\n{oops\n');
    const r = spawnSync(PYTHON, [SCRIPT, ours, bad], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${bad}:2: not JSON`);
  });
});
