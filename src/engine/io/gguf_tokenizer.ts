/**
 * A GGUF's tokenizer (`tokenizer.ggml.*` metadata, llama.cpp's names) as the
 * tokenizer.json + tokenizer_config.json every other model has, so it runs
 * through the same TextTokenizer (@huggingface/tokenizers).
 *
 * - `tokenizer.ggml.model = "gpt2"`: byte-level BPE with the file's merges,
 *   as transformers' GGUF loader builds it (gguf_tokenizer_mapping.py
 *   byte_level_tokenizer: GPT2Tokenizer(vocab, merges)); a token that uses a
 *   character outside the byte alphabet is respelled through its UTF-8 bytes.
 *   The pre-tokenizer follows `tokenizer.ggml.pre` as the model's own
 *   tokenizer.json has it: "smollm" (SmolLM/SmolLM2, StarCoder) splits digits
 *   one by one before GPT-2's regex, "qwen2" uses Qwen2's regex with NFC,
 *   "llama-bpe" Llama 3's; any other uses GPT-2's regex (transformers does the
 *   same). Where transformers lacks an entry (e.g. "smollm") the ids agree
 *   when the vocabulary has no merge the split would block: SmolLM2 has no
 *   merge involving a digit, and test/peers/gguf_transformers.test.ts
 *   compares 200 strings.
 * - `tokenizer.ggml.model = "llama"`: SentencePiece with scores, as HF's
 *   LlamaConverter builds it (spm_tokenizer.ts).
 * Token types (llama.cpp llama_token_type): 3 = control, kept whole as a
 * special token; 4 = user-defined, kept whole but not special.
 * BOS: prepended when `tokenizer.ggml.add_bos_token` says so (default: yes
 * for SentencePiece, no for gpt2, as transformers reads these files).
 */
import type { TokenizerFiles } from '../tokenizer';
import type { GgufValue } from './gguf';
import { sentencepieceTokenizerJson, type Piece } from './spm_tokenizer';
import { LoadError } from './weights';

const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

/** normalizer and pre-tokenizer of a byte-level vocabulary, by `tokenizer.ggml.pre` (llama.cpp's names). */
function byteLevelPre(pre: string | undefined): { normalizer: unknown; pre_tokenizer: unknown } {
  switch (pre) {
    case 'smollm': case 'starcoder': case 'refact': case 'codeshell':
      return { normalizer: null, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] } };
    case 'qwen2': case 'deepseek-r1-qwen':
      return { normalizer: { type: 'NFC' }, pre_tokenizer: { type: 'Sequence', pretokenizers: [split(QWEN2_REGEX), byteLevel(false)] } };
    case 'llama-bpe': case 'llama3': case 'llama-v3': case 'smaug-bpe': case 'falcon3':
      return { normalizer: null, pre_tokenizer: { type: 'Sequence', pretokenizers: [split(LLAMA3_REGEX), byteLevel(false)] } };
    default:
      return { normalizer: null, pre_tokenizer: { type: 'Sequence', pretokenizers: [split(GPT2_REGEX), byteLevel(false)] } };
  }
}

/** GPT-2's byte → printable character table (bytes_to_unicode). */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i])));
  return out;
}

function strings(v: GgufValue | undefined, key: string, file: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new LoadError(file, `metadata "${key}" is missing or not an array of strings`);
  return v as string[];
}

function numbers(v: GgufValue | undefined, key: string, n: number, file: string): number[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number')) throw new LoadError(file, `metadata "${key}" is not an array of ${n} numbers`);
  return v as number[];
}

