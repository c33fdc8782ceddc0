import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { Sample } from '../../../src/engine/data/formats';
import { createTemplate, type Segment } from '../../../src/engine/data/templates';
import { encodeContinuation, IGNORE_INDEX, promptIds, tokenizeSample, tokenizeSegments } from '../../../src/engine/data/tokenize';
import { TextTokenizer } from '../../../src/engine/tokenizer';
import { conv, sharedFile, storiesTokenizer } from './helpers';

const tok = storiesTokenizer();
const EOS = 2;

describe('prompt/reply boundary', () => {
  test('no merge: prompt ids are a prefix of the full ids and are kept as-is', () => {
    const prompt = 'Instruction: Hi\nResponse:';
    const { ids, labels, boundaryMerges } = tokenizeSegments(tok, [
      { kind: 'text', text: prompt, train: false },
      { kind: 'text', text: ' Once upon a time', train: true },
      { kind: 'eos' },
    ]);
    expect(boundaryMerges).toBe(0);
    expect(ids).toEqual([...tok.encodePrompt(prompt + ' Once upon a time'), EOS]);
    const p = promptIds(tok, prompt);
    expect(labels.slice(0, p.length).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(labels.slice(p.length)).toEqual(ids.slice(p.length));
  });

  test('merge across the boundary: prompt keeps its own ids, the reply is tokenized as a continuation', () => {
    // Trailing space in the prompt: alone it ends in "▁"; in the full text "▁" + "Once" merge into "▁Once".
    const prompt = 'Instruction: Hi\nResponse: ';
    const reply = 'Once upon a time';
    const p = promptIds(tok, prompt);
    const full = tok.encodePrompt(prompt + reply);
    expect(full.slice(0, p.length)).not.toEqual(p); // the premise: not a prefix
    expect(tok.idToToken(p.at(-1)!)).toBe('▁');

    const segs: Segment[] = [{ kind: 'text', text: prompt, train: false }, { kind: 'text', text: reply, train: true }, { kind: 'eos' }];
    const { ids, labels, boundaryMerges } = tokenizeSegments(tok, segs);
    expect(boundaryMerges).toBe(1);
    // the masked part is exactly what generation will feed
    expect(ids.slice(0, p.length)).toEqual(p);
    expect(labels.slice(0, p.length).every((l) => l === IGNORE_INDEX)).toBe(true);
    // the trained part decodes to the reply and the EOS, and the whole reads as prompt + reply
    const trained = ids.slice(p.length);
    expect(labels.slice(p.length)).toEqual(trained);
    expect(tok.decode(trained, false)).toBe(reply + '</s>');
    expect(tok.decode(ids)).toBe(prompt + reply);
    // a bare encode of the reply would start a new "document" with an extra "▁"
    expect(tok.decode([...p, ...tok.encode(reply)])).not.toBe(prompt + reply);
  });

  test('encodeContinuation does not add the normalizer\'s leading "▁"', () => {
    expect(tok.encode(' Once').map((i) => tok.idToToken(i))).toEqual(['▁', '▁Once']);
    expect(encodeContinuation(tok, ' Once').map((i) => tok.idToToken(i))).toEqual(['▁Once']);
  });

  test('EOS that the reply already ends with is not doubled (chatml with EOS = <|im_end|>)', () => {
    const tokenizerJson = JSON.parse(fs.readFileSync(sharedFile('models/stories260K-hf/tokenizer.json'), 'utf8'));
    tokenizerJson.added_tokens.push(
      { id: 512, content: '<|im_start|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 513, content: '<|im_end|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    );
    const tk = new TextTokenizer({ tokenizerJson, tokenizerConfig: { bos_token: null, eos_token: '<|im_end|>' } });
    expect(tk.eosIds).toEqual([513]);
    expect(tk.bosId).toBeNull();
    const s = tokenizeSample(tk, conv('Hi', 'Yo'), createTemplate('chatml', tk), 512);
    expect(s.ids[0]).toBe(512); // no BOS
    expect(s.ids.at(-1)).toBe(513);
    expect(s.ids.filter((i) => i === 513)).toHaveLength(2); // user turn's and the reply's, no extra
    const trained = s.ids.filter((_, i) => s.labels[i] !== IGNORE_INDEX);
    expect(tk.decode(trained, false)).toBe('Yo<|im_end|>');
  });
});

describe('plain text samples', () => {
  test('every token after BOS is labelled, EOS appended; HTML kept as text', () => {
    const text = '<p>Once upon a time &amp; <b>then</b></p>';
    const s = tokenizeSample(tok, { kind: 'text', text }, createTemplate('plain', tok), 512);
    expect(s.ids).toEqual([...tok.encodePrompt(text), EOS]);
    expect(s.labels).toEqual([IGNORE_INDEX, ...s.ids.slice(1)]);
    expect(tok.decode(s.ids)).toBe(text);
  });
});

describe('truncation at maxLength', () => {
  const t = createTemplate('plain', tok);
  const sample: Sample = conv('Tell a story.', 'Once upon a time there was a big red dog who liked to run in the park.');
  const full = tokenizeSample(tok, sample, t, 10_000);
  const promptLen = full.labels.findIndex((l) => l !== IGNORE_INDEX);

  test('cuts from the right, keeps the prompt, marks the sample', () => {
    expect(full.truncated).toBe(false);
    const s = tokenizeSample(tok, sample, t, promptLen + 3);
    expect(s.truncated).toBe(true);
    expect(s.ids).toEqual(full.ids.slice(0, promptLen + 3));
    expect(s.labels).toEqual(full.labels.slice(0, promptLen + 3));
    expect(s.responseTokens).toBe(3);
    expect(s.ids.at(-1)).not.toBe(EOS);
  });

  test('exactly fitting is not truncated', () => {
    expect(tokenizeSample(tok, sample, t, full.ids.length).truncated).toBe(false);
  });

  test('a prompt that leaves no room for one reply token is rejected', () => {
    expect(() => tokenizeSample(tok, sample, t, promptLen)).toThrow(/leaves no room for the reply/);
    expect(tokenizeSample(tok, sample, t, promptLen + 1).responseTokens).toBe(1);
  });
});
