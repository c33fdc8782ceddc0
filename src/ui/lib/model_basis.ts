/**
 * A model's shape and FrozenSizes (what its frozen matrices take at each
 * choice of frozen bits: worker/frozen_sizes.ts) from what the page has
 * before a load: a catalogue entry's published shape and dtype, or the
 * bytes of an HF folder (config.json and the safetensors headers) or of a
 * llama2c checkpoint (its 7-int header). A GGUF's come from its header peek
 * in the worker (GgufPeek.frozenSizes). The Frozen weights choice's Auto
 * weighs these against the GPU budget before load-model is sent.
 */
import { configFromHF } from '../../engine/config';
import { headerLength, parseHeader } from '../../engine/io/safetensors';
import { bitsWeightBytes, modelShape, type ModelShape } from '../../engine/memory_model';
import { frozenSizes, type MatrixType } from '../../worker/frozen_sizes';
import type { FrozenSizes, ModelFiles } from '../../worker/protocol';
import type { CatalogueEntry } from './hub';

export interface ModelBasis {
  shape: ModelShape;
  sizes: FrozenSizes;
}

/** A catalogue entry's sizes from its dtype alone (every matrix the same type; rows' block padding ignored). */
export function entrySizes(e: CatalogueEntry): FrozenSizes {
  return { stored: { bytes: e.dtype === 'F32' ? 4 : 2, format: e.dtype.toLowerCase() }, 16: bitsWeightBytes(16), 8: bitsWeightBytes(8), 4: bitsWeightBytes(4) };
}


/** The matrices of a Llama-family model of this shape, all of one type (a llama2c checkpoint: F32). */
function shapeMatrices(c: ModelShape, type: string): MatrixType[] {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const ff = c.intermediateSize;
  const layer: [number, number][] = [[q, d], [kv, d], [kv, d], [d, q], [ff, d], [ff, d], [d, ff]];
  const all: [number, number][] = [[c.vocabSize, d], ...(c.tieWordEmbeddings ? [] : [[c.vocabSize, d] as [number, number]])];
  for (let i = 0; i < c.numLayers; i++) all.push(...layer);
  return all.map(([rows, cols]) => ({ type, rows, cols }));
}

/** The basis of an HF folder's or a llama2c pair's bytes; null when they cannot be read (the load will say why). */
export function filesBasis(files: ModelFiles): ModelBasis | null {
  try {
    if (files.format === 'llama2c') {
      const b = files.model.bytes;
      const v = new DataView(b.buffer, b.byteOffset, 28);
      const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = Array.from({ length: 7 }, (_, i) => v.getInt32(i * 4, true));
      const shape: ModelShape = { hiddenSize: dim, intermediateSize: hidden, numLayers: layers, numHeads: heads, numKvHeads: kvHeads, headDim: dim / heads, vocabSize: Math.abs(vocab), maxPositions: seqLen, tieWordEmbeddings: vocab > 0, attentionBias: false };
      return { shape, sizes: frozenSizes(shapeMatrices(shape, 'F32')) };
    }
    if (files.format !== 'hf') return null;
    const byName = (n: string) => files.files.find((f) => f.name.split('/').pop() === n);
    const cfg = byName('config.json');
    if (!cfg) return null;
    const shape = modelShape(configFromHF(JSON.parse(new TextDecoder().decode(cfg.bytes))));
    const ms: MatrixType[] = [];
    for (const f of files.files.filter((x) => x.name.endsWith('.safetensors'))) {
      const n = headerLength(f.bytes.subarray(0, 8), f.name);
      for (const [name, t] of parseHeader(f.bytes.subarray(0, 8 + n), f.bytes.byteLength, f.name).tensors)
        if (t.shape.length === 2 && !name.includes('rotary_emb')) ms.push({ type: t.dtype, rows: t.shape[0], cols: t.shape[1] });
    }
    return ms.length ? { shape, sizes: frozenSizes(ms) } : null;
  } catch {
    return null;
  }
}
