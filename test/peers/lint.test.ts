/**
 * Every Python file in the repository (tracked, or new and not ignored) passes
 * `ruff check` with ruff's default rules, from the pinned venv: the recipe's
 * train_peft.py, the bench's Python and the peers' drivers are code like the
 * TypeScript, checked by their own language's tools.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { peerPython } from '../helpers/python';

const ROOT = path.resolve(__dirname, '../..');

it('ruff check passes on every .py file', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.py'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  expect(files).toEqual(expect.arrayContaining(['src/worker/train_peft.py', 'bench/torch_baseline.py', 'bench/gpu_kit/compare_losses.py', 'test/peers/trl_sft.py', 'test/peers/lm_eval_mc.py']));
  const ruff = path.join(path.dirname(peerPython()), 'ruff');
  const r = spawnSync(ruff, ['check', '--no-cache', '--output-format', 'concise', ...files], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  console.log(`ruff check on ${files.length} files: ${(r.stdout + r.stderr).trim().split('\n').pop()}`);
  expect(r.status, r.stdout + r.stderr).toBe(0);
});
