/**
 * Writes public/demo/stories-mc.jsonl, the built-in multiple-choice set for
 * the demo model stories260K (issue 11 part 2), from rows 600..999 of
 * ../shared/data/tinystories-instruct-1k.jsonl (none of them in the page's
 * 400-row demo dataset). Deterministic: the same input gives the same file.
 *
 *   npx tsx bench/make_mc_demo.ts            # rewrite the file
 *   npx tsx bench/make_mc_demo.ts --check    # exit 1 when the file differs
 *
 * Rows are MMLU-style {"question", "choices", "answer": index} plus a "kind"
 * (ignored by the parser), 20 items of each kind, 4 choices each:
 *
 *   name-in-story   question: a story cut just before its second mention of
 *                   the hero; choices: the hero's name and three other names
 *                   of the same gender (so only copying from the context helps)
 *   continuation    question: a story's first two sentences; choices: its
 *                   third sentence and the third sentences of three other stories
 *   instruction     question: the instruction ("Write a story about a girl
 *                   named Amy."); choices: "Once upon a time, there was a little
 *                   girl named X." for the requested name and three others:
 *                   what instruction tuning on the demo data teaches
 *
 * The gold position is drawn with the project's seeded Rng (seed 11), as are
 * the distractors.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/engine/rng';
import { parseInstruction, plainSentences } from './demo_text';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.resolve(ROOT, '../shared/data/tinystories-instruct-1k.jsonl');
const OUT = path.join(ROOT, 'public/demo/stories-mc.jsonl');
const FIRST_ROW = 600;
const PER_KIND = 20;
const CHOICES = 4;

interface Row {
  instruction: string;
  response: string;
  name: string;
  gender: 'girl' | 'boy';
}

/** `k` distinct picks from `pool` other than `exclude`. */
function pick<T>(rng: Rng, pool: T[], exclude: T, k: number): T[] {
  const out: T[] = [];
  const left = pool.filter((x) => x !== exclude);
  while (out.length < k && left.length) out.push(left.splice(rng.int(left.length), 1)[0]);
  if (out.length < k) throw new Error(`make_mc_demo: only ${out.length} distractors for ${String(exclude)}`);
  return out;
}

/** The gold choice at a random position among the distractors. */
function mcRow(rng: Rng, kind: string, question: string, gold: string, distractors: string[]) {
  const answer = rng.int(CHOICES);
  const choices = [...distractors];
  choices.splice(answer, 0, gold);
  return { kind, question, choices, answer };
}

export function makeItems(rows: Row[]): object[] {
  const rng = new Rng(11);
  const names = { girl: [...new Set(rows.filter((r) => r.gender === 'girl').map((r) => r.name))].sort(), boy: [...new Set(rows.filter((r) => r.gender === 'boy').map((r) => r.name))].sort() };
  const items: object[] = [];
  const used = new Set<string>(); // one item per distinct story text and kind

  // name-in-story: cut before the second mention (a whole word after a space)
  let n = 0;
  for (const r of rows) {
    if (n === PER_KIND) break;
    const re = new RegExp(`(?<= )${r.name}\\b`, 'g');
    const hits = [...r.response.split('\n')[0].matchAll(re)];
    if (hits.length < 2 || hits[1].index! > 300 || used.has('n' + r.response)) continue;
    used.add('n' + r.response);
    const question = r.response.slice(0, hits[1].index! - 1);
    items.push(mcRow(rng, 'name-in-story', question, r.name, pick(rng, names[r.gender], r.name, CHOICES - 1)));
    n++;
  }

  // continuation: the true third sentence against other stories' third sentences
  const withThree = rows.filter((r) => plainSentences(r.response).length >= 3);
  const thirds = [...new Set(withThree.map((r) => plainSentences(r.response)[2]))];
  n = 0;
  for (const r of withThree.slice(PER_KIND)) {
    if (n === PER_KIND) break;
    const s = plainSentences(r.response);
    const question = `${s[0]} ${s[1]}`;
    if (!r.response.startsWith(question) || used.has('c' + question)) continue;
    used.add('c' + question);
    items.push(mcRow(rng, 'continuation', question, s[2], pick(rng, thirds, s[2], CHOICES - 1)));
    n++;
  }

  // instruction: the opening that names the requested character
  n = 0;
  const opening = (r: Row, name: string) => `Once upon a time, there was a little ${r.gender} named ${name}.`;
  for (const r of rows.slice(2 * PER_KIND)) {
    if (n === PER_KIND) break;
    if (used.has('i' + r.instruction)) continue;
    used.add('i' + r.instruction);
    items.push(mcRow(rng, 'instruction', r.instruction, opening(r, r.name), pick(rng, names[r.gender], r.name, CHOICES - 1).map((x) => opening(r, x))));
    n++;
  }
  return items;
}

function main(): void {
  if (!fs.existsSync(SOURCE)) throw new Error(`missing ${SOURCE} (see ../shared/README.md)`);
  const rows: Row[] = [];
  fs.readFileSync(SOURCE, 'utf8')
    .split('\n')
    .slice(FIRST_ROW)
    .forEach((line) => {
      if (!line.trim()) return;
      const r = JSON.parse(line) as { instruction: string; response: string };
      const p = parseInstruction(r.instruction);
      if (p) rows.push({ ...r, ...p });
    });
  const items = makeItems(rows);
  const body = items.map((x) => JSON.stringify(x)).join('\n') + '\n';
  if (process.argv.includes('--check')) {
    const same = fs.existsSync(OUT) && fs.readFileSync(OUT, 'utf8') === body;
    console.log(same ? `${OUT}: up to date (${items.length} items)` : `${OUT}: differs from what the script makes`);
    process.exit(same ? 0 : 1);
  }
  fs.writeFileSync(OUT, body);
  console.log(`wrote ${items.length} items to ${OUT}`);
}

main();
