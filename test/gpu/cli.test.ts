/** The CLI as a user runs it: `npm run -s cli -- ...`, last stdout line one JSON object. */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectGpuBytes, safetensorsParams } from '../helpers/gpu_bytes';
import { referenceCases, sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

const stories260KParams = () => safetensorsParams(sharedPath('models/stories260K-hf/model.safetensors'));

describe('cli', () => {
  const ref = referenceCases()[0];

  it('generate --json on a llama2.c checkpoint matches the reference greedy ids', () => {
    const r = cli(['generate', '--model', sharedPath('models/stories260K/stories260K.bin'), '--tokenizer', sharedPath('models/stories260K/tok512.bin'), '--prompt', ref.prompt, '--max-new-tokens', '12', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.prompt_ids).toEqual(ref.prompt_ids);
    expect(out.ids).toEqual(ref.greedy_ids_first60.slice(0, 12));
    expect(ref.text.startsWith(ref.prompt + out.text)).toBe(true);
    console.log('generate gpu_bytes:', JSON.stringify(out.gpu_bytes));
    expectGpuBytes(out.gpu_bytes, stories260KParams(), 'none');
    expect(r.stderr).toMatch(/GPU memory: weights 1\.\d\d MiB · adapter 0\.00 MiB · peak \d+\.\d\d MiB above them · device peak/);
  });

  it('generate with a seed reproduces a sampled completion on the HF folder', () => {
    const args = ['generate', '--model', sharedPath('models/stories260K-hf'), '--prompt', 'The dog', '--max-new-tokens', '8', '--temperature', '1', '--top-p', '0.9', '--seed', '42', '--json'];
    const a = lastJson(cli(args).stdout);
    const b = lastJson(cli(args).stdout);
    expect(a.ids.length).toBeGreaterThan(0);
    expect(a).toEqual(b); // gpu_bytes too: the same work allocates the same buffers
  });

  it('score --json gives one NLL per next token', () => {
    const r = cli(['score', '--model', sharedPath('models/stories260K-hf'), '--text', 'Once upon a time, there was a little girl.', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = lastJson(r.stdout);
    expect(out.losses.length).toBe(out.ids.length - 1);
    expect(out.mean).toBeCloseTo(out.losses.reduce((a: number, b: number) => a + b, 0) / out.losses.length, 5);
    expect(out.mean).toBeGreaterThan(0);
    expect(out.mean).toBeLessThan(3); // the model knows this sentence well
    console.log('score gpu_bytes:', JSON.stringify(out.gpu_bytes));
    expectGpuBytes(out.gpu_bytes, stories260KParams(), 'none');
  });

  it('reports usage errors and bad paths with a non-zero exit', () => {
    const r = cli(['generate', '--prompt', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--model is required/);
    const bad = cli(['generate', '--model', '/nope', '--prompt', 'x']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/\/nope: no such file or folder/);
    expect(execFileSync('npx', ['tsx', 'src/cli/main.ts', '--help'], { cwd: ROOT, encoding: 'utf8' })).toMatch(/usage/);
  });
});
