/** Held-out prompts as saved runs kept them (worker/prompts.ts): strings before HeldOutPrompt, objects since; the text the judge and the report show. */
import { describe, expect, it } from 'vitest';
import { heldOutPrompt, promptText, samePrompt } from '../../src/worker/prompts';

describe('held-out prompts', () => {
  it('reads a run saved with string prompts as instructions alone', () => {
    expect(['Write a story.', { instruction: 'Rewrite this.', input: 'The cat sat.' }].map(heldOutPrompt)).toEqual([{ instruction: 'Write a story.' }, { instruction: 'Rewrite this.', input: 'The cat sat.' }]);
  });

  it('shows the input after a blank line, and compares every field', () => {
    expect(promptText({ instruction: 'Rewrite this.', input: 'The cat sat.' })).toBe('Rewrite this.\n\nThe cat sat.');
    expect(promptText({ instruction: 'Write a story.', system: 'Be kind.' })).toBe('Write a story.');
    expect(samePrompt({ instruction: 'a', input: '' }, { instruction: 'a' })).toBe(true);
    expect(samePrompt({ instruction: 'a', input: 'x' }, { instruction: 'a' })).toBe(false);
    expect(samePrompt({ instruction: 'a', system: 'x' }, { instruction: 'a' })).toBe(false);
  });
});
