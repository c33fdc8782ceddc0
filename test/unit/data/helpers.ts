/** Tokenizers and fixture paths for the data tests. */
import fs from 'node:fs';
import path from 'node:path';
import type { Conversation } from '../../../src/engine/data/formats';
import { TextTokenizer } from '../../../src/engine/tokenizer';

const SHARED = path.resolve(__dirname, '../../../../shared');

export function sharedFile(rel: string): string {
  const p = path.join(SHARED, rel);
  if (!fs.existsSync(p)) throw new Error(`missing shared fixture ${p} (tests need ../shared beside the repository; see ../shared/README.md)`);
  return p;
}

const readJson = (rel: string) => JSON.parse(fs.readFileSync(sharedFile(rel), 'utf8')) as Record<string, unknown>;

/** A ChatML-style chat template, as SmolLM2/Qwen-instruct ship it (minus their default system prompt). */
export const CHATML_JINJA =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A Llama-2-like template that writes bos_token itself. */
export const BOS_WRITING_JINJA =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% else %}{{ ' ' + message['content'] + eos_token }}{% endif %}{% endfor %}";

/** stories260K's tokenizer (BOS <s> = 1, EOS </s> = 2, SentencePiece-style "▁" prepend, byte fallback). */
export function storiesTokenizer(chatTemplate?: string): TextTokenizer {
  const tokenizerConfig = readJson('models/stories260K-hf/tokenizer_config.json');
  if (chatTemplate) tokenizerConfig.chat_template = chatTemplate;
  return new TextTokenizer({ tokenizerJson: readJson('models/stories260K-hf/tokenizer.json'), tokenizerConfig });
}

export const bytes = (s: string) => new TextEncoder().encode(s);

/** Split bytes into chunks of `size` to exercise line handling across chunk borders. */
export async function* chunked(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.slice(i, i + size);
}

/** A one-exchange conversation: the user's instruction and the assistant's reply (plus any other fields). */
export const conv = (instruction: string, response: string, extra: Partial<Conversation> = {}): Conversation => ({
  kind: 'conversation',
  turns: [
    { role: 'user', content: instruction },
    { role: 'assistant', content: response },
  ],
  ...extra,
});
