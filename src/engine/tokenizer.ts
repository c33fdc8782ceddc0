/**
 * One tokenizer interface for every model layout, on top of
 * `@huggingface/tokenizers` (tokenizer.json). llama2.c's tokenizer.bin is
 * converted to an equivalent tokenizer.json in memory (see io/llama2c_tokenizer.ts), so
 * both layouts tokenize with the same code.
 */
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';

export interface TokenizerFiles {
  /** parsed tokenizer.json */
  tokenizerJson: Record<string, unknown>;
  /** parsed tokenizer_config.json ({} when absent) */
  tokenizerConfig: Record<string, unknown>;
}

export class TextTokenizer {
  private readonly tok: HFTokenizer;
  /** id of the token a prompt starts with (BOS), or null if the model has none or its config says add_bos_token: false */
  readonly bosId: number | null;
  /** ids at which generation stops (tokenizer's eos plus generation_config's list) */
  eosIds: number[];
  readonly vocabSize: number;
  /** Jinja chat template from tokenizer_config.json, if the model has one */
  readonly chatTemplate: string | null;
  /** the tokenizer_config's bos/eos token strings, for chat templates */
  readonly bosToken: string | null;
  readonly eosToken: string | null;

  constructor(files: TokenizerFiles) {
    this.tok = new HFTokenizer(files.tokenizerJson, files.tokenizerConfig);
    const cfg = files.tokenizerConfig;
    const tokenName = (v: unknown): string | null =>
      typeof v === 'string' ? v : v && typeof v === 'object' && 'content' in v ? String((v as { content: unknown }).content) : null;
    this.bosToken = tokenName(cfg.bos_token);
    this.eosToken = tokenName(cfg.eos_token);
    const bos = this.bosToken != null ? this.tok.token_to_id(this.bosToken) : undefined;
    // a config that says add_bos_token: false (SmolLM2's GGUF does) names a BOS token the model never sees first
    this.bosId = cfg.add_bos_token === false ? null : bos ?? null;
    const eos = this.eosToken != null ? this.tok.token_to_id(this.eosToken) : undefined;
    this.eosIds = eos != null ? [eos] : [];
    const model = files.tokenizerJson.model as { vocab?: Record<string, number> | unknown[] } | undefined;
    const vocab = model?.vocab;
    let n = Array.isArray(vocab) ? vocab.length : vocab ? Object.keys(vocab).length : 0;
    for (const t of (files.tokenizerJson.added_tokens as { id: number }[] | undefined) ?? []) n = Math.max(n, t.id + 1);
    this.vocabSize = n;
    this.chatTemplate = typeof cfg.chat_template === 'string' ? cfg.chat_template : null;
  }

  /** Token ids of `text`, without BOS/EOS or any other special token. */
  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token ids as a model expects a prompt: BOS (when the model has one) + encode(text). */
  encodePrompt(text: string): number[] {
    const ids = this.encode(text);
    return this.bosId != null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[], skipSpecial = true): string {
    if (ids.length === 0) return ''; // @huggingface/tokenizers throws on an empty list
    return this.tok.decode(ids, { skip_special_tokens: skipSpecial });
  }

  /** The vocabulary string of one id (for showing tokens one by one). */
  idToToken(id: number): string {
    return this.tok.id_to_token(id) ?? `<${id}>`;
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}
