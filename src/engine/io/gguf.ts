/**
 * GGUF reader: header, metadata and tensor table (llama.cpp's file format,
 * ggml/docs/gguf.md), read from a ByteSource in chunks, so a 1 GB file is
 * never copied whole. Versions 2 and 3 (version 1 used 32-bit counts).
 *
 * Layout, little-endian:
 *   "GGUF" u32 version, u64 tensor_count, u64 kv_count
 *   kv_count × (string key, u32 value_type, value)
 *       string = u64 length + UTF-8 bytes; array = u32 item type, u64 count, items
 *   tensor_count × (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 *   padding to general.alignment (default 32), then the tensor data; each
 *   offset is relative to that start. ne[0] is the fastest-varying dimension,
 *   so a [out, in] matrix has ne = [in, out] and its rows are whole blocks.
 * Every length and offset is checked against the file before it is trusted:
 * a cut or corrupt file is a LoadError that says at which byte and in what.
 * Which tensors and keys a model needs, and dequantization, live elsewhere
 * (gguf_model.ts, ggml_quants.ts).
 */
import type { ByteSource } from './byte_source';
import { BLOCK, ggmlTypeName, isReadableType, typeNameOf } from './ggml_quants';
import { LoadError } from './weights';

export type GgufValue = number | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml's ne: ne[0] fastest */
  dims: number[];
  /** row-major shape (dims reversed), as the HF layout names it */
  shape: number[];
  type: number;
  typeName: string;
  /** absolute byte offset in the file */
  offset: number;
  /** bytes of data; null for a type we cannot size (and so cannot read) */
  bytes: number | null;
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** absolute offset of the tensor data */
  dataStart: number;
}

const CHUNK = 1 << 20;
/** Sanity caps: a count past these means a corrupt header, not a real file. */
const MAX_STRING = 1 << 30;
const MAX_COUNT = 1 << 28;

/** A forward cursor over a ByteSource that reads it a chunk at a time. */
class Cursor {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  /** what is being read, for messages */
  what = 'the header';
  constructor(private readonly src: ByteSource) {}

  fail(message: string): never {
    throw new LoadError(this.src.name, message);
  }

