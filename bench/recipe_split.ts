/**
 * The held-out split of ../shared/data/tinystories-instruct-1k.jsonl used to
 * check the shared recipe: whole names are held out, so every held-out row
 * asks for a character whose name no training instruction contains.
 */
import { shuffled } from '../src/engine/data/split';

/** The character's name an instruction asks for ("… named Amy.", "… called Sara.", "… about Lucy the girl."), or null. */
export function requestedName(instruction: string): string | null {
  const m = /\b(?:named|called) ([A-Z][a-z]+)\b/.exec(instruction) ?? /\babout ([A-Z][a-z]+) the\b/.exec(instruction);
  return m ? m[1] : null;
}

export interface NameSplit<T> {
  train: T[];
  heldOut: T[];
  heldOutNames: string[];
}

/**
 * Shuffles the distinct names with `seed` and moves whole names to the
 * held-out side until it has at least `fraction` of the rows. Rows whose
 * instruction names nobody stay in training.
 */
export function splitByName<T extends { instruction: string }>(rows: T[], fraction: number, seed: number): NameSplit<T> {
  const names = [...new Set(rows.map((r) => requestedName(r.instruction)).filter((n): n is string => !!n))].sort();
  const held = new Set<string>();
  let count = 0;
  for (const name of shuffled(names, seed)) {
    if (count >= fraction * rows.length) break;
    held.add(name);
    count += rows.filter((r) => requestedName(r.instruction) === name).length;
  }
  const isHeld = (r: T) => held.has(requestedName(r.instruction) ?? '');
  return { train: rows.filter((r) => !isHeld(r)), heldOut: rows.filter(isHeld), heldOutNames: [...held].sort() };
}

/** The recipe's success test: the output starts "Once upon a time" and names the requested character. */
export function followsInstruction(output: string, name: string): boolean {
  return output.trimStart().startsWith('Once upon a time') && new RegExp(`\\b${name}\\b`).test(output);
}
