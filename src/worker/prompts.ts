/**
 * Held-out prompts (protocol.ts HeldOutPrompt): what a row's prompt is made
 * of, how old saved runs read, and how a prompt reads as one text.
 */
import type { HeldOutPrompt } from './protocol';

/** A prompt as saved: runs saved before HeldOutPrompt existed kept the instruction alone, a string. */
export function heldOutPrompt(saved: string | HeldOutPrompt): HeldOutPrompt {
  return typeof saved === 'string' ? { instruction: saved } : saved;
}

/** The instruction with its input after a blank line (as the chat templates write it): the judge's [Instruction], the report's and the samples' text. */
export function promptText(p: HeldOutPrompt): string {
  return p.input ? `${p.instruction}\n\n${p.input}` : p.instruction;
}

/** Whether two prompts are the same request (the token-shift view matches the last comparison by it). */
export function samePrompt(a: HeldOutPrompt, b: HeldOutPrompt): boolean {
  return a.instruction === b.instruction && (a.input ?? '') === (b.input ?? '') && (a.system ?? '') === (b.system ?? '');
}
