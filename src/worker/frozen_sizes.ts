/**
 * What a model's frozen matrices take on the GPU at each choice of frozen
 * bits (UploadOptions.frozenBits, src/engine/model.ts), from their types and
 * shapes alone: the page's estimates and its Auto choice weigh these
 * (protocol.ts FrozenSizes). The rules are the upload's:
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
import { BITS_FORMAT, formatBytes, isQuant, type FrozenBits, type FrozenFormat } from '../engine/frozen';
import type { FrozenSizes } from './protocol';

/** One frozen matrix: its type in the file (ggml's names: F32, F16, BF16, Q4_1, …) and its (rows, cols). */
export interface MatrixType {
  type: string;
  rows: number;
  cols: number;
}

/** ggml block formats the GPU keeps as they are (kernels/packed_weight.ts). */
const kept = (type: string): type is 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q4_K' => isQuant(type as FrozenFormat);

type Resident = FrozenFormat | 'f32';

/** The format a matrix of `type` takes on the GPU at `bits` (undefined: as stored). */
export function residentFormat(type: string, bits: FrozenBits | undefined): Resident {
  if (kept(type)) return bits === 16 ? 'bf16' : type;
  if (bits === 8 || bits === 4) return BITS_FORMAT[bits];
  if (type === 'F16') return 'f16';
  if (type === 'F32' && bits === undefined) return 'f32';
  return 'bf16';
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
    const f = residentFormat(m.type, bits);
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
