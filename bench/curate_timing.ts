/** Curate timings (`npx tsx bench/curate_timing.ts`; figures in BENCHMARKS.md, issue 15): near-duplicate search on 5,000 rows (1k shared rows repeated and perturbed), embedding time per 100 distinct prompts, whole curateRows on 5,000 (`--all`), and on 5,000 rows whose prompts are all distinct (`--distinct`). */
import fs from 'node:fs';
import { curateRows, embedPrompts, nearDuplicateGroups, readCurateRows } from '../src/engine/curate';
import { promptIds } from '../src/engine/data';
import { Rng } from '../src/engine/rng';
import { loadStories260K } from '../test/helpers/stories';

const rows = fs.readFileSync(new URL('../../shared/data/tinystories-instruct-1k.jsonl', import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const rng = new Rng(3);
const edit = (t: string, n: number) => { const w = t.split(' '); for (let i = 0; i < n; i++) w[rng.int(w.length)] = ['red', 'big', 'sun', 'cat', 'ran'][rng.int(5)]; return w.join(' '); };
const reorder = (t: string) => { const s = t.split('. '); return [...s.slice(1), s[0]].join('. '); };
const out: string[] = [];
for (const [i, r] of rows.entries()) {
  out.push(JSON.stringify(r));
  out.push(JSON.stringify({ instruction: r.instruction, response: edit(r.response, 2) }));
  out.push(JSON.stringify({ instruction: r.instruction + ' Make it sweet.', response: reorder(r.response) }));
  out.push(JSON.stringify({ instruction: 'Please, ' + r.instruction.toLowerCase(), response: edit(r.response, 15) }));
  out.push(JSON.stringify({ instruction: r.instruction.replace(/story/, 'tale'), response: r.response.slice(0, r.response.length >> 1) + rows[(i + 7) % rows.length].response.slice(rows[(i + 7) % rows.length].response.length >> 1) }));
}
const data = await readCurateRows(out.join('\n'));
console.log(`${data.rows.length} rows, ${new Set(data.rows.map((r) => r.prompt)).size} distinct prompts`);
const texts = data.rows.map((r) => `${r.prompt}\n${r.response}`);
for (let rep = 0; rep < 2; rep++) {
  const t0 = performance.now();
  const nd = nearDuplicateGroups(texts, { threshold: 0.8 });
  console.log(`near-duplicates on ${texts.length} rows: ${((performance.now() - t0) / 1000).toFixed(2)} s, ${nd.groups.length} groups, ${nd.pairs.length} pairs, ${nd.candidates} candidates`);
}
const { model, tok } = await loadStories260K();
const distinct = [...new Set(data.rows.map((r) => r.prompt))].slice(0, 300).map((p) => promptIds(tok, p));
await embedPrompts(model, distinct.slice(0, 16)); // warm-up: compile
for (const n of [100, 200]) {
  const t0 = performance.now();
  await embedPrompts(model, distinct.slice(100, 100 + n));
  const s = (performance.now() - t0) / 1000;
  console.log(`embedding ${n} distinct prompts (mean ${(distinct.slice(100, 100 + n).reduce((a, p) => a + p.length, 0) / n).toFixed(1)} tokens): ${s.toFixed(2)} s = ${((s / n) * 100).toFixed(2)} s per 100`);
}
if (process.argv.includes('--distinct')) {
  // 5,000 rows with 5,000 distinct prompts: the shared Alpaca and TinyStories rows, each prompt also with 1 and 2 words edited (or a word added), kept while distinct
  const alpaca = fs.readFileSync(new URL('../../shared/data/alpaca-1k.jsonl', import.meta.url), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const base = [...alpaca.map((r) => ({ instruction: r.instruction, input: r.input, output: r.output })), ...rows.map((r) => ({ instruction: r.instruction, input: '', output: r.response }))];
  const seen = new Set<string>();
  const more: string[] = [];
  for (let round = 0; more.length < 5000 && round < 20; round++)
    for (const r of base) {
      const instruction = round === 0 ? r.instruction : round % 2 ? edit(r.instruction, 1 + (round >> 1)) : `${r.instruction} ${['Be brief.', 'Thanks.', 'Now.', 'Please.'][round % 4]}`;
      const key = `${instruction}\n${r.input}`;
      if (seen.has(key) || more.length >= 5000) continue;
      seen.add(key);
      more.push(JSON.stringify({ ...r, instruction }));
    }
  const d5 = await readCurateRows(more.join('\n'));
  const tokens = d5.rows.map((r) => promptIds(tok, r.prompt).length);
  console.log(`${d5.rows.length} rows, ${new Set(d5.rows.map((r) => r.prompt)).size} distinct prompts, mean ${(tokens.reduce((a, b) => a + b, 0) / tokens.length).toFixed(1)} prompt tokens (max ${Math.max(...tokens)})`);
  const t0 = performance.now();
  const r = await curateRows(d5.rows, model, tok, { select: 1000 });
  console.log(`curateRows on ${d5.rows.length} distinct-prompt rows: ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(r.seconds)}`);
}
if (process.argv.includes('--all')) {
  const t0 = performance.now();
  const r = await curateRows(data.rows, model, tok, { select: 1000 });
  console.log(`curateRows on ${data.rows.length} rows: ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(r.seconds)}`);
}
process.exit(0);
