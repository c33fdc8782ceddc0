/**
 * bench/torch_baseline.py (the PyTorch side of the GPU figures) runs against
 * the pinned torch/transformers/peft: on the CPU, one layer of SmolLM2-135M's
 * shape, f32 and bf16 autocast, tiny batches. Its random-config model
 * (train_peft.load_model with a config dict), KV-cache prefill and decode,
 * LoRA and training loop work and write every figure; the numbers themselves
 * mean nothing here (the device check takes them on a GPU).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { peerPython } from '../helpers/python';

const ROOT = path.resolve(__dirname, '../..');

it('torch_baseline.py --device cpu writes prefill, decode, train and lima figures', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lima-torch-baseline-')), 'figures.jsonl');
  const args = ['bench/torch_baseline.py', '--device', 'cpu', '--models', 'smollm2-135m', '--modes', 'f32,bf16', '--layers', '1', '--batch', '1', '--len', '32', '--steps', '1',
    '--prefill', '8', '--decode', '2', '--lima', '1x32', '--lima-rows', '2', '--lima-epochs', '1', '--out', out];
  const r = spawnSync(peerPython(), args, { cwd: ROOT, env: { ...process.env, HF_HUB_OFFLINE: '1' }, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(rows.map((x) => `${x.mode} ${x.phase}`)).toEqual(['f32 prefill', 'f32 decode', 'f32 train', 'f32 lima', 'bf16 prefill', 'bf16 decode', 'bf16 train', 'bf16 lima']);
  for (const x of rows) {
    expect(x).toMatchObject({ name: 'torch_baseline', model: 'smollm2-135m', gpu: 'cpu' });
    expect(Number(x.tokens_per_s ?? x.projected_s)).toBeGreaterThan(0);
  }
  expect(Number(rows[2].last_loss)).toBeGreaterThan(5); // random weights over a 49,152-token vocabulary: about ln(49152) ≈ 10.8
  expect(r.stderr).not.toMatch(/past_key_values.*deprecated/);
});
