/**
 * The GPU kit (bench/gpu_kit/pack.ts, issue 10): packed from this checkout,
 * copied to a temp folder away from node_modules, it runs on SwiftShader with
 * its own Node, Dawn and Vulkan loader:
 *   - the bundled CLI trains stories260K, and its per-step losses equal those of
 *     the same command run from source through tsx; its --recipe writes
 *     src/worker/train_peft.py as it is;
 *   - the bundled reference check reproduces the shared ground truth;
 *   - the bundled figures bench (bench/gpu_figures.ts) writes every figure.
 * The kit is under the size that travels to the device machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_KIT_BYTES, treeBytes } from '../../bench/gpu_kit/pack_limits';
import { sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');

const jsonl = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('GPU kit', () => {
  it('packs under the limit and runs the CLI and the figures bench from a temp folder', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-kit-'));
    const packed = path.join(tmp, 'packed');
    const pack = spawnSync('npx', ['tsx', 'bench/gpu_kit/pack.ts', '--out', packed], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    expect(pack.status, pack.stderr).toBe(0);
    expect(treeBytes(packed)).toBeLessThan(MAX_KIT_BYTES);

    // the kit away from the checkout, run from an unrelated folder
    const kit = path.join(tmp, 'elsewhere', 'kit');
    fs.cpSync(packed, kit, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, LIMA_KIT_WORK: path.join(tmp, 'work') };
    delete env.VK_ICD_FILENAMES; // the kit finds a driver itself (SwiftShader here)
    const kitRun = (args: string[]) => spawnSync(path.join(kit, 'run.sh'), args, { cwd: tmp, env, encoding: 'utf8', timeout: 600_000 });

    const info = kitRun(['env']);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`node: v\\d+.* at ${path.join(tmp, 'work')}/node`));
    expect(info.stdout).toMatch(/VK_ICD_FILENAMES=.*swiftshader/);

    const train = ['train', '--data', sharedPath('data/tinystories-instruct-1k.jsonl'), '--max-steps', '2', '--batch-size', '4', '--warmup', '1', '--json'];
    const fromKit = kitRun(['cli', ...train, '--model', path.join(kit, 'data/stories260K-hf'), '--out', path.join(tmp, 'a'), '--log', path.join(tmp, 'kit.jsonl'), '--recipe', path.join(tmp, 'kit-recipe')]);
    expect(fromKit.status, fromKit.stderr).toBe(0);
    // the recipe's Python, bundled as text (pack.ts: the ?raw import through esbuild's text loader), is the source file
    expect(fs.readFileSync(path.join(tmp, 'kit-recipe', 'train_peft.py'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'src/worker/train_peft.py'), 'utf8'));
    const fromSource = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...train, '--model', sharedPath('models/stories260K-hf'), '--out', path.join(tmp, 'b'), '--log', path.join(tmp, 'src.jsonl')], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(fromSource.status, fromSource.stderr).toBe(0);
    const a = jsonl(path.join(tmp, 'kit.jsonl'));
    const b = jsonl(path.join(tmp, 'src.jsonl'));
    expect(a.map((r) => r.step)).toEqual([1, 2]);
    expect(a.map((r) => r.loss as number)).toEqual(b.map((r) => r.loss as number));
    expect(a.map((r) => r.grad_norm as number)).toEqual(b.map((r) => r.grad_norm as number));
    expect(a[0].loss).toBeGreaterThan(0.5); // stories260K on these rows starts near 1.2

    const ref = kitRun(['reference', '--flavours', 'simple']);
    expect(ref.status, ref.stderr).toBe(0);
    const cases = ref.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pass: boolean; text: boolean });
    expect(cases.length).toBe(3); // reference.json's three prompts, each equal to llama2.c's greedy text
    expect(cases.every((c) => c.pass && c.text)).toBe(true);

    const figures = path.join(tmp, 'figures.jsonl');
    const fig = kitRun(['figures', '--models', 'smollm2-135m', '--layers', '1', '--flavours', 'simple', '--batch', '1', '--len', '32', '--prefill', '8', '--decode', '1', '--lima', '1x32', '--steps', '1', '--out', figures]);
    expect(fig.status, fig.stderr).toBe(0);
    const rows = jsonl(figures);
    expect(rows.map((r) => r.figure)).toEqual(['train', 'prefill', 'decode', 'kernels', 'lima']);
    for (const r of rows) {
      expect(r).toMatchObject({ model: 'smollm2-135m', layers: 1, flavour: 'simple', software: true });
      if (r.figure !== 'kernels') expect(Number(r.tokens_per_s ?? r.projected_s)).toBeGreaterThan(0);
    }
    const k = rows[3] as { gpu_ms: number; dispatches: number; top: { program: string; count: number; ms: number }[] };
    expect(k.dispatches).toBeGreaterThan(10);
    expect(k.top.reduce((n, t) => n + t.count, 0)).toBeLessThanOrEqual(k.dispatches);
    expect(k.top.some((t) => t.program.startsWith('attention'))).toBe(true); // our kernels are named by their program
    const lima = rows[4] as { steps: number; step_s: number; projected_s: number };
    expect(lima.steps).toBe(3000); // 1,000 rows × 3 epochs at one row a step
    expect(lima.projected_s).toBeCloseTo(lima.step_s * 3000, 6);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
