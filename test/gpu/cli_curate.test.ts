/**
 * `npm run -s cli -- curate` as a user runs it, on the first 150 rows of
 * ../shared/data/tinystories-instruct-1k.jsonl with planted rows appended:
 * near-duplicates (one word of the story changed; the same row in capitals
 * with other punctuation) and an exact repeat. stories260K embeds the prompts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '../..');

function cli(args: string[]) {
  const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 540_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

describe('cli curate', () => {
  it('groups planted near-duplicates, drops the exact repeat, selects N diverse rows and writes them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'curate-'));
    const base = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').trim().split('\n').slice(0, 150);
    const rows = base.map((l) => JSON.parse(l) as { instruction: string; response: string });
    const planted: [number, number][] = []; // [original line, planted line]
    const lines = [...base];
    const add = (from: number, row: object) => {
      lines.push(JSON.stringify(row));
      planted.push([from, lines.length]);
    };
    const swapWord = (text: string, k: number, to: string) => text.split(' ').map((w, i) => (i === k ? to : w)).join(' ');
    add(5, { ...rows[4], response: swapWord(rows[4].response, 12, 'banana') }); // one word changed
    add(20, { ...rows[19], response: swapWord(rows[19].response, 30, 'umbrella') });
    add(40, { instruction: rows[39].instruction.toUpperCase(), response: rows[39].response.toUpperCase().replace(/[.!]/g, ';') }); // case and punctuation
    lines.push(base[9]); // an exact repeat of line 10
    const repeatLine = lines.length;
    const file = path.join(dir, 'data.jsonl');
    const out = path.join(dir, 'selected.jsonl');
    fs.writeFileSync(file, lines.join('\n') + '\n');

    const r = cli(['curate', '--data', file, '--model', sharedPath('models/stories260K-hf'), '--select', '20', '--clusters', '4', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson(r.stdout);
    console.log(r.stderr.split('\n').filter((l) => /near-duplicates:|dropped|wrote/.test(l)).join('\n'));
    console.log(`groups ${JSON.stringify(res.near_duplicate_groups)}; selected ${res.selected.join(', ')}; clusters ${JSON.stringify(res.clusters.map((c: { size: number; representative: number }) => [c.size, c.representative]))}; seconds ${JSON.stringify(res.seconds)}`);

    expect(res.row_numbers).toBe('line');
    expect(res.rows).toBe(lines.length);
    for (const [a, b] of planted) expect(res.near_duplicate_groups, `lines ${a} and ${b}`).toContainEqual(expect.arrayContaining([a, b]));
    expect(res.dropped).toEqual([{ row: repeatLine, reason: 'exact duplicate' }]);

    const later = new Set(res.near_duplicate_groups.flatMap((g: number[]) => g.slice(1)));
    expect(res.selected).toHaveLength(20);
    expect(new Set(res.selected).size).toBe(20);
    for (const line of res.selected) {
      expect(line).toBeGreaterThanOrEqual(1);
      expect(line).toBeLessThanOrEqual(lines.length);
      expect(later.has(line)).toBe(false); // one of each near-duplicate group
      expect(line).not.toBe(repeatLine);
    }

    expect(res.clusters).toHaveLength(4);
    expect(res.clusters.reduce((s: number, c: { size: number }) => s + c.size, 0)).toBe(lines.length - 1);
    for (const c of res.clusters) expect(c.prompt).toBe(JSON.parse(lines[c.representative - 1]).instruction);

    const written = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(written).toEqual([...res.selected].sort((a, b) => a - b).map((line: number) => JSON.parse(lines[line - 1])));
  });

  it('names a bad flag value with exit status 2, and a missing file with 1', () => {
    const bad = cli(['curate', '--data', 'x.jsonl', '--model', 'm', '--near-dup', '1.5']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--near-dup: "1.5" is not a valid value/);
    const missing = cli(['curate', '--data', '/nope.jsonl', '--model', 'm']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/\/nope.jsonl: no such file/);
  });
});
