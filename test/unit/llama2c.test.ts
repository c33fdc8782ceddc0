/**
 * llama2.c loader: the stories260K checkpoint must come out bit-identical to
 * the HF safetensors of the same weights (proving the q/k RoPE permutation),
 * its tokenizer.bin must tokenize like the HF tokenizer.json and like
 * llama2.c's own encoder (run.c `encode`, ported below), and bad files must
 * give LoadErrors that name the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromHF } from '../../src/engine/config';
import { loadLlama2c, parseLlama2cCheckpoint, permuteRopeRows } from '../../src/engine/io/llama2c';
import { parseLlama2cTokenizer } from '../../src/engine/io/llama2c_tokenizer';
import { LoadError, type HostTensor } from '../../src/engine/io/weights';
import { TextTokenizer } from '../../src/engine/tokenizer';

const SHARED = resolve(__dirname, '../../../shared');

function shared(path: string): Uint8Array {
  const full = resolve(SHARED, path);
  if (!existsSync(full)) throw new Error(`missing shared fixture ${full} (see ../shared/README.md)`);
  return new Uint8Array(readFileSync(full));
}

/** Minimal safetensors reader: u64 LE header length, JSON header, raw data (F32 only here). */
function readSafetensors(bytes: Uint8Array): Map<string, HostTensor> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out = new Map<string, HostTensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    expect(t.dtype, name).toBe('F32');
    const [a, b] = t.data_offsets;
    const copy = bytes.slice(8 + n + a, 8 + n + b);
    out.set(name, { shape: t.shape, data: new Float32Array(copy.buffer) });
  }
  return out;
}

/** Bitwise equality of two f32 arrays; returns the first differing index or -1. */
function firstBitDiff(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return ua.length === ub.length ? -1 : ua.length;
}

function expectLoadError(fn: () => unknown, file: string, ...parts: (string | RegExp)[]): LoadError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a LoadError').toBeInstanceOf(LoadError);
  const le = err as LoadError;
  expect(le.file).toBe(file);
  expect(le.message).toContain(file);
  for (const p of parts) expect(le.message).toMatch(p);
  return le;
}

// ---------------------------------------------------------------- checkpoint

describe('parseLlama2cCheckpoint on stories260K', () => {
  const { config, weights } = parseLlama2cCheckpoint(shared('models/stories260K/stories260K.bin'), 'stories260K.bin');
  const hf = readSafetensors(shared('models/stories260K-hf/model.safetensors'));

  it('produces exactly the HF tensors, bit for bit (q/k rows permuted as HF does)', () => {
    expect([...weights.keys()].sort()).toEqual([...hf.keys()].sort());
    for (const [name, ref] of hf) {
      const got = weights.get(name)!;
      expect(got.shape, name).toEqual(ref.shape);
      expect(got.data.length, name).toBe(ref.data.length);
      expect(firstBitDiff(got.data, ref.data), `${name}: first differing element`).toBe(-1);
    }
  });

  it('matches the HF config.json + generation_config.json', () => {
    const cfg = JSON.parse(new TextDecoder().decode(shared('models/stories260K-hf/config.json')));
    const gen = JSON.parse(new TextDecoder().decode(shared('models/stories260K-hf/generation_config.json')));
    expect(config).toEqual(configFromHF(cfg, gen));
    expect(config.eosTokenIds).toEqual([2, 1]);
    expect(config.tieWordEmbeddings).toBe(true);
  });
});

// ---------------------------------------------- tiny random llama2.c files

interface Tiny {
  dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number;
  tied: boolean;
}

