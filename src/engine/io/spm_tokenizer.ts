/**
 * A SentencePiece BPE vocabulary (pieces with scores, '▁' for spaces,
 * "<0x0A>" byte pieces) as the tokenizer.json HF's LlamaConverter
 * (transformers convert_slow_tokenizer.py) makes of it: BPE with
 * byte_fallback, normalizer Prepend('▁') + Replace(' ' → '▁'), no
 * pre-tokenizer, decoder Replace('▁' → ' ') / ByteFallback / Fuse / Strip(1 left),
 * BOS added by a TemplateProcessing post-processor. Merges come from the
 * vocabulary the way its SentencePieceExtractor derives them: every split of
 * a piece into two vocab pieces, ordered by the merged piece's score
 * (descending; ties keep vocab order, parts by their ids). SentencePiece's
 * encoder merges the adjacent pair with the highest-scoring concatenation,
 * which that merge order reproduces. Used for llama2.c's tokenizer.bin and
 * GGUF's `tokenizer.ggml.model = "llama"`.
 */
export const SPACE_MARK = '\u2581'; // '▁', sentencepiece's whitespace symbol

export interface Piece {
  piece: string;
  score: number;
}

/** HF SentencePieceExtractor.extract: all (left, right) splits of each piece into two vocab pieces. */
function deriveMerges(pieces: Piece[], vocab: Map<string, number>): [string, string][] {
  const merges: { left: string; right: string; score: number }[] = [];
  for (const { piece, score } of pieces) {
    const chars = Array.from(piece); // Python slices by code point, not UTF-16 unit
    const local: { left: string; right: string; score: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (vocab.has(left) && vocab.has(right)) local.push({ left, right, score });
    }
    local.sort((a, b) => vocab.get(a.left)! - vocab.get(b.left)! || vocab.get(a.right)! - vocab.get(b.right)!);
    merges.push(...local);
  }
  merges.sort((a, b) => b.score - a.score); // stable, like Python's sorted(reverse=True)
  return merges.map((m) => [m.left, m.right]);
}

/**
 * tokenizer.json of a SentencePiece vocabulary. `special` are the control
 * pieces kept whole (unk, BOS, EOS, ...); `bos` (a piece) is added in front
 * by the post-processor, as HF's Llama tokenizer does, or null for none.
 */
export function sentencepieceTokenizerJson(
  pieces: Piece[],
  vocab: Map<string, number>,
  special: { id: number; content: string }[],
  unk: string | null,
  bos: string | null,
): Record<string, unknown> {
  const added = special.map(({ id, content }) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  const bosId = bos != null ? vocab.get(bos) : undefined;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE_MARK }, // sentencepiece's dummy prefix
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK },
      ],
    },
    pre_tokenizer: null,
    post_processor:
      bos != null && bosId !== undefined
        ? {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [
              { SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
              { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
            ],
            special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
          }
        : null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges: deriveMerges(pieces, vocab),
    },
  };
}
