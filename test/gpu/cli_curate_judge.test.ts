/**
 * `npm run -s cli -- curate --judge` as a user runs it: SmolLM2-135M-Instruct
 * (the Q4_1 GGUF) scores 2 rows of ../shared/data/alpaca-1k.jsonl; --out gets
 * the rows scoring ≥ --min-score, the score cache beside it; a second run at
 * another threshold reads every score from the cache (no row read by the
 * judge). What the judge scores is not asserted (a 135M judge is noisy; see
 * test/peers/quality_smol.test.ts): the structure and the counts are.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { smolGguf } from '../helpers/python';
import { sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');

function cli(args: string[]) {
  const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 1_800_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

interface ScoreRow {
  row: number;
  score: number | null;
  expected: number | null;
  reply: string;
  reason?: string;
}

it('scores the rows, writes those scoring ≥ N and the score cache; a new threshold reads from the cache', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'curate-judge-'));
  const lines = fs.readFileSync(sharedPath('data/alpaca-1k.jsonl'), 'utf8').trim().split('\n').slice(0, 2);
  const file = path.join(dir, 'data.jsonl');
  const out = path.join(dir, 'kept.jsonl');
  fs.writeFileSync(file, lines.join('\n') + '\n');

  const r = cli(['curate', '--data', file, '--judge', smolGguf(), '--min-score', '1', '--out', out, '--json']);
  expect(r.status, r.stderr).toBe(0);
  const res = lastJson(r.stdout);
  console.log(r.stderr.split('\n').filter((l) => /judged|wrote/.test(l)).join('\n'));
  for (const s of res.scores as ScoreRow[]) console.log(`line ${s.row}: ${s.score ?? 'unscored'}  ${s.reply}${s.reason ? `  [${s.reason}]` : ''}`);
  expect(r.stderr).toMatch(/a small judge is noisy/);
  expect([res.rows, res.row_numbers, res.min_score, res.read, res.cached]).toEqual([2, 'line', 1, 2, 0]);
  expect(res.scores.map((s: ScoreRow) => s.row)).toEqual([1, 2]);
  expect(res.scored + res.unscored).toBe(2);
  expect(Object.values(res.histogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(res.scored);
  for (const s of res.scores as ScoreRow[]) expect(s.score === null ? typeof s.reason : s.score).toEqual(s.score === null ? 'string' : expect.any(Number));
  // --min-score 1 keeps every scored row
  const scoredRows = (res.scores as ScoreRow[]).filter((s) => s.score !== null).map((s) => s.row);
  expect(res.kept).toEqual(scoredRows);
  const written = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  expect(written).toEqual(scoredRows.map((line) => JSON.parse(lines[line - 1])));
  expect(res.score_cache).toBe(`${out}.scores.json`);
  expect(Object.keys(JSON.parse(fs.readFileSync(res.score_cache, 'utf8')).scores)).toHaveLength(2);

  const again = lastJson(cli(['curate', '--data', file, '--judge', smolGguf(), '--min-score', '5', '--out', out, '--json']).stdout);
  expect([again.read, again.cached]).toEqual([0, 2]);
  expect(again.scores).toEqual(res.scores);
  expect(again.kept).toEqual(scoredRows.filter((row) => res.scores[row - 1].score === 5));
}, 2_400_000);

it('names what was wrong: a bad --min-score, --judge with --model or --select, --min-score without --judge, a missing judge, a broken cache', () => {
  const file = sharedPath('data/alpaca-1k.jsonl');
  const cases: [string[], number, RegExp][] = [
    [['--judge', 'j.gguf', '--min-score', '6'], 2, /--min-score: "6" is not a valid value/],
    [['--judge', 'j.gguf', '--min-score', '3.5'], 2, /--min-score: "3.5" is not a valid value/],
    [['--judge', 'j.gguf', '--model', 'm'], 2, /--judge scores the rows, --model embeds them for diversity: give one/],
    [['--judge', 'j.gguf', '--select', '5'], 2, /--select: not used with --judge/],
    [['--model', 'm', '--min-score', '4'], 2, /--min-score needs --judge MODEL/],
    [['--judge', '/nope.gguf'], 1, /--judge \/nope.gguf: no such file or folder/],
  ];
  for (const [args, status, message] of cases) {
    const r = cli(['curate', '--data', file, ...args]);
    expect(r.status, args.join(' ')).toBe(status);
    expect(r.stderr).toMatch(message);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'curate-judge-'));
  const broken = path.join(dir, 'cache.json');
  fs.writeFileSync(broken, '{"rubric": 1}');
  const r = cli(['curate', '--data', file, '--judge', smolGguf(), '--score-cache', broken]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/cache.json: not a score cache \(no "scores" object\)/);
});