/** llama2.c-layout arrays (interleaved RoPE) and the file bytes made from them. */
function writeLlama2c(t: Tiny, seed = 1) {
  let s = seed;
  const rand = (n: number) => Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
  const hs = t.dim / t.heads;
  const L = t.layers;
  const a = {
    emb: rand(t.vocab * t.dim),
    rmsAtt: rand(L * t.dim),
    wq: rand(L * t.heads * hs * t.dim),
    wk: rand(L * t.kvHeads * hs * t.dim),
    wv: rand(L * t.kvHeads * hs * t.dim),
    wo: rand(L * t.dim * t.heads * hs),
    rmsFfn: rand(L * t.dim),
    w1: rand(L * t.hidden * t.dim),
    w2: rand(L * t.dim * t.hidden),
    w3: rand(L * t.hidden * t.dim),
    rmsFinal: rand(t.dim),
    freqs: rand(2 * t.seqLen * (hs / 2)),
    wcls: t.tied ? new Float32Array(0) : rand(t.vocab * t.dim),
  };
  const parts = Object.values(a);
  const floats = parts.reduce((n, p) => n + p.length, 0);
  const buf = new ArrayBuffer(28 + 4 * floats);
  const header = [t.dim, t.hidden, t.layers, t.heads, t.kvHeads, t.tied ? t.vocab : -t.vocab, t.seqLen];
  header.forEach((v, i) => new DataView(buf).setInt32(4 * i, v, true));
  let off = 28;
  for (const p of parts) {
    new Float32Array(buf, off, p.length).set(p);
    off += 4 * p.length;
  }
  return { arrays: a, bytes: new Uint8Array(buf) };
}

/** llama2.c run.c RoPE: rotates interleaved pairs (2i, 2i+1) of each head. */
function ropeInterleaved(v: Float32Array, hs: number, pos: number): Float32Array {
  const o = Float32Array.from(v);
  for (let i = 0; i < v.length; i += 2) {
    const f = 1 / 10000 ** ((i % hs) / hs);
    const c = Math.cos(pos * f), s = Math.sin(pos * f);
    o[i] = v[i] * c - v[i + 1] * s;
    o[i + 1] = v[i] * s + v[i + 1] * c;
  }
  return o;
}

/** HF Llama RoPE: rotate-half, pairs (j, j + hs/2) of each head. */
function ropeRotateHalf(v: Float32Array, hs: number, pos: number): Float32Array {
  const o = Float32Array.from(v);
  for (let h = 0; h < v.length; h += hs) {
    for (let j = 0; j < hs / 2; j++) {
      const f = 1 / 10000 ** ((2 * j) / hs);
      const c = Math.cos(pos * f), s = Math.sin(pos * f);
      const x = v[h + j], y = v[h + j + hs / 2];
      o[h + j] = x * c - y * s;
      o[h + j + hs / 2] = y * c + x * s;
    }
  }
  return o;
}

function matvec(w: Float32Array, rows: number, cols: number, x: Float32Array): Float32Array {
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let c = 0; c < cols; c++) acc += w[r * cols + c] * x[c];
    y[r] = acc;
  }
  return y;
}

