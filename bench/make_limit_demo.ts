/**
 * Writes the LIMIT walkthrough's two built-in datasets for the demo model
 * stories260K (issue 11 part 4): the same kind of stories, taught in two
 * styles, so that tuning on each, and on a mix, can be scored by both
 * evaluation paradigms (LIMIT, Jha et al. 2023: a style helps on the
 * evaluation that matches it).
 *
 *   public/demo/limit-open.jsonl   open-ended, LIMA-style: the instruction asks
 *                                  for a story, the response is the whole story
 *                                  (rows 0..199 of tinystories-instruct-1k)
 *   public/demo/limit-qa.jsonl     short answers, trivia-style: the instruction
 *                                  is a story's opening and a question, the
 *                                  response a name or one sentence (made from
 *                                  rows 200..399): "Who is this story about?"
 *                                  → "Amy."; "What happens next?" → the third
 *                                  sentence. These match the multiple-choice
 *                                  set (public/demo/stories-mc.jsonl, rows
 *                                  600..999: held out from both)
 *   public/demo/limit-mix.jsonl    100 rows of each, interleaved
 *
 * Deterministic: the same input gives the same files.
 *   npx tsx bench/make_limit_demo.ts            # rewrite them
 *   npx tsx bench/make_limit_demo.ts --check    # exit 1 when a file differs
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInstruction, plainSentences } from './demo_text';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.resolve(ROOT, '../shared/data/tinystories-instruct-1k.jsonl');
const DIR = path.join(ROOT, 'public/demo');
const ROWS = 200;

interface Pair {
  instruction: string;
  response: string;
}

function readRows(): Pair[] {
  if (!fs.existsSync(SOURCE)) throw new Error(`missing ${SOURCE} (see ../shared/README.md)`);
  return fs
    .readFileSync(SOURCE, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Pair);
}

/** One short-answer row from a story: its hero's name (even rows) or its third sentence (odd rows); null when the story does not allow it. */
function qaRow(r: Pair, k: number): Pair | null {
  const p = parseInstruction(r.instruction);
  const s = plainSentences(r.response);
  if (k % 2 === 0) {
    if (!p || s.length < 1 || !s[0].includes(p.name)) return null;
    return { instruction: `${s[0]}\nWho is this story about?`, response: `${p.name}.` };
  }
  if (s.length < 3) return null;
  return { instruction: `${s[0]} ${s[1]}\nWhat happens next? Answer with one sentence.`, response: s[2] };
}

export function makeSets(rows: Pair[]): Record<string, Pair[]> {
  const open = rows.slice(0, ROWS).map((r) => ({ instruction: r.instruction, response: r.response }));
  const qa: Pair[] = [];
  const seen = new Set<string>(); // stories open alike ("…a little girl named Lily."): keep each question once
  for (let i = ROWS, k = 0; qa.length < ROWS && i < 600; i++) {
    const q = qaRow(rows[i], k);
    if (q && !seen.has(q.instruction)) {
      seen.add(q.instruction);
      qa.push(q);
      k++;
    }
  }
  if (qa.length < ROWS) throw new Error(`only ${qa.length} short-answer rows from rows ${ROWS}..599`);
  const mix: Pair[] = [];
  for (let i = 0; i < ROWS / 2; i++) mix.push(open[i], qa[i]);
  return { 'limit-open.jsonl': open, 'limit-qa.jsonl': qa, 'limit-mix.jsonl': mix };
}

function main(): void {
  const sets = makeSets(readRows());
  const check = process.argv.includes('--check');
  let same = true;
  for (const [name, rows] of Object.entries(sets)) {
    const file = path.join(DIR, name);
    const body = rows.map((x) => JSON.stringify(x)).join('\n') + '\n';
    if (check) {
      const ok = fs.existsSync(file) && fs.readFileSync(file, 'utf8') === body;
      console.log(ok ? `${file}: up to date (${rows.length} rows)` : `${file}: differs from what the script makes`);
      same &&= ok;
    } else {
      fs.writeFileSync(file, body);
      console.log(`wrote ${rows.length} rows to ${file}`);
    }
  }
  if (check && !same) process.exit(1);
}

main();
