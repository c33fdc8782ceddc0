/**
 * llama2.c `tokenizer.bin` → an in-memory Hugging Face `tokenizer.json` +
 * `tokenizer_config.json`, so llama2.c models tokenize through the same
 * `TextTokenizer` as every other model.
 *
 * Format (llama2.c tokenizer.py `export`, read by run.c build_tokenizer),
 * little-endian:
 *   int32 max_token_length
 *   per token id 0..vocab-1: f32 score, int32 len, len bytes of UTF-8
 * The exporter writes sentencepiece pieces with '▁' replaced by ' ', and BOS /
 * EOS as "\n<s>\n" / "\n</s>\n". Byte-fallback pieces stay "<0x00>".."<0xFF>".
 *
 * The pieces and scores become the same tokenizer.json HF's LlamaConverter
 * makes from a sentencepiece model (spm_tokenizer.ts).
 */
import type { TokenizerFiles } from '../tokenizer';
import { SPACE_MARK, sentencepieceTokenizerJson, type Piece } from './spm_tokenizer';
import { LoadError } from './weights';

/** Reads every record of a tokenizer.bin; the format has no count, so it runs to the end of the file. */
function readPieces(bytes: Uint8Array, fileName: string): { maxTokenLength: number; pieces: Piece[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) {
    throw new LoadError(fileName, `is ${bytes.byteLength} bytes; a llama2.c tokenizer.bin starts with a 4-byte max_token_length`);
  }
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) {
    throw new LoadError(fileName, `max_token_length is ${maxTokenLength}; not a llama2.c tokenizer.bin`);
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const pieces: Piece[] = [];
  let off = 4;
  while (off < bytes.byteLength) {
    const id = pieces.length;
    if (off + 8 > bytes.byteLength) {
      throw new LoadError(fileName, `is cut short: token ${id} needs an 8-byte (score, length) record at byte ${off}, but the file is ${bytes.byteLength} bytes`);
    }
    const score = view.getFloat32(off, true);
    const len = view.getInt32(off + 4, true);
    off += 8;
    if (len < 0 || len > maxTokenLength) {
      throw new LoadError(fileName, `token ${id} has length ${len}, outside 0..max_token_length ${maxTokenLength}; the file is corrupt`);
    }
    if (off + len > bytes.byteLength) {
      throw new LoadError(fileName, `is cut short: token ${id} needs ${len} bytes at byte ${off}, but the file is ${bytes.byteLength} bytes`);
    }
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(off, off + len));
    } catch {
      throw new LoadError(fileName, `token ${id} is not valid UTF-8`);
    }
    off += len;
    pieces.push({ piece: text, score });
  }
  return { maxTokenLength, pieces };
}

/** Undoes the exporter's rewriting: ' ' → '▁', "\n<s>\n" → "<s>", "\n</s>\n" → "</s>". */
function toSentencepiece(text: string): string {
  if (text === '\n<s>\n') return '<s>';
  if (text === '\n</s>\n') return '</s>';
  return text.replaceAll(' ', SPACE_MARK);
}

/**
 * Converts a llama2.c tokenizer.bin into tokenizer.json / tokenizer_config.json.
 * `vocabSize` is the checkpoint's; the file must hold exactly that many tokens.
 * `checkpointName` names the model file in the mismatch message.
 */
export function parseLlama2cTokenizer(
  bytes: Uint8Array,
  vocabSize: number,
  fileName: string,
  checkpointName = 'the checkpoint',
): TokenizerFiles {
  const { pieces: raw } = readPieces(bytes, fileName);
  if (raw.length !== vocabSize) {
    throw new LoadError(
      fileName,
      `holds ${raw.length} tokens but ${checkpointName} has vocab_size ${vocabSize}; this tokenizer.bin does not belong to that model`,
    );
  }
  const pieces = raw.map(({ piece, score }) => ({ piece: toSentencepiece(piece), score }));
  const vocab = new Map<string, number>();
  pieces.forEach(({ piece }, id) => {
    if (vocab.has(piece)) throw new LoadError(fileName, `token ${id} ${JSON.stringify(piece)} repeats token ${vocab.get(piece)}`);
    vocab.set(piece, id);
  });
  for (const [id, want] of [[0, '<unk>'], [1, '<s>'], [2, '</s>']] as const) {
    if (pieces[id]?.piece !== want) {
      throw new LoadError(fileName, `token ${id} is ${JSON.stringify(pieces[id]?.piece)}, expected ${JSON.stringify(want)} (llama2.c sentencepiece layout: 0 <unk>, 1 BOS, 2 EOS)`);
    }
  }
  const tokenizerJson = sentencepieceTokenizerJson(pieces, vocab, [
    { id: 0, content: '<unk>' },
    { id: 1, content: '<s>' },
    { id: 2, content: '</s>' },
  ], '<unk>', '<s>');
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false,
    legacy: true,
  };
  return { tokenizerJson, tokenizerConfig };
}
