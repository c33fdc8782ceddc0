/** Reading the demo stories (../shared/data/tinystories-instruct-1k.jsonl) for the demo sets the bench scripts make. */

/** The requested name and gender of an instruction such as "Tell me a short story about Max the boy." */
export function parseInstruction(instruction: string): { name: string; gender: 'girl' | 'boy' } | null {
  const m = /(girl|boy) (?:named|called) ([A-Z][a-z]+)\b/.exec(instruction) ?? /about ([A-Z][a-z]+) the (girl|boy)\b/.exec(instruction);
  if (!m) return null;
  return m[1] === 'girl' || m[1] === 'boy' ? { gender: m[1], name: m[2] } : { name: m[1], gender: m[2] as 'girl' | 'boy' };
}

/** Sentences of the story's first paragraph that end in . ! or ? and hold no quotes. */
export function plainSentences(text: string): string[] {
  const para = text.split('\n')[0];
  return para.split(/(?<=[.!?]) +/).filter((s) => /[.!?]$/.test(s) && !/["“”]/.test(s));
}