describe('tiny random llama2.c file: untied classifier, GQA', () => {
  const t: Tiny = { dim: 24, hidden: 40, layers: 3, heads: 6, kvHeads: 2, vocab: 37, seqLen: 16, tied: false };
  const { arrays: a, bytes } = writeLlama2c(t);
  const { config, weights } = parseLlama2cCheckpoint(bytes, 'tiny.bin');
  const hs = t.dim / t.heads;
  const layerOf = (arr: Float32Array, i: number) => arr.subarray((i * arr.length) / t.layers, ((i + 1) * arr.length) / t.layers);
  const get = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`missing ${name}`);
    return w;
  };

  it('has the config the header says', () => {
    expect(config).toMatchObject({
      hiddenSize: 24, intermediateSize: 40, numLayers: 3, numHeads: 6, numKvHeads: 2, headDim: 4,
      vocabSize: 37, maxPositions: 16, tieWordEmbeddings: false,
    });
  });

  it('copies unpermuted tensors verbatim and adds lm_head', () => {
    const same = (name: string, shape: number[], want: Float32Array) => {
      expect(get(name).shape, name).toEqual(shape);
      expect(firstBitDiff(get(name).data, want), name).toBe(-1);
    };
    same('model.embed_tokens.weight', [37, 24], a.emb);
    same('lm_head.weight', [37, 24], a.wcls);
    same('model.norm.weight', [24], a.rmsFinal);
    for (let i = 0; i < t.layers; i++) {
      const p = `model.layers.${i}`;
      same(`${p}.input_layernorm.weight`, [24], layerOf(a.rmsAtt, i));
      same(`${p}.post_attention_layernorm.weight`, [24], layerOf(a.rmsFfn, i));
      same(`${p}.self_attn.v_proj.weight`, [8, 24], layerOf(a.wv, i));
      same(`${p}.self_attn.o_proj.weight`, [24, 24], layerOf(a.wo, i));
      same(`${p}.mlp.gate_proj.weight`, [40, 24], layerOf(a.w1, i));
      same(`${p}.mlp.down_proj.weight`, [24, 40], layerOf(a.w2, i));
      same(`${p}.mlp.up_proj.weight`, [40, 24], layerOf(a.w3, i));
    }
    expect(weights.size).toBe(3 + 9 * t.layers);
  });

  it('permutes q/k rows: HF row (h, half, i) is llama2.c row (h, i, half)', () => {
    for (let l = 0; l < t.layers; l++) {
      for (const [name, src, heads] of [['q_proj', a.wq, t.heads], ['k_proj', a.wk, t.kvHeads]] as const) {
        const w = get(`model.layers.${l}.self_attn.${name}.weight`);
        expect(w.shape).toEqual([heads * hs, t.dim]);
        const orig = layerOf(src, l);
        for (let r = 0; r < heads * hs; r++) {
          const h = Math.floor(r / hs), half = Math.floor((r % hs) / (hs / 2)), i = r % (hs / 2);
          const from = h * hs + 2 * i + half;
          expect(w.data.subarray(r * t.dim, (r + 1) * t.dim)).toEqual(orig.subarray(from * t.dim, (from + 1) * t.dim));
        }
      }
    }
  });

  it('gives the same attention scores: interleaved RoPE on llama2.c q/k == rotate-half RoPE on HF q/k', () => {
    const x = Float32Array.from({ length: t.dim }, (_, i) => Math.sin(i * 1.7));
    const y = Float32Array.from({ length: t.dim }, (_, i) => Math.cos(i * 0.3));
    let maxDiff = 0;
    for (let l = 0; l < t.layers; l++) {
      for (const [pq, pk] of [[0, 0], [5, 2], [15, 11]]) {
        const qL = ropeInterleaved(matvec(layerOf(a.wq, l), t.heads * hs, t.dim, x), hs, pq);
        const kL = ropeInterleaved(matvec(layerOf(a.wk, l), t.kvHeads * hs, t.dim, y), hs, pk);
        const qH = ropeRotateHalf(matvec(get(`model.layers.${l}.self_attn.q_proj.weight`).data, t.heads * hs, t.dim, x), hs, pq);
        const kH = ropeRotateHalf(matvec(get(`model.layers.${l}.self_attn.k_proj.weight`).data, t.kvHeads * hs, t.dim, y), hs, pk);
        for (let h = 0; h < t.heads; h++) {
          const kv = Math.floor(h / (t.heads / t.kvHeads));
          let sL = 0, sH = 0;
          for (let d = 0; d < hs; d++) {
            sL += qL[h * hs + d] * kL[kv * hs + d];
            sH += qH[h * hs + d] * kH[kv * hs + d];
          }
          maxDiff = Math.max(maxDiff, Math.abs(sL - sH));
        }
      }
    }
    console.log(`attention score max |llama2.c - HF| = ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('permuteRopeRows with one head of size 2 is the identity', () => {
    const w = Float32Array.from([1, 2, 3, 4]);
    expect(permuteRopeRows(w, 1, 2, 2)).toEqual(w);
  });

  it('a tied tiny file has no lm_head', () => {
    const tied = parseLlama2cCheckpoint(writeLlama2c({ ...t, tied: true }).bytes, 'tied.bin');
    expect(tied.config.tieWordEmbeddings).toBe(true);
    expect(tied.weights.has('lm_head.weight')).toBe(false);
  });
});

// ------------------------------------------------------------- bad checkpoints

describe('bad llama2.c checkpoints give LoadErrors naming the file', () => {
  const good = shared('models/stories260K/stories260K.bin');
  const withHeader = (i: number, v: number) => {
    const b = good.slice();
    new DataView(b.buffer).setInt32(4 * i, v, true);
    return b;
  };

  it('truncated file: expected vs actual bytes', () => {
    const e = expectLoadError(() => parseLlama2cCheckpoint(good.subarray(0, good.length - 100), 'cut.bin'), 'cut.bin', /truncated/);
    expect(e.message).toContain(String(good.length));
    expect(e.message).toContain(String(good.length - 100));
  });

  it('shorter than the header', () => {
    expectLoadError(() => parseLlama2cCheckpoint(good.subarray(0, 10), 'tiny.bin'), 'tiny.bin', /10 bytes/, /header/);
  });

  it('trailing bytes', () => {
    const b = new Uint8Array(good.length + 8);
    b.set(good);
    expectLoadError(() => parseLlama2cCheckpoint(b, 'long.bin'), 'long.bin', /size mismatch/, /trailing/);
  });

  it('an untied classifier appended to a file whose header says tied', () => {
    const b = new Uint8Array(good.length + 4 * 512 * 64);
    b.set(good);
    expectLoadError(() => parseLlama2cCheckpoint(b, 'cls.bin'), 'cls.bin', /classifier/, /vocab_size is positive/);
  });

  it('dim 0', () => {
    expectLoadError(() => parseLlama2cCheckpoint(withHeader(0, 0), 'dim0.bin'), 'dim0.bin', /dim must be positive/);
  });

  it('n_heads 3 for dim 64', () => {
    expectLoadError(() => parseLlama2cCheckpoint(withHeader(3, 3), 'heads.bin'), 'heads.bin', /n_heads 3 does not divide dim 64/);
  });

  it('n_kv_heads 3 for n_heads 8', () => {
    expectLoadError(() => parseLlama2cCheckpoint(withHeader(4, 3), 'kv.bin'), 'kv.bin', /n_kv_heads 3 does not divide n_heads 8/);
  });

  it('vocab_size 0 and negative seq_len', () => {
    expectLoadError(() => parseLlama2cCheckpoint(withHeader(5, 0), 'v.bin'), 'v.bin', /vocab_size must be non-zero/);
    expectLoadError(() => parseLlama2cCheckpoint(withHeader(6, -4), 's.bin'), 's.bin', /seq_len must be positive/);
  });

  it('a versioned (ak42) export is named as such', () => {
    expectLoadError(() => parseLlama2cCheckpoint(withHeader(0, 0x616b3432), 'v1.bin'), 'v1.bin', /ak42/, /version 0/);
  });
});

// ------------------------------------------------------------------ tokenizer

/** llama2.c run.c `encode` (bos=false, eos=false), on the raw tokenizer.bin vocabulary. */
function llama2cEncoder(bytes: Uint8Array, vocabSize: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vocab: Uint8Array[] = [];
  const scores: number[] = [];
  let off = 4;
  for (let i = 0; i < vocabSize; i++) {
    scores.push(view.getFloat32(off, true));
    const len = view.getInt32(off + 4, true);
    vocab.push(bytes.subarray(off + 8, off + 8 + len));
    off += 8 + len;
  }
  // run.c compares C strings; a latin1 key keeps the bytes exact.
  const key = (b: Uint8Array) => String.fromCharCode(...b);
  const lookup = new Map<string, number>();
  vocab.forEach((b, i) => { if (!lookup.has(key(b))) lookup.set(key(b), i); });
  const strs = vocab.map(key);
  return (text: string): number[] => {
    const utf8 = new TextEncoder().encode(text);
    const tokens: number[] = [];
    if (utf8.length > 0) tokens.push(lookup.get(' ')!); // dummy prefix
    let buf: number[] = [];
    for (let i = 0; i < utf8.length; i++) {
      if ((utf8[i] & 0xc0) !== 0x80) buf = [];
      buf.push(utf8[i]);
      if (i + 1 < utf8.length && (utf8[i + 1] & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = lookup.get(String.fromCharCode(...buf));
      if (id !== undefined) tokens.push(id);
      else for (const b of buf) tokens.push(b + 3); // byte fallback: <0x00> is id 3
      buf = [];
    }
    for (;;) {
      let best = -1e10, bestId = -1, bestIdx = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const id = lookup.get(strs[tokens[i]] + strs[tokens[i + 1]]);
        if (id !== undefined && scores[id] > best) { best = scores[id]; bestId = id; bestIdx = i; }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  };
}

function jsonl(path: string): Record<string, string>[] {
  return new TextDecoder().decode(shared(path)).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function testStrings(): string[] {
  const out: string[] = [];
  const stories = jsonl('data/tinystories-instruct-1k.jsonl');
  const alpaca = jsonl('data/alpaca-1k.jsonl');
  for (const r of stories.slice(0, 60)) out.push(r.instruction, r.response);
  for (const r of alpaca.slice(0, 60)) out.push(r.instruction, r.output, ...(r.input ? [r.input] : []));
  // odd slices, so strings start and end mid-word, mid-space and mid-line
  for (const [k, r] of stories.slice(100, 140).entries()) out.push(r.response.slice(k * 7 % 50, 40 + (k * 13) % 90));
  out.push(
    '', ' ', '  ', '\n', '\n\n', '\t', 'a', 'A', ' a', 'a ', '  leading', 'trailing  ', 'multiple   spaces  here',
    'tabs\tand\nnewlines\r\nmixed', 'Once upon a time', 'Instruction: Write a story.\nResponse:',
    'héllo wörld, façade, naïve coöperate', 'Ça va? Ñandú. Øre. Ærø.', '日本語のテキストです。', '中文测试，标点！',
    'Привет, мир! ЁЖЗ', 'مرحبا بالعالم', 'שלום', 'γειά σου κόσμε', 'हिन्दी', '한국어 텍스트',
    'emoji 😀👍🏽 family 👨‍👩‍👧 flag 🇫🇷', '™ © ® ° ± × ÷ € £ ¥', 'a\u0301 e\u0308 combining', 'zero\u200bwidth\u200a hair',
    'math: ∑ ∫ √ ∞ ≈ ≠ ≤ ≥', 'quotes “curly” ‘single’ — dash – en … ellipsis', '\u00a0nbsp\u00a0inside',
    'code: `x = f(y) {return [1, 2]; }` // ~|\\^', '1234567890 3.14159 -42 1e10', 'ALL CAPS SHOUTING!!!',
    'x'.repeat(200), ' '.repeat(17), 'ab'.repeat(40), '\u{10ffff}\u{1f600}', 'end with newline\n',
  );
  return out;
}

describe('parseLlama2cTokenizer on tok512.bin', () => {
  const tokBytes = shared('models/stories260K/tok512.bin');
  const files = parseLlama2cTokenizer(tokBytes, 512, 'tok512.bin');
  const ours = new TextTokenizer(files);
  const ref = new TextTokenizer({
    tokenizerJson: JSON.parse(new TextDecoder().decode(shared('models/stories260K-hf/tokenizer.json'))),
    tokenizerConfig: JSON.parse(new TextDecoder().decode(shared('models/stories260K-hf/tokenizer_config.json'))),
  });
  const llama2c = llama2cEncoder(tokBytes, 512);
  const strings = testStrings();

  it('has the HF vocabulary, merges and special tokens', () => {
    const ourModel = files.tokenizerJson.model as { vocab: Record<string, number>; merges: unknown };
    const refJson = JSON.parse(new TextDecoder().decode(shared('models/stories260K-hf/tokenizer.json')));
    expect(ourModel.vocab).toEqual(refJson.model.vocab);
    expect(ourModel.merges).toEqual(refJson.model.merges);
    expect(ours.vocabSize).toBe(512);
    expect(ours.bosId).toBe(1);
    expect(ours.eosIds).toEqual([2]);
    expect(ours.idToToken(259)).toBe('▁t');
    expect(ours.idToToken(3)).toBe('<0x00>');
  });

  it('encodes the reference prompts to their prompt_ids (BOS included)', () => {
    const refJson = JSON.parse(new TextDecoder().decode(shared('models/stories260K/reference.json')));
    expect(refJson.cases.length).toBeGreaterThan(0);
    for (const c of refJson.cases as { prompt: string; prompt_ids: number[] }[]) {
      expect(ours.encodePrompt(c.prompt), c.prompt).toEqual(c.prompt_ids);
    }
  });

  it(`encodes like the HF tokenizer.json and like llama2.c's encoder, and decodes back`, () => {
    expect(strings.length).toBeGreaterThanOrEqual(300);
    expect(ours.encode('')).toEqual([]);
    let tokens = 0;
    for (const s of strings) {
      const ids = ours.encode(s);
      tokens += ids.length;
      expect(ids, JSON.stringify(s)).toEqual(ref.encode(s));
      expect(ids, JSON.stringify(s)).toEqual(llama2c(s));
      if (ids.length === 0) continue; // @huggingface/tokenizers 0.2 throws on decode([])
      expect(ours.decode(ids), JSON.stringify(s)).toBe(ref.decode(ids));
      expect(ours.decode(ids), JSON.stringify(s)).toBe(s);
    }
    console.log(`${strings.length} strings, ${tokens} tokens: identical to HF tokenizer.json and llama2.c encode`);
  });

  it('like HF, treats a literal "<s>" in text as the BOS token (llama2.c would spell it out)', () => {
    expect(ours.encode('a <s> b')).toEqual(ref.encode('a <s> b'));
    expect(ours.encode('a <s> b')).toContain(1);
    expect(llama2c('a <s> b')).not.toContain(1);
  });

  it('a tokenizer.bin cut short names the file and the token', () => {
    expectLoadError(() => parseLlama2cTokenizer(tokBytes.subarray(0, tokBytes.length - 3), 512, 'tok.bin'), 'tok.bin', /cut short/, /token 511/);
    expectLoadError(() => parseLlama2cTokenizer(tokBytes.subarray(0, 2), 512, 'tok.bin'), 'tok.bin', /max_token_length/);
  });

  it('a vocab size mismatch names both files and both numbers', () => {
    expectLoadError(() => parseLlama2cTokenizer(tokBytes, 500, 'tok.bin', 'model.bin'), 'tok.bin', /512 tokens/, /model\.bin has vocab_size 500/);
  });
});

