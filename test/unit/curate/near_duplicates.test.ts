/**
 * MinHash + LSH near-duplicate groups against exact Jaccard on a planted set:
 * distinct rows, light paraphrases (a few words edited), reorderings
 * (sentences moved), case/punctuation changes, and heavier edits that land
 * below the threshold. Every pair at or above the threshold must be found
 * (recall ≥ 0.95; the S-curve makes it ≈ 1) and no group may hold a row
 * without a partner at or above the threshold in it.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/engine/rng';
import { candidateProbability, chooseBands, jaccard, nearDuplicateGroups, shingleSet, words } from '../../../src/engine/curate/near_duplicates';

/** A vocabulary of made-up words, so distinct rows share few shingles by construction. */
function vocabulary(rng: Rng, size: number): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: size }, () => Array.from({ length: 3 + rng.int(6) }, () => letters[rng.int(26)]).join(''));
}

/** Sentences of 6–12 words from a Zipf-ish vocabulary (common words recur across rows, as in real text). */
function story(rng: Rng, vocab: string[]): string[][] {
  const pick = () => vocab[Math.floor(vocab.length * rng.next() ** 2)];
  return Array.from({ length: 6 + rng.int(6) }, () => Array.from({ length: 6 + rng.int(7) }, pick));
}

const render = (sentences: string[][]) => sentences.map((s) => s.join(' ') + '.').join(' ');

/** Replace, delete or insert `edits` words at random places. */
function edit(rng: Rng, sentences: string[][], edits: number, vocab: string[]): string[][] {
  const out = sentences.map((s) => [...s]);
  for (let e = 0; e < edits; e++) {
    const s = out[rng.int(out.length)];
    const at = rng.int(s.length);
    const op = rng.int(3);
    if (op === 0) s[at] = vocab[rng.int(vocab.length)];
    else if (op === 1 && s.length > 2) s.splice(at, 1);
    else s.splice(at, 0, vocab[rng.int(vocab.length)]);
  }
  return out;
}

/** Move one sentence elsewhere (a reordering: only the shingles across its two boundaries change). */
function reorder(rng: Rng, sentences: string[][]): string[][] {
  const out = [...sentences];
  const [s] = out.splice(rng.int(out.length), 1);
  out.splice(rng.int(out.length + 1), 0, s);
  return out;
}

function plantedSet(seed: number): string[] {
  const rng = new Rng(seed);
  const vocab = vocabulary(rng, 3000);
  const texts: string[] = [];
  for (let f = 0; f < 60; f++) {
    const base = story(rng, vocab);
    texts.push(render(base));
    const kind = f % 6;
    if (kind === 0) texts.push(render(edit(rng, base, 1 + rng.int(3), vocab))); // light paraphrase
    if (kind === 1) texts.push(render(reorder(rng, base)), render(reorder(rng, edit(rng, base, 1, vocab)))); // reorderings
    if (kind === 2) texts.push(render(base).toUpperCase().replace(/\./g, '!'), render(edit(rng, base, 2, vocab))); // case and punctuation
    if (kind === 3) texts.push(render(edit(rng, base, 8 + rng.int(10), vocab))); // heavier edits: around or below 0.8
    if (kind === 4) texts.push(render(base.slice(0, Math.ceil(base.length / 2)))); // half the text: Jaccard ≈ 0.5
    // kind 5: a distinct row with no relative
  }
  // shuffle, so relatives are not neighbours
  for (let i = texts.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [texts[i], texts[j]] = [texts[j], texts[i]];
  }
  return texts;
}

function exactPairs(texts: string[], threshold: number) {
  const sets = texts.map((t) => shingleSet(t));
  const above: [number, number][] = [];
  let below = 0;
  for (let a = 0; a < texts.length; a++)
    for (let b = a + 1; b < texts.length; b++) {
      const j = jaccard(sets[a], sets[b]);
      if (j >= threshold) above.push([a, b]);
      else if (j >= threshold - 0.3) below++;
    }
  return { sets, above, below };
}

