/**
 * What a model's frozen matrices take on the GPU at each choice of frozen
 * bits (UploadOptions.frozenBits, src/engine/model.ts), from their types and
 * shapes alone: the page's estimates and its Auto choice weigh these
 * (protocol.ts FrozenSizes). The rules are the upload's own (frozen.ts
 * heldFormat, asked here with a stand-in tensor of each type):
 *
 *   as stored   F32 stays f32, F16/BF16 keep their halves, a GGUF's Q8_0,
 *               Q4_0, Q4_1 and Q4_K blocks stay as they are, its other
 *               types (Q5_*, Q6_K) go up as bf16
 *   16          everything as bf16 halves (ggml blocks dequantized; F16 stays f16)
 *   8, 4        a GGUF's kept blocks as they are; every other matrix
 *               quantized on load to Q8_0 or Q4_0
 *
 * Bytes are formatBytes' (a quantized row padded to whole blocks), over the
 * matrices' weights: the mean bytes per weight that memory_model.ts takes.
 */
import { formatBytes, heldFormat, type FrozenBits, type FrozenFormat } from '../engine/frozen';
import type { GgmlTypeName } from '../engine/io/ggml_quants';
import type { HostTensor } from '../engine/io/weights';
import type { FrozenSizes } from './protocol';

/** One frozen matrix: its type in the file (ggml's names: F32, F16, BF16, Q4_1, …) and its (rows, cols). */
export interface MatrixType {
  type: string;
  rows: number;
  cols: number;
}

type Resident = FrozenFormat | 'f32';

/**
 * A host tensor of `type` as the loaders make it, without its values: F32 as
 * is, F16/BF16 with their halves, a GGUF's other types with their ggml blocks
 * (and the bf16 halves gguf_model.ts makes of those it does not keep).
 */
function standIn(type: string, rows: number, cols: number): HostTensor {
  const t: HostTensor = { shape: [rows, cols], data: new Float32Array(0) };
  if (type === 'F32') return t;
  const half = { format: type === 'F16' ? ('f16' as const) : ('bf16' as const), bits: new Uint16Array(0) };
  if (type === 'F16' || type === 'BF16') return { ...t, half };
  return { ...t, half, gguf: { type: type as GgmlTypeName, blocks: new Uint8Array(0) } };
}

/** The format a (rows, cols) matrix of `type` takes on the GPU at `bits` (undefined: as stored). */
export function residentFormat(type: string, bits: FrozenBits | undefined, rows = 32, cols = 32): Resident {
  return heldFormat(standIn(type, rows, cols), bits === undefined ? {} : { frozenBits: bits }) ?? 'f32';
}

function bytesOf(f: Resident, rows: number, cols: number): number {
  return f === 'f32' ? rows * cols * 4 : formatBytes(f, rows, cols);
}

/** Mean bytes per weight over the matrices at `bits`, and the formats they take (most weights first, joined by ' + '). */
export function residency(ms: MatrixType[], bits: FrozenBits | undefined): { bytes: number; format: string } {
  let bytes = 0;
  let weights = 0;
  const byFormat = new Map<string, number>();
  for (const m of ms) {
    const f = residentFormat(m.type, bits, m.rows, m.cols);
    bytes += bytesOf(f, m.rows, m.cols);
    weights += m.rows * m.cols;
    byFormat.set(f, (byFormat.get(f) ?? 0) + m.rows * m.cols);
  }
  return { bytes: weights ? bytes / weights : 0, format: formatList(byFormat) };
}

/** 'Q4_1 + Q8_0' from weights per format, most first. */
export function formatList(byFormat: Map<string, number>): string {
  return [...byFormat.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([f]) => f)
    .join(' + ');
}

export function frozenSizes(ms: MatrixType[]): FrozenSizes {
  return { stored: residency(ms, undefined), 16: residency(ms, 16).bytes, 8: residency(ms, 8).bytes, 4: residency(ms, 4).bytes };
}
