/**
 * `--frozen-bits 16|8|4` through the CLI (issue 23): every command's JSON
 * says what the frozen matrices are held as (`frozen`), the resident bytes
 * are the formats' to the byte, bad values and --store-bf16 with 8 or 4 are
 * usage errors, a 4-bit run records its bits (run.json, trainer_state.json)
 * and --resume uploads at them again, and the real SmolLM2-135M-Instruct Q4_1
 * GGUF stays in its own blocks by default.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatBytes, type FrozenFormat } from '../../kernels/packed_weight';
import { smolGguf } from '../helpers/python';
import { sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');
const cli = (args: string[]) => spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);

const STORIES = sharedPath('models/stories260K-hf');
// stories260K's frozen matrices as the model holds them: the tied embedding, then per layer q|k|v, o, gate|up, down
const MATRICES: [number, number][] = [[512, 64], ...Array.from({ length: 5 }, () => [[128, 64], [64, 64], [344, 64], [64, 172]] as [number, number][]).flat()];
const bytesAt = (f: FrozenFormat) => MATRICES.reduce((n, [r, c]) => n + formatBytes(f, r, c), 0);

describe('cli --frozen-bits', () => {
  const score = (bits?: string) => cli(['score', '--model', STORIES, '--text', 'Once upon a time, there was a little girl.', ...(bits ? ['--frozen-bits', bits] : []), '--json']);

  it('score at 16, 8 and 4 bits: frozen says bf16, Q8_0, Q4_0 for all 21 matrices, and the resident bytes differ by the formats\' bytes exactly', () => {
    const out = Object.fromEntries(['16', '8', '4'].map((b) => [b, score(b)]));
    for (const r of Object.values(out)) expect(r.status, r.stderr).toBe(0);
    const json = Object.fromEntries(Object.entries(out).map(([b, r]) => [b, lastJson(r.stdout)]));
    expect(json['16'].frozen).toEqual({ bits: 16, formats: { bf16: 21 }, bytes_per_weight: 2, asked: 16 });
    expect(json['8'].frozen).toMatchObject({ bits: 8, formats: { Q8_0: 21 }, asked: 8 });
    expect(json['4'].frozen).toMatchObject({ bits: 4, formats: { Q4_0: 21 }, asked: 4 });
    const weights = (b: string) => json[b].gpu_bytes.weights as number;
    expect(weights('16') - weights('8')).toBe(bytesAt('bf16') - bytesAt('Q8_0'));
    expect(weights('16') - weights('4')).toBe(bytesAt('bf16') - bytesAt('Q4_0'));
    // a 172-wide row is 6 blocks (192 weights): bytes a weight above 18/32
    expect(json['4'].frozen.bytes_per_weight).toBeCloseTo(bytesAt('Q4_0') / MATRICES.reduce((n, [r, c]) => n + r * c, 0), 12);
    expect(json['4'].frozen.bytes_per_weight).toBeGreaterThan(18 / 32);
    expect(out['4'].stderr).toMatch(/frozen matrices Q4_0 ×21 \(4 bits, 0\.\d{3} bytes a weight\)/);
    const mean = (b: string) => json[b].mean as number;
    console.log(`stories260K score: mean NLL 16-bit ${mean('16').toFixed(4)}, 8-bit ${mean('8').toFixed(4)}, 4-bit ${mean('4').toFixed(4)}; weights ${weights('16')} / ${weights('8')} / ${weights('4')} B`);
    expect(Math.abs(mean('8') - mean('16'))).toBeLessThan(0.05 * mean('16'));
    expect(Number.isFinite(mean('4'))).toBe(true);
    // as stored: the F32 checkpoint stays f32
    const stored = lastJson(score().stdout);
    expect(stored.frozen).toEqual({ bits: 32, formats: { f32: 21 }, bytes_per_weight: 4, asked: null });
  });

  it('refuses other values and --store-bf16 with 8 or 4 bits (usage errors, exit 2); --store-bf16 alone still gives bf16', () => {
    const five = score('5');
    expect(five.status).toBe(2);
    expect(five.stderr).toMatch(/--frozen-bits: "5" is not a valid value/);
    const both = cli(['score', '--model', STORIES, '--text', 'x', '--store-bf16', '--frozen-bits', '4']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--store-bf16 .* give one/);
    const bf16 = cli(['score', '--model', STORIES, '--text', 'Once upon a time', '--store-bf16', '--json']);
    expect(bf16.status, bf16.stderr).toBe(0);
    expect(lastJson(bf16.stdout).frozen).toEqual({ bits: 16, formats: { bf16: 21 }, bytes_per_weight: 2, asked: null });
  });

  it('train --frozen-bits 4 records the bits (result, run.json, trainer_state.json); --resume without the flag uploads at 4 again', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-frozen-'));
    const data = path.join(tmp, 'data.jsonl');
    fs.writeFileSync(data, fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').split('\n').slice(0, 24).join('\n') + '\n');
    const common = ['--model', STORIES, '--data', data, '--batch-size', '4', '--max-length', '64', '--warmup', '1', '--max-steps', '3', '--json'];
    const out = path.join(tmp, 'run');
    const r = cli(['train', ...common, '--out', out, '--frozen-bits', '4', '--stop-at-step', '2', '--recipe', path.join(tmp, 'recipe')]);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout).frozen).toMatchObject({ bits: 4, formats: { Q4_0: 21 }, asked: 4 });
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'recipe', 'run.json'), 'utf8')).settings.frozenBits).toBe(4);
    expect(fs.readFileSync(path.join(tmp, 'recipe', 'README.txt'), 'utf8')).toMatch(/The base was quantized/);
    const state = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint', 'trainer_state.json'), 'utf8'));
    expect(state.config.frozenBits).toBe(4);
    expect(state.frozen_bits).toBe(4);
    const resumed = cli(['train', ...common, '--out', out, '--resume', out]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout)).toMatchObject({ steps: 3, frozen: { bits: 4, asked: 4 } });
    // a 16-bit run records nothing of the kind
    const plain = cli(['train', ...common, '--out', path.join(tmp, 'plain'), '--max-steps', '1']);
    expect(plain.status, plain.stderr).toBe(0);
    expect('frozenBits' in JSON.parse(fs.readFileSync(path.join(tmp, 'plain', 'checkpoint', 'trainer_state.json'), 'utf8')).config).toBe(false);
  });

  it("the real SmolLM2-135M-Instruct Q4_1 GGUF keeps its own blocks by default (Q4_1 layers, Q8_0 embedding) and goes to bf16 at 16 bits", () => {
    const text = ['--text', 'The capital of France is Paris.', '--json'];
    const kept = cli(['score', '--model', smolGguf(), ...text]);
    expect(kept.status, kept.stderr).toBe(0);
    const k = lastJson(kept.stdout);
    expect(k.frozen).toMatchObject({ bits: 4, formats: { Q8_0: 1, Q4_1: 120 }, asked: null });
    const half = lastJson(cli(['score', '--model', smolGguf(), '--frozen-bits', '16', ...text]).stdout);
    expect(half.frozen).toEqual({ bits: 16, formats: { bf16: 121 }, bytes_per_weight: 2, asked: 16 });
    console.log(`SmolLM2-135M Q4_1 GGUF: weights resident ${k.gpu_bytes.weights} B as stored, ${half.gpu_bytes.weights} B at 16 bits; mean NLL ${k.mean.toFixed(4)} vs ${half.mean.toFixed(4)}`);
    expect(k.gpu_bytes.weights).toBeLessThan(110e6);
  });
});
