/**
 * `cli eval --mc` against lm-evaluation-harness itself (issue 22 item 4):
 * the local task test/peers/lm_eval_tasks/stories_mc.yaml over
 * public/demo/stories-mc.jsonl (60 items, 4 choices each) and the HF model
 * stories260K-hf, run by test/peers/lm_eval_mc.py (HF backend, CPU, f32, BOS
 * first as the engine scores). The same acc and acc_norm, the same prediction
 * per item (plain and per-character), and every choice's log-likelihood
 * within 1e-4.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { argmax, charLength } from '../../src/engine/eval/multiple_choice';
import { peerPython } from '../helpers/python';
import { sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');
const DEMO = path.join(ROOT, 'public/demo/stories-mc.jsonl');

interface Scored {
  acc: number;
  acc_norm: number;
  n: number;
  items: { scores: number[]; gold: number; pred?: number; pred_norm?: number }[];
}

it('lm-eval-harness gives the acc, acc_norm and per-choice log-likelihoods of cli eval --mc', () => {
  const cli = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'eval', '--model', sharedPath('models/stories260K-hf'), '--mc', DEMO, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  expect(cli.status, cli.stderr).toBe(0);
  const ours = JSON.parse(cli.stdout.trim().split('\n').pop()!) as Scored;

  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lima-lmeval-')), 'lm_eval.json');
  const env = { ...process.env, HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
  const r = spawnSync(peerPython(), [path.join(__dirname, 'lm_eval_mc.py'), '--model', sharedPath('models/stories260K-hf'), '--tasks', path.join(__dirname, 'lm_eval_tasks'), '--task', 'stories_mc', '--out', out],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  const theirs = JSON.parse(fs.readFileSync(out, 'utf8')) as Scored;

  const choices = fs.readFileSync(DEMO, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { choices: string[] }).choices);
  expect(theirs.n).toBe(60);
  expect(ours.n).toBe(60);
  let maxDiff = 0;
  theirs.items.forEach((t, i) => {
    const o = ours.items[i];
    expect(t.gold, `item ${i + 1}`).toBe(o.gold);
    expect(t.scores.length).toBe(o.scores.length);
    t.scores.forEach((s, k) => (maxDiff = Math.max(maxDiff, Math.abs(s - o.scores[k]))));
    expect(argmax(t.scores), `item ${i + 1}`).toBe(o.pred);
    expect(argmax(t.scores.map((s, k) => s / charLength(choices[i][k]))), `item ${i + 1}`).toBe(o.pred_norm);
  });
  console.log(`lm-eval vs cli eval --mc: acc ${theirs.acc} / ${ours.acc}, acc_norm ${theirs.acc_norm} / ${ours.acc_norm}; max |loglik diff| ${maxDiff.toExponential(2)} over ${theirs.items.length * 4} choices`);
  expect(theirs.acc).toBe(ours.acc);
  expect(theirs.acc_norm).toBe(ours.acc_norm);
  expect(maxDiff).toBeLessThanOrEqual(1e-4);
});
