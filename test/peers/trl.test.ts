/**
 * The recipe's TRL config and data in TRL itself (issue 22 item 4):
 * `cli train --recipe --log` on stories260K-hf for 3 steps in file order
 * (--no-shuffle: the config then asks TRL for its sequential sampler, so both
 * see the same first batch), then test/peers/trl_sft.py reads trl_sft.yaml
 * with `trl sft`'s own parser (no unknown key allowed) and trains 3 steps with
 * SFTTrainer on the CPU. TRL's tokenization of train.jsonl must give the
 * browser's ids and response-only labels row for row (train_tokens.jsonl),
 * its first batch the same trained-token count, and its first-step loss (the
 * base model's, LoRA B = 0) ours within 1e-3 relative. Later steps differ by
 * design: TRL draws its own LoRA A.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { peerPython } from '../helpers/python';
import { sharedPath } from '../helpers/shared';
import { readSteps } from './curves';

const ROOT = path.resolve(__dirname, '../..');

it("TRL's SFTTrainer on the exported config and rows: same ids and mask, first-step loss within 1e-3 of ours", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-trl-'));
  const recipe = path.join(tmp, 'recipe');
  const log = path.join(tmp, 'ours.jsonl');
  const args = ['train', '--model', sharedPath('models/stories260K-hf'), '--data', sharedPath('data/tinystories-instruct-1k.jsonl'), '--out', path.join(tmp, 'run'),
    '--max-steps', '3', '--batch-size', '4', '--warmup', '1', '--no-shuffle', '--recipe', recipe, '--log', log, '--json'];
  const cli = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
  expect(cli.status, cli.stderr).toBe(0);
  const ours = readSteps(log);

  const result = path.join(tmp, 'trl.json');
  const env = { ...process.env, HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' };
  const r = spawnSync(peerPython(), [path.join(__dirname, 'trl_sft.py'), recipe, '--out', result, '--steps', '3'], { env, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  const trl = JSON.parse(fs.readFileSync(result, 'utf8')) as { losses: number[]; same_rows: [number, number]; first_batch: { rows: number; trained_targets: number }; train_sampling_strategy: string };
  const rel = trl.losses.map((l, k) => Math.abs(l - ours[k].loss) / ours[k].loss);
  console.log(`TRL SFTTrainer vs cli train: losses ${trl.losses.map((l) => l.toFixed(6)).join(' ')} vs ${ours.map((s) => s.loss.toFixed(6)).join(' ')}; relative diff ${rel.map((x) => x.toExponential(2)).join(' ')}; rows equal ${trl.same_rows.join('/')}`);
  expect(trl.train_sampling_strategy).toBe('sequential');
  expect(trl.same_rows[0]).toBe(trl.same_rows[1]);
  expect(trl.first_batch).toEqual({ rows: 4, trained_targets: ours[0].tokens });
  expect(trl.losses.length).toBe(3);
  expect(rel[0]).toBeLessThanOrEqual(1e-3);
  fs.rmSync(tmp, { recursive: true, force: true });
});