// ------------------------------------------------------------------ loadLlama2c

describe('loadLlama2c', () => {
  const model = { name: 'stories260K.bin', bytes: shared('models/stories260K/stories260K.bin') };
  const tok = { name: 'tok512.bin', bytes: shared('models/stories260K/tok512.bin') };

  it('loads checkpoint + tokenizer into a LoadedModel', () => {
    const m = loadLlama2c(model, tok);
    expect(m.source).toEqual({ format: 'llama2c', name: 'stories260K.bin' });
    expect(m.config.vocabSize).toBe(512);
    expect(new TextTokenizer(m.tokenizer).encodePrompt('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
  });

  it('without a tokenizer says what to pass', () => {
    expectLoadError(() => loadLlama2c(model, null), 'stories260K.bin', /needs its tokenizer\.bin: pass --tokenizer/);
  });

  it('with a tokenizer of another vocabulary names both files and both sizes', () => {
    const tiny = writeLlama2c({ dim: 8, hidden: 16, layers: 1, heads: 2, kvHeads: 1, vocab: 300, seqLen: 4, tied: true });
    expectLoadError(() => loadLlama2c({ name: 'tiny.bin', bytes: tiny.bytes }, tok), 'tok512.bin', /512 tokens/, /tiny\.bin has vocab_size 300/);
  });
});
