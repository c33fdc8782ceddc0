/**
 * safetensors reader and writer (https://huggingface.co/docs/safetensors).
 *
 * File layout: u64 little-endian N, then N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {..}}`,
 * then the data; offsets are relative to the end of the header. We check every
 * claim the header makes against the bytes before trusting it, and convert
 * F32, F16 and BF16 to f32 (the engine computes in f32).
 */
import { f16ToF32 } from './f16';
import { LoadError, type HostTensor } from './weights';

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const DTYPE_BYTES: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

export interface SafeTensorEntry {
  dtype: SafeDtype;
  shape: number[];
  /** absolute byte range in the file */
  begin: number;
  end: number;
}

export interface SafeHeader {
  /** bytes before the data (8 + header length) */
  dataStart: number;
  tensors: Map<string, SafeTensorEntry>;
  metadata: Record<string, string>;
}

/** Most header bytes we accept (the format's own reference limit is 100 MB). */
const MAX_HEADER = 100_000_000;

/** The header length from the first 8 bytes; lets a caller fetch just the header (a ranged read). */
export function headerLength(first8: Uint8Array, file: string): number {
  if (first8.byteLength < 8) throw new LoadError(file, `is ${first8.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 1 || n > MAX_HEADER) throw new LoadError(file, `header length ${n} is not plausible; not a safetensors file or corrupt`);
  return n;
}

/**
 * Parses and validates the header. `headerBytes` must hold at least the first
 * 8 + N bytes; `fileSize` is the whole file's size (for offset checks).
 */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafeHeader {
  const n = headerLength(headerBytes, file);
  if (8 + n > fileSize) throw new LoadError(file, `header claims ${n} bytes but the file is only ${fileSize} bytes (truncated?)`);
  if (headerBytes.byteLength < 8 + n) throw new LoadError(file, `need ${8 + n} header bytes, got ${headerBytes.byteLength}`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new LoadError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new LoadError(file, 'header is not a JSON object');
  const dataStart = 8 + n;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, SafeTensorEntry>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof e?.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) throw new LoadError(file, `${where} has unknown dtype ${JSON.stringify(e?.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new LoadError(file, `${where} has a bad shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
      throw new LoadError(file, `${where} has bad data_offsets ${JSON.stringify(off)}`);
    }
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    const want = count * DTYPE_BYTES[e.dtype];
    if (off[1] - off[0] !== want) {
      throw new LoadError(file, `${where}: data_offsets ${JSON.stringify(off)} span ${off[1] - off[0]} bytes but ${e.dtype} ${JSON.stringify(e.shape)} needs ${want}`);
    }
    if (off[1] > dataSize) {
      throw new LoadError(file, `${where}: data_offsets end at ${off[1]} but the file has only ${dataSize} data bytes (truncated or header lies)`);
    }
    ranges.push([off[0], off[1], name]);
    tensors.set(name, { dtype: e.dtype as SafeDtype, shape: e.shape as number[], begin: dataStart + off[0], end: dataStart + off[1] });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) throw new LoadError(file, `tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  }
  return { dataStart, tensors, metadata };
}

/** Converts one tensor's raw bytes to f32. */
export function toFloat32(bytes: Uint8Array, dtype: SafeDtype, file: string, name: string): Float32Array {
  if (!FLOAT_DTYPES.has(dtype)) throw new LoadError(file, `tensor "${name}" is ${dtype}; only F32, F16 and BF16 weights are supported`);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  // copy into an aligned buffer: tensors in a file need not be 4-byte aligned
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  if (dtype === 'F32') return new Float32Array(aligned.buffer, 0, n);
  const u16 = new Uint16Array(aligned.buffer, 0, n);
  const out = new Float32Array(n);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = u16[i] << 16;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = f16ToF32(u16[i]);
  return out;
}

export { f16ToF32 };

/** Parses a whole safetensors file held in memory into host tensors (f32; 16-bit ones keep their bits too). */
export function readSafetensors(bytes: Uint8Array, file: string): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  const h = parseHeader(bytes, bytes.byteLength, file);
  const tensors = new Map<string, HostTensor>();
  for (const [name, e] of h.tensors) {
    const raw = bytes.subarray(e.begin, e.end);
    if (e.dtype === 'BF16' || e.dtype === 'F16') {
      // keep the 16-bit bits (the GPU stores them as they are); f32 only when someone reads .data
      const bits = new Uint16Array(raw.byteLength / 2);
      new Uint8Array(bits.buffer).set(raw);
      let f32: Float32Array | null = null;
      const dtype = e.dtype;
      tensors.set(name, {
        shape: e.shape,
        half: { format: dtype === 'BF16' ? 'bf16' : 'f16', bits },
        get data() {
          return (f32 ??= toFloat32(new Uint8Array(bits.buffer), dtype, file, name));
        },
      });
    } else tensors.set(name, { shape: e.shape, data: toFloat32(raw, e.dtype, file, name) });
  }
  return { tensors, metadata: h.metadata };
}

export interface WritableTensor {
  dtype?: 'F32' | 'F16' | 'BF16';
  shape: number[];
  data: Float32Array;
}

/** Serialises f32 tensors (optionally stored as F16/BF16) into a safetensors file. Keys are written sorted, as the Python library does. */
export function writeSafetensors(tensors: Map<string, WritableTensor> | Record<string, WritableTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const payloads: Uint8Array[] = [];
  for (const [name, t] of entries) {
    const dtype = t.dtype ?? 'F32';
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`writeSafetensors: "${name}" shape ${t.shape} has ${count} elements, data has ${t.data.length}`);
    let bytes: Uint8Array;
    if (dtype === 'F32') bytes = new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    else {
      const u16 = new Uint16Array(count);
      const u32 = new Uint32Array(Float32Array.from(t.data).buffer);
      for (let i = 0; i < count; i++) u16[i] = dtype === 'BF16' ? bf16Round(u32[i]) : f32ToF16(t.data[i]);
      bytes = new Uint8Array(u16.buffer);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    payloads.push(bytes);
  }
  let json = JSON.stringify(header);
  // pad the header with spaces so data starts 8-byte aligned, as the reference writer does
  while ((8 + new TextEncoder().encode(json).byteLength) % 8 !== 0) json += ' ';
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let p = 8 + hb.byteLength;
  for (const b of payloads) {
    out.set(b, p);
    p += b.byteLength;
  }
  return out;
}

function bf16Round(u: number): number {
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40; // NaN stays NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
}

export function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
