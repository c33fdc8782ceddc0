/**
 * The masks: for every template the labelled tokens decode to the reply (plus
 * the template's end-of-turn text) and end with the trained EOS; everything
 * before is masked and is exactly the generation prompt's tokens.
 */
import { describe, expect, test } from 'vitest';
import type { Conversation } from '../../../src/engine/data/formats';
import { createTemplate } from '../../../src/engine/data/templates';
import { IGNORE_INDEX, promptIds, tokenizeSample } from '../../../src/engine/data/tokenize';
import { BOS_WRITING_JINJA, CHATML_JINJA, conv, storiesTokenizer } from './helpers';

const tok = storiesTokenizer(CHATML_JINJA);
const EOS = 2;


/** Labelled ids, and the masked ids before the first labelled one. */
function split(s: { ids: number[]; labels: number[] }) {
  const first = s.labels.findIndex((l) => l !== IGNORE_INDEX);
  const trained = s.ids.filter((_, i) => s.labels[i] !== IGNORE_INDEX);
  // labels are the ids themselves where trained
  s.labels.forEach((l, i) => l !== IGNORE_INDEX && expect(l).toBe(s.ids[i]));
  return { prompt: s.ids.slice(0, first), trained };
}

describe('plain', () => {
  const t = createTemplate('plain', tok);
  test('exact prompt text, with and without input', () => {
    expect(t.generationPrompt({ instruction: 'Write a story about Amy.' })).toBe('Instruction: Write a story about Amy.\nResponse:');
    expect(t.generationPrompt({ instruction: 'Translate.', input: 'Hallo' })).toBe('Instruction: Translate.\nInput: Hallo\nResponse:');
    expect(t.segments(conv('I', 'R', { input: 'X' }))).toEqual([
      { kind: 'text', text: 'Instruction: I\nInput: X\nResponse:', train: false },
      { kind: 'text', text: ' R', train: true },
      { kind: 'eos' },
    ]);
  });

  test('mask: prompt ids = BOS + encode(prompt); labels = " {response}" then EOS', () => {
    const response = 'Once upon a time, there was a girl named Amy.';
    const s = tokenizeSample(tok, conv('Write a story about Amy.', response), t, 512);
    const { prompt, trained } = split(s);
    expect(prompt).toEqual(promptIds(tok, 'Instruction: Write a story about Amy.\nResponse:'));
    expect(prompt[0]).toBe(tok.bosId);
    expect(trained.at(-1)).toBe(EOS);
    expect(tok.decode(trained.slice(0, -1))).toBe(response);
    expect(tok.decode(trained, false)).toBe(response + '</s>');
    // the whole sequence reads as prompt + completion
    expect(tok.decode(s.ids)).toBe('Instruction: Write a story about Amy.\nResponse: ' + response);
    expect(s.boundaryMerges).toBe(0);
    expect(s.responseTokens).toBe(trained.length);
  });

  test('multi-turn rows are rejected with a reason pointing at chatml/model', () => {
    const c: Conversation = {
      kind: 'conversation',
      turns: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
        { role: 'assistant', content: 'd' },
      ],
    };
    expect(() => t.segments(c)).toThrow(/single-turn; use chatml or model/);
  });

  test('a system prompt goes on its own line before Instruction:', () => {
    expect(t.generationPrompt({ instruction: 'I', system: 'S' })).toBe('S\nInstruction: I\nResponse:');
  });
});

describe('alpaca', () => {
  const t = createTemplate('alpaca', tok);
  test('Stanford Alpaca prompt text', () => {
    expect(t.generationPrompt({ instruction: 'Name a fruit.' })).toBe(
      'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nName a fruit.\n\n### Response:\n',
    );
    expect(t.generationPrompt({ instruction: 'Translate.', input: 'Hallo' })).toBe(
      'Below is an instruction that describes a task, paired with an input that provides further context. ' +
        'Write a response that appropriately completes the request.\n\n' +
        '### Instruction:\nTranslate.\n\n### Input:\nHallo\n\n### Response:\n',
    );
  });

  test('mask: labels = response then EOS', () => {
    const response = 'An apple. <b>Really</b> &amp; truly.';
    const s = tokenizeSample(tok, conv('Name a fruit.', response, { input: 'Be <i>brief</i>.' }), t, 512);
    const { prompt, trained } = split(s);
    expect(prompt).toEqual(promptIds(tok, t.generationPrompt({ instruction: 'Name a fruit.', input: 'Be <i>brief</i>.' })));
    expect(tok.decode(trained, false)).toBe(response + '</s>');
    expect(trained.at(-1)).toBe(EOS);
  });
});

