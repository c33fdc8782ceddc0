/**
 * The real model judge (modelJudge in src/engine/eval/judge.ts) on stories260K:
 * the judge prompt goes through the model's template (plain: stories260K has
 * no chat template) and greedy generation, and the replies are parsed. The
 * model is not instruction-tuned, so its verdicts are expected to be
 * unparsed; this proves the path, not the judging (that is test/unit/judge.test.ts).
 */
import { beforeAll, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate';
import { promptIds } from '../../src/engine/data/tokenize';
import { judgePairs, judgePrompt, judgeTemplate, modelJudge, renderJudgePrompt } from '../../src/engine/eval/judge';
import type { LlamaModel } from '../../src/engine/model';
import type { TextTokenizer } from '../../src/engine/tokenizer';
import { loadStories260K } from '../helpers/stories';

let model: LlamaModel;
let tok: TextTokenizer;
beforeAll(async () => {
  ({ model, tok } = await loadStories260K());
});

const pairs = [
  { instruction: 'Write a story about a girl named Amy.', a: 'Once upon a time, there was a girl named Amy. She liked to play.', b: 'Tom had a red ball.' },
  { instruction: 'Write a story about a dog.', a: 'The dog ran.', b: 'Once upon a time, there was a big dog.' },
];

it('renders the judge prompt through the template and generates greedily', async () => {
  const tpl = judgeTemplate(tok);
  expect(tpl.id).toBe('plain');
  const maxNewTokens = 16;
  const judge = modelJudge(model, tok, { maxNewTokens });
  const prompt = judgePrompt(pairs[0].instruction, pairs[0].a, pairs[0].b);
  const text = renderJudgePrompt(tpl, prompt);
  expect(text.startsWith(`${prompt.system}\nInstruction: [Instruction]\n`)).toBe(true);
  expect(text.endsWith('\nResponse:')).toBe(true);
  const ids = promptIds(tok, text);
  console.log(`judge prompt: ${ids.length} tokens of ${model.config.maxPositions}`);
  // the judge's reply is exactly greedy generation on the rendered prompt
  const direct = await generate(model, ids, { maxNewTokens, temperature: 0, stopIds: tok.eosIds });
  const reply = await judge(prompt);
  console.log(`judge reply: ${JSON.stringify(reply)}`);
  expect(reply).toBe(tok.decode(direct.ids));
});

it('judges pairs in both orders; the base model gives no parseable verdict', async () => {
  const judge = modelJudge(model, tok, { maxNewTokens: 16 });
  const progress: number[] = [];
  const r = await judgePairs(judge, pairs, { onProgress: (p) => progress.push(p.done) });
  for (const v of r.verdicts) console.log(`ab ${JSON.stringify(v.ab.raw)} | ba ${JSON.stringify(v.ba.raw)} -> ${v.outcome}`);
  expect(progress).toEqual([1, 2, 3, 4]);
  expect(r.verdicts.every((v) => v.ab.raw.length > 0 && v.ba.raw.length > 0)).toBe(true);
  expect([r.unparsed, r.unparsedReplies, r.n, r.winRate]).toEqual([2, 4, 0, null]);
});

it('says so when the judge prompt does not fit the context', async () => {
  const judge = modelJudge(model, tok);
  const long = 'Once upon a time '.repeat(60);
  await expect(judge(judgePrompt('Write a story.', long, long))).rejects.toThrow(/context is 512/);
});