/** The tokenizer files of a GGUF's metadata. `file` names it in errors. */
export function ggufTokenizer(meta: Map<string, GgufValue>, file: string): TokenizerFiles {
  const kind = meta.get('tokenizer.ggml.model');
  const tokens = strings(meta.get('tokenizer.ggml.tokens'), 'tokenizer.ggml.tokens', file);
  const types = numbers(meta.get('tokenizer.ggml.token_type'), 'tokenizer.ggml.token_type', tokens.length, file);
  const id = (key: string): number | null => {
    const v = meta.get(`tokenizer.ggml.${key}`);
    if (v === undefined) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= tokens.length) throw new LoadError(file, `metadata "tokenizer.ggml.${key}" is ${JSON.stringify(v)}, not a token id below ${tokens.length}`);
    return v;
  };
  const bos = id('bos_token_id');
  const eos = id('eos_token_id');
  const unk = id('unknown_token_id');
  const pad = id('padding_token_id');
  const control = types ? tokens.map((t, i) => ({ id: i, content: t })).filter((_, i) => types[i] === 3) : [];
  const userDefined = types ? tokens.map((t, i) => ({ id: i, content: t })).filter((_, i) => types[i] === 4) : [];
  const template = meta.get('tokenizer.chat_template');

  let tokenizerJson: Record<string, unknown>;
  let addBosDefault: boolean;
  if (kind === 'gpt2') {
    const spelling = bytesToUnicode();
    const alphabet = new Set(spelling);
    const enc = new TextEncoder();
    const vocab: Record<string, number> = {};
    tokens.forEach((t, i) => {
      const spelled = Array.from(t).every((ch) => alphabet.has(ch)) ? t : Array.from(enc.encode(t), (b) => spelling[b]).join('');
      vocab[spelled] = i;
    });
    const merges = strings(meta.get('tokenizer.ggml.merges'), 'tokenizer.ggml.merges', file);
    const added = [
      ...control.filter((t) => Array.from(t.content).every((ch) => alphabet.has(ch))).map((t) => ({ ...t, special: true })),
      ...userDefined.map((t) => ({ ...t, special: false })),
    ].map((t) => ({ id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.special }));
    const pre = meta.get('tokenizer.ggml.pre');
    tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: added,
      ...byteLevelPre(typeof pre === 'string' ? pre : undefined),
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
        fuse_unk: false, byte_fallback: false, ignore_merges: false,
        vocab,
        merges: merges.map((m) => {
          const at = m.indexOf(' ', 1);
          if (at < 0) throw new LoadError(file, `merge ${JSON.stringify(m)} in "tokenizer.ggml.merges" has no space between its two parts`);
          return [m.slice(0, at), m.slice(at + 1)];
        }),
      },
    };
    addBosDefault = false;
  } else if (kind === 'llama') {
    const scores = numbers(meta.get('tokenizer.ggml.scores'), 'tokenizer.ggml.scores', tokens.length, file);
    if (!scores) throw new LoadError(file, 'metadata "tokenizer.ggml.scores" is missing: a SentencePiece ("llama") vocabulary needs its scores');
    const pieces: Piece[] = tokens.map((piece, i) => ({ piece, score: scores[i] }));
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (!vocab.has(t)) vocab.set(t, i);
    });
    const special = [...control, ...(unk != null && !control.some((c) => c.id === unk) ? [{ id: unk, content: tokens[unk] }] : [])].sort((a, b) => a.id - b.id);
    tokenizerJson = sentencepieceTokenizerJson(pieces, vocab, special, unk != null ? tokens[unk] : null, null);
    addBosDefault = true;
  } else {
    throw new LoadError(file, `tokenizer.ggml.model is ${JSON.stringify(kind)}; "gpt2" (byte-level BPE) and "llama" (SentencePiece) are read`);
  }

  const addBos = meta.get('tokenizer.ggml.add_bos_token');
  const tokenizerConfig: Record<string, unknown> = {
    bos_token: bos != null ? tokens[bos] : null,
    eos_token: eos != null ? tokens[eos] : null,
    unk_token: unk != null ? tokens[unk] : null,
    pad_token: pad != null ? tokens[pad] : null,
    add_bos_token: typeof addBos === 'boolean' ? addBos : addBosDefault,
    add_eos_token: meta.get('tokenizer.ggml.add_eos_token') === true,
  };
  if (typeof template === 'string') tokenizerConfig.chat_template = template;
  return { tokenizerJson, tokenizerConfig };
}