  private async need(n: number): Promise<DataView> {
    if (this.pos + n > this.src.size) {
      this.fail(`is cut short: reading ${this.what} needs bytes ${this.pos}..${this.pos + n} but the file has ${this.src.size} (truncated download?)`);
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.byteLength) {
      const len = Math.min(Math.max(n, CHUNK), this.src.size - this.pos);
      this.buf = await this.src.read(this.pos, len);
      this.bufStart = this.pos;
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return new DataView(this.buf.buffer, this.buf.byteOffset + at, n);
  }

  async u8() { return (await this.need(1)).getUint8(0); }
  async i8() { return (await this.need(1)).getInt8(0); }
  async u16() { return (await this.need(2)).getUint16(0, true); }
  async i16() { return (await this.need(2)).getInt16(0, true); }
  async u32() { return (await this.need(4)).getUint32(0, true); }
  async i32() { return (await this.need(4)).getInt32(0, true); }
  async f32() { return (await this.need(4)).getFloat32(0, true); }
  async f64() { return (await this.need(8)).getFloat64(0, true); }
  async u64(): Promise<number> {
    const v = (await this.need(8)).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${this.what} at byte ${this.pos - 8}: value ${v} is too large; the file is corrupt`);
    return Number(v);
  }
  async i64(): Promise<number> {
    const v = (await this.need(8)).getBigInt64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`${this.what} at byte ${this.pos - 8}: value ${v} is out of range`);
    return Number(v);
  }
  async str(): Promise<string> {
    const at = this.pos;
    const n = await this.u64();
    if (n > MAX_STRING) this.fail(`${this.what} at byte ${at}: a string of ${n} bytes is not plausible; the file is corrupt`);
    const v = await this.need(n);
    try {
      return this.utf8.decode(v);
    } catch {
      return this.fail(`${this.what} at byte ${at}: string is not valid UTF-8`);
    }
  }
}

/** GGUF metadata value types (gguf.md gguf_metadata_value_type). */
async function readValue(c: Cursor, type: number, depth = 0): Promise<GgufValue> {
  switch (type) {
    case 0: return c.u8();
    case 1: return c.i8();
    case 2: return c.u16();
    case 3: return c.i16();
    case 4: return c.u32();
    case 5: return c.i32();
    case 6: return c.f32();
    case 7: return (await c.u8()) !== 0;
    case 8: return c.str();
    case 9: {
      const at = c.pos;
      const itemType = await c.u32();
      const n = await c.u64();
      if (n > MAX_COUNT || depth > 2) c.fail(`${c.what} at byte ${at}: an array of ${n} items (type ${itemType}) is not plausible; the file is corrupt`);
      const out: GgufValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = await readValue(c, itemType, depth + 1);
      return out;
    }
    case 10: return c.u64();
    case 11: return c.i64();
    case 12: return c.f64();
    default:
      return c.fail(`${c.what} at byte ${c.pos - 4}: unknown value type ${type}; the file is corrupt or from a newer GGUF version`);
  }
}

/** Reads and checks the header, metadata and tensor table. */
export async function readGgufHeader(src: ByteSource): Promise<GgufHeader> {
  const c = new Cursor(src);
  if (src.size < 24) c.fail(`is ${src.size} bytes; a GGUF file starts with a 24-byte header`);
  const magic = await src.read(0, 4);
  if (String.fromCharCode(...magic) !== 'GGUF') {
    c.fail(`does not start with "GGUF" (found ${JSON.stringify(String.fromCharCode(...magic))}); not a GGUF file`);
  }
  c.pos = 4;
  const version = await c.u32();
  if (version === 1) c.fail('is GGUF version 1, which llama.cpp dropped in 2023; convert it again with a current llama.cpp');
  if (version !== 2 && version !== 3) c.fail(`is GGUF version ${version}; versions 2 and 3 are read`);
  const tensorCount = await c.u64();
  const kvCount = await c.u64();
  if (tensorCount > MAX_COUNT || kvCount > MAX_COUNT) c.fail(`claims ${tensorCount} tensors and ${kvCount} metadata keys; the header is corrupt`);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    c.what = `metadata key ${i} of ${kvCount}`;
    const key = await c.str();
    c.what = `metadata "${key}"`;
    const type = await c.u32();
    metadata.set(key, await readValue(c, type));
  }

  const alignment = metadata.has('general.alignment') ? Number(metadata.get('general.alignment')) : 32;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) c.fail(`general.alignment is ${alignment}; it must be a positive multiple of 8`);

  const raw: { name: string; dims: number[]; type: number; rel: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    c.what = `tensor info ${i} of ${tensorCount}`;
    const name = await c.str();
    c.what = `tensor info "${name}"`;
    const nDims = await c.u32();
    if (nDims < 1 || nDims > 4) c.fail(`tensor "${name}" has ${nDims} dimensions (ggml allows 1..4); the file is corrupt`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(await c.u64());
    const type = await c.u32();
    const rel = await c.u64();
    if (rel % alignment !== 0) c.fail(`tensor "${name}" starts at data offset ${rel}, not a multiple of the alignment ${alignment}; the file is corrupt`);
    raw.push({ name, dims, type, rel });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;

  const tensors: GgufTensorInfo[] = raw.map(({ name, dims, type, rel }) => {
    const count = dims.reduce((a, b) => a * b, 1);
    let bytes: number | null = null;
    if (isReadableType(type)) {
      const [per, size] = BLOCK[typeNameOf(type)];
      if (dims[0] % per !== 0) c.fail(`tensor "${name}" (${ggmlTypeName(type)}) has rows of ${dims[0]} weights, not a whole number of ${per}-weight blocks`);
      bytes = (count / per) * size;
    }
    const offset = dataStart + rel;
    if (bytes !== null && offset + bytes > src.size) {
      c.fail(`is cut short: tensor "${name}" needs bytes ${offset}..${offset + bytes} but the file ends at ${src.size} (truncated download?)`);
    }
    return { name, dims, shape: [...dims].reverse(), type, typeName: ggmlTypeName(type), offset, bytes };
  });
  const sorted = tensors.filter((t) => t.bytes !== null).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].bytes!) c.fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap; the file is corrupt`);
  }
  return { version, metadata, tensors, alignment, dataStart };
}

/** A tensor's raw bytes (its blocks as stored). */
export async function readGgufTensorBytes(src: ByteSource, t: GgufTensorInfo): Promise<Uint8Array> {
  if (t.bytes === null) throw new LoadError(src.name, `tensor "${t.name}" is ggml ${t.typeName}, which is not read (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K are)`);
  return src.read(t.offset, t.bytes);
}