describe('chatml', () => {
  const t = createTemplate('chatml', tok);
  test('text layout', () => {
    expect(t.generationPrompt({ instruction: 'Hi', system: 'Sys' })).toBe(
      '<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(t.stopStrings).toEqual(['<|im_end|>']);
  });

  test('mask: labels = response + <|im_end|> then EOS', () => {
    const s = tokenizeSample(tok, conv('Hi', 'Hello there.', { system: 'Sys' }), t, 512);
    const { prompt, trained } = split(s);
    expect(prompt).toEqual(promptIds(tok, t.generationPrompt({ instruction: 'Hi', system: 'Sys' })));
    expect(tok.decode(trained, false)).toBe('Hello there.<|im_end|></s>');
  });

  test('multi-turn: every assistant turn trained, user turns and scaffolding masked, one EOS at the end', () => {
    const c: Conversation = {
      kind: 'conversation',
      turns: [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A one.' },
        { role: 'user', content: 'Q2' },
        { role: 'assistant', content: 'A two.' },
      ],
    };
    const s = tokenizeSample(tok, c, t, 512);
    const spans: string[] = [];
    let cur: number[] = [];
    s.labels.forEach((l, i) => {
      if (l !== IGNORE_INDEX) cur.push(s.ids[i]);
      else if (cur.length) (spans.push(tok.decode(cur, false)), (cur = []));
    });
    if (cur.length) spans.push(tok.decode(cur, false));
    expect(spans).toEqual(['A one.<|im_end|>', 'A two.<|im_end|></s>']);
    expect(tok.decode(s.ids, false)).toBe(
      '<s> <|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA one.<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\nA two.<|im_end|></s>',
    );
  });
});

describe('history given as context (a TRL prompt\'s earlier replies, train: false)', () => {
  const c: Conversation = {
    kind: 'conversation',
    system: 'S',
    turns: [
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1', train: false },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'A2' },
    ],
  };
  test('chatml: the earlier reply is masked, rendered as any other turn', () => {
    const t = createTemplate('chatml', tok);
    const segs = t.segments(c);
    expect(segs).toEqual([
      {
        kind: 'text',
        text: '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n',
        train: false,
      },
      { kind: 'text', text: 'A2<|im_end|>', train: true },
      { kind: 'eos' },
    ]);
    // the same text as when both replies are trained: only the labels differ
    const trainedBoth = t.segments({ ...c, turns: c.turns.map(({ role, content }) => ({ role, content })) });
    const text = (ss: typeof segs) => ss.map((s) => (s.kind === 'text' ? s.text : '')).join('');
    expect(text(segs)).toBe(text(trainedBoth));
    const { trained } = split(tokenizeSample(tok, c, t, 512));
    expect(tok.decode(trained, false)).toBe('A2<|im_end|></s>');
  });

  test('model: the earlier reply is part of the rendered prompt', () => {
    const t = createTemplate('model', tok);
    expect(t.segments(c)).toEqual([
      {
        kind: 'text',
        text: '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n',
        train: false,
      },
      { kind: 'text', text: 'A2<|im_end|>\n', train: true },
      { kind: 'eos' },
    ]);
  });
});

describe('model (tokenizer chat_template via @huggingface/jinja)', () => {
  const t = createTemplate('model', tok);
  test('generation prompt is the template with add_generation_prompt', () => {
    expect(t.generationPrompt({ instruction: 'Hi' })).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  });

  test('mask: labels = the reply as the template writes it, then EOS', () => {
    const s = tokenizeSample(tok, conv('Hi', 'Hello there.'), t, 512);
    const { prompt, trained } = split(s);
    expect(prompt).toEqual(promptIds(tok, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n'));
    expect(tok.decode(trained, false)).toBe('Hello there.<|im_end|>\n</s>');
  });

  test('multi-turn: boundaries found by incremental rendering', () => {
    const c: Conversation = {
      kind: 'conversation',
      system: 'S',
      turns: [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: 'Q2' },
        { role: 'assistant', content: 'A2' },
      ],
    };
    expect(t.segments(c)).toEqual([
      { kind: 'text', text: '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n', train: false },
      { kind: 'text', text: 'A1<|im_end|>\n', train: true },
      { kind: 'text', text: '<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n', train: false },
      { kind: 'text', text: 'A2<|im_end|>\n', train: true },
      { kind: 'eos' },
    ]);
  });

  test('a template that writes bos_token and eos_token itself: no second BOS, no second EOS', () => {
    const tk = storiesTokenizer(BOS_WRITING_JINJA);
    const mt = createTemplate('model', tk);
    expect(mt.segments(conv('Hi', 'Yo'))).toEqual([
      { kind: 'text', text: '<s>[INST] Hi [/INST]', train: false },
      { kind: 'text', text: ' Yo</s>', train: true },
    ]);
    const s = tokenizeSample(tk, conv('Hi', 'Yo'), mt, 512);
    expect(s.ids.filter((id) => id === 1)).toHaveLength(1);
    expect(s.ids[0]).toBe(1);
    expect(s.ids.at(-1)).toBe(EOS);
    expect(s.ids.filter((id) => id === EOS)).toHaveLength(1);
    const { prompt, trained } = split(s);
    expect(prompt).toEqual(promptIds(tk, mt.generationPrompt({ instruction: 'Hi' })));
    expect(tk.decode(trained, false)).toBe('Yo</s>');
  });

  test('a template that rewrites history is rejected per row', () => {
    // Drops all but the last user message: earlier renders are not prefixes of later ones.
    const tk = storiesTokenizer("{{ messages[-1]['content'] }}{% if add_generation_prompt %}>{% endif %}");
    const mt = createTemplate('model', tk);
    const c: Conversation = {
      kind: 'conversation',
      turns: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: 'c' },
        { role: 'assistant', content: 'd' },
      ],
    };
    expect(() => mt.segments(c)).toThrow(/cannot locate the reply/);
  });

  test('no chat_template: model template refuses', () => {
    expect(() => createTemplate('model', storiesTokenizer())).toThrow(/no chat_template/);
  });
});