describe('near-duplicates: MinHash + LSH against exact Jaccard', () => {
  it('words and shingles normalise case and punctuation', () => {
    expect(words('Hello, World!  it\'s 3pm…')).toEqual(['hello', 'world', 'it', 's', '3pm']);
    expect(shingleSet('Hello, world! How are you?')).toEqual(shingleSet('hello world how ARE you'));
    expect(shingleSet('a b c d').length).toBe(2); // "a b c", "b c d"
    expect(shingleSet('two words').length).toBe(1); // shorter than a shingle: one shingle
    expect(shingleSet('  ,, ').length).toBe(0);
    expect(jaccard(shingleSet('a b c d'), shingleSet('a b c e'))).toBeCloseTo(1 / 3);
  });

  it('bands are chosen from the S-curve: ≥ 0.99 at the threshold', () => {
    expect(chooseBands(0.8, 128)).toEqual({ bands: 21, rows: 6 });
    for (const t of [0.5, 0.7, 0.8, 0.9, 0.95]) {
      const { bands, rows } = chooseBands(t, 128);
      expect(bands * rows).toBeLessThanOrEqual(128);
      expect(candidateProbability(t, bands, rows)).toBeGreaterThanOrEqual(0.99);
      // the next longer band would miss the recall target
      const b2 = Math.floor(128 / (rows + 1));
      expect(candidateProbability(t, b2, rows + 1)).toBeLessThan(0.99);
      console.log(`threshold ${t}: ${bands} bands × ${rows} rows; P(candidate) at t: ${candidateProbability(t, bands, rows).toFixed(4)}, at t−0.3: ${candidateProbability(t - 0.3, bands, rows).toFixed(4)}`);
    }
  });

  for (const threshold of [0.8, 0.6]) {
    it(`planted set at threshold ${threshold}: recall ≥ 0.95, no false groups`, () => {
      for (const seed of [1, 2, 3]) {
        const texts = plantedSet(seed);
        const { sets, above, below } = exactPairs(texts, threshold);
        const r = nearDuplicateGroups(texts, { threshold, seed });
        const groupOf = new Map<number, number>();
        r.groups.forEach((g, k) => g.forEach((i) => groupOf.set(i, k)));

        // recall: pairs at or above the threshold end up in one group
        const found = above.filter(([a, b]) => groupOf.has(a) && groupOf.get(a) === groupOf.get(b)).length;
        const recall = above.length ? found / above.length : 1;
        // and the confirmed pairs are exactly the exact-Jaccard pairs LSH proposed
        for (const p of r.pairs) expect(jaccard(sets[p.a], sets[p.b])).toBeGreaterThanOrEqual(threshold);

        // no false group: within each group, the edges J ≥ threshold connect every member
        for (const g of r.groups) {
          expect(g.length).toBeGreaterThanOrEqual(2);
          const reached = new Set([g[0]]);
          for (let grew = true; grew; ) {
            grew = false;
            for (const i of g) {
              if (reached.has(i)) continue;
              if ([...reached].some((j) => jaccard(sets[i], sets[j]) >= threshold)) reached.add(i), (grew = true);
            }
          }
          expect(reached.size, `group ${g} holds rows with no partner at or above ${threshold}`).toBe(g.length);
        }
        console.log(
          `seed ${seed}, threshold ${threshold}: ${texts.length} rows, ${above.length} pairs ≥ t (${below} more within 0.3 below), ${r.groups.length} groups, ` +
            `recall ${recall.toFixed(3)}, ${r.candidates} candidate pairs of ${(texts.length * (texts.length - 1)) / 2}`,
        );
        expect(above.length).toBeGreaterThan(20); // the planted set does plant pairs at the threshold
        expect(below).toBeGreaterThan(5); // ... and pairs just below it
        expect(recall).toBeGreaterThanOrEqual(0.95);
      }
    });
  }

  it('is deterministic for a seed, and the groups are listed in row order', () => {
    const texts = plantedSet(7);
    const a = nearDuplicateGroups(texts, { seed: 5 });
    const b = nearDuplicateGroups(texts, { seed: 5 });
    expect(a).toEqual(b);
    for (const g of a.groups) expect([...g].sort((x, y) => x - y)).toEqual(g);
    expect(a.groups.map((g) => g[0])).toEqual([...a.groups.map((g) => g[0])].sort((x, y) => x - y));
  });

  it('groups exact repeats and leaves rows without words alone', () => {
    const r = nearDuplicateGroups(['the cat sat on the mat', '', 'THE CAT SAT ON THE MAT!', '...', 'a dog ran far away today']);
    expect(r.groups).toEqual([[0, 2]]);
    expect(() => nearDuplicateGroups(['x'], { threshold: 0 })).toThrow(/threshold/);
  });
});
