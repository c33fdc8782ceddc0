/** train → eval → generate --adapter → resume, through the CLI, on a tiny random model and 24 real rows. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors';
import { expectGpuBytes, safetensorsParams } from '../helpers/gpu_bytes';
import { writeTinyCheckpoint } from '../helpers/tiny_checkpoint';
import { sharedPath } from '../helpers/shared';
import { PYTHON } from '../helpers/python';

const ROOT = path.resolve(__dirname, '../..');
const cli = (args: string[]) => spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

describe('cli train / eval / generate --adapter / --resume', () => {
  const { dir: model } = writeTinyCheckpoint({ layers: 1 });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-cli-'));
  const data = path.join(tmp, 'data.jsonl');
  const rows = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').split('\n').slice(0, 24).map((l) => {
    const r = JSON.parse(l);
    return JSON.stringify({ instruction: r.instruction, response: r.response.split(' ').slice(0, 10).join(' ') });
  });
  fs.writeFileSync(data, rows.join('\n') + '\n{"instruction": "broken row"\n');
  let loraParams = 0;
  const common = ['--model', model, '--data', data, '--batch-size', '4', '--max-length', '64', '--lr', '5e-3', '--warmup', '1', '--seed', '7', '--json'];

  it('trains, reports bad rows by line, writes a PEFT adapter and a checkpoint; resume equals uninterrupted', () => {
    const full = cli(['train', ...common, '--out', path.join(tmp, 'full'), '--max-steps', '4']);
    expect(full.status, full.stderr).toBe(0);
    expect(full.stderr).toMatch(/data\.jsonl:25: /); // the broken row, by line
    expect(full.stderr).toMatch(/step 4\/4 .*loss \d/);
    const res = lastJson(full.stdout);
    expect(res.steps).toBe(4);
    expect(res.train_rows + res.val_rows).toBe(24);
    const st = readSafetensors(new Uint8Array(fs.readFileSync(path.join(tmp, 'full', 'adapter_model.safetensors'))), 'a');
    expect([...st.tensors.keys()]).toContain('base_model.model.model.layers.0.mlp.up_proj.lora_B.weight');
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'full', 'adapter_config.json'), 'utf8')).template).toBe('plain');
    console.log('train gpu_bytes:', JSON.stringify(res.gpu_bytes));
    expectGpuBytes(res.gpu_bytes, safetensorsParams(path.join(model, 'model.safetensors')), 'some');
    expect(full.stderr).toMatch(/GPU memory: weights \d+\.\d\d MiB · adapter \d+\.\d\d MiB · peak/);
    // AdamW: the A and B values plus two moments of each, 4 bytes apiece (and a few uniform buffers at most)
    loraParams = Number(/(\d+) trainable parameters/.exec(full.stderr)![1]);
    expect(res.gpu_bytes.adapter).toBeGreaterThanOrEqual(loraParams * 12);
    expect(res.gpu_bytes.adapter).toBeLessThan(loraParams * 12 + 16 * 1024);

    // interrupted at step 2, then resumed: bit-identical to the uninterrupted run
    const part = cli(['train', ...common, '--out', path.join(tmp, 'part'), '--max-steps', '4', '--stop-at-step', '2']);
    expect(part.status, part.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'part', 'checkpoint', 'trainer_state.json'), 'utf8')).step).toBe(2);
    const resumed = cli(['train', ...common, '--out', path.join(tmp, 'part'), '--resume', path.join(tmp, 'part')]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .* at step 2/);
    const a = fs.readFileSync(path.join(tmp, 'full', 'adapter_model.safetensors'));
    const b = fs.readFileSync(path.join(tmp, 'part', 'adapter_model.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('eval reports loss with and without the adapter; generate --instruction uses the adapter and its template', () => {
    const ev = cli(['eval', '--model', model, '--data', data, '--adapter', path.join(tmp, 'full'), '--max-length', '64', '--dump-tokens', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    const r = lastJson(ev.stdout);
    expect(r.tokens).toBeGreaterThan(0);
    expect(r.base_loss).toBeGreaterThan(r.loss); // training on these rows lowered their loss
    expect(r.perplexity).toBeCloseTo(Math.exp(r.loss), 6);
    expect(r.examples.length).toBe(24);
    expect(r.examples[0].labels[0]).toBe(-100);
    const g = cli(['generate', '--model', model, '--adapter', path.join(tmp, 'full'), '--instruction', 'Write a story about a girl named Amy.', '--max-new-tokens', '5', '--json']);
    expect(g.status, g.stderr).toBe(0);
    const out = lastJson(g.stdout);
    expect(out.prompt_ids[0]).toBe(1);
    expect(out.ids.length).toBeGreaterThan(0);
    expect(g.stderr).toMatch(/template plain/);
    expectGpuBytes(out.gpu_bytes, safetensorsParams(path.join(model, 'model.safetensors')), 'some');
    if (loraParams) expect(out.gpu_bytes.adapter).toBe(loraParams * 4); // the imported adapter: A and B, uploaded once
  });

  it('--recipe writes the run as train_peft.py sees it: its plan trains the rows the CLI trained, step by step (--log)', () => {
    const dir = path.join(tmp, 'recipe');
    const log = path.join(tmp, 'steps.jsonl');
    const r = cli(['train', ...common, '--out', path.join(tmp, 'withrecipe'), '--max-steps', '3', '--grad-accum', '2', '--recipe', dir, '--log', log]);
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ base_model: path.resolve(model), template: 'plain', max_length: 64, train_rows: res.train_rows });
    expect(run.settings).toMatchObject({ batchSize: 4, gradAccum: 2, lr: 5e-3, warmup: 1, seed: 7, maxSteps: 3 });
    const rows = fs.readFileSync(path.join(dir, 'train_tokens.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { input_ids: number[]; labels: number[] });
    expect(rows.length).toBe(res.train_rows);
    // targets of a row: labels[t] for t ≥ 1 that are trained (position t−1 predicts them)
    const targets = (i: number) => rows[i].labels.slice(1).filter((l) => l !== -100).length;
    const plan = spawnSync(PYTHON, [path.join(dir, 'train_peft.py'), '--plan', '3'], { cwd: dir, encoding: 'utf8' });
    expect(plan.status, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout) as { total_steps: number; steps: { step: number; micro: number[][]; lr: number }[] };
    const steps = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; tokens: number; lr: number });
    expect(p.total_steps).toBe(3);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3]);
    p.steps.forEach((ps, k) => {
      expect(ps.micro.length).toBe(2); // grad-accum 2
      expect(ps.micro.flat().reduce((n, i) => n + targets(i), 0)).toBe(steps[k].tokens); // the same rows, so the same trained-token count
      expect(ps.lr).toBeCloseTo(steps[k].lr, 12);
    });
  });
});
