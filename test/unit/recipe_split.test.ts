/**
 * The recipe check's held-out split (bench/recipe_split.ts) on the shared
 * tinystories instructions: every row names someone, held-out names never
 * appear in a training instruction, and the success test reads outputs as
 * the recipe describes.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { followsInstruction, requestedName, splitByName } from '../../bench/recipe_split';
import { sharedPath } from '../helpers/shared';

describe('recipe split', () => {
  it('reads the requested name from each instruction form', () => {
    expect(requestedName('Write a story about a girl named Amy.')).toBe('Amy');
    expect(requestedName('Please write a bedtime story about a boy called Sam.')).toBe('Sam');
    expect(requestedName('Tell me a short story about Lucy the girl.')).toBe('Lucy');
    expect(requestedName('Write a poem.')).toBeNull();
  });

  it('holds out whole names: none of them is asked for in training', () => {
    const rows = fs.readFileSync(sharedPath('data/tinystories-instruct-1k.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.every((r) => requestedName(r.instruction))).toBe(true);
    const s = splitByName(rows, 0.1, 0);
    expect(s.train.length + s.heldOut.length).toBe(rows.length);
    expect(s.heldOut.length).toBeGreaterThanOrEqual(100);
    const trainNames = new Set(s.train.map((r) => requestedName(r.instruction)));
    for (const n of s.heldOutNames) expect(trainNames.has(n)).toBe(false);
    expect(splitByName(rows, 0.1, 0).heldOutNames).toEqual(s.heldOutNames); // deterministic
    expect(splitByName(rows, 0.1, 1).heldOutNames).not.toEqual(s.heldOutNames);
  });

  it('counts an output as following the instruction only if it starts the story and names the character', () => {
    expect(followsInstruction(' Once upon a time, there was a girl named Amy.', 'Amy')).toBe(true);
    expect(followsInstruction('Once upon a time, there was a girl named Amelia.', 'Amy')).toBe(false);
    expect(followsInstruction('Amy went to the park. Once upon a time', 'Amy')).toBe(false);
  });
});
