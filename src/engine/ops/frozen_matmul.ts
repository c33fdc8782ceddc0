/**
 * The three ways the model reads its big frozen matrices (the embedding and
 * the LM head, which is the embedding when tied), for f32 tensors and for
 * packed 16-bit weights (frozen.ts), including ones split into row blocks:
 *
 *   embeddingRows(W, ids)  W[ids]            (N, d)   the embedding lookup; the loss's target rows
 *   logitsFor(h, W)        h·Wᵀ              (N, V)   the LM head
 *   timesFrozen(p, W)      p·W               (N, d)   the loss's backward (softmax · W)
 *
 * In reference kernel mode these are plain tfjs ops on an f32 copy, so tfjs
 * autograd sees them (our kernels are not on its tape).
 * A split W goes block by block: the lookup writes each block's rows in
 * place, logits are concatenated over the blocks' columns, p·W sums the
 * blocks' partial products over their slice of p's columns.
 */
import * as tf from '@tensorflow/tfjs';
import { frozenF32, frozenShape, isPacked, type Frozen, type PackedWeight } from '../frozen';
import { kernelMode } from './mode';
import { gatherRows } from '../../../kernels/gather_rows';
import { loraMatmul } from '../../../kernels/lora_linear';
import { denseMatmul } from '../../../kernels/matmul_simple';

const blockView = (w: PackedWeight, i: number): PackedWeight => ({ ...w, shape: [w.blocks[i].rows, w.shape[1]], blocks: [{ ...w.blocks[i], row0: 0 }] });

export function embeddingRows(w: Frozen, ids: tf.Tensor1D): tf.Tensor2D {
  if (kernelMode() === 'reference') return tf.tidy(() => tf.gather(frozenF32(w), ids) as tf.Tensor2D);
  return isPacked(w) ? gatherRows(w, ids) : (tf.gather(w, ids) as tf.Tensor2D);
}

export function logitsFor(h: tf.Tensor2D, w: Frozen): tf.Tensor2D {
  if (kernelMode() === 'reference') return tf.tidy(() => tf.matMul(h, frozenF32(w), false, true) as tf.Tensor2D);
  if (!isPacked(w)) return denseMatmul(h, w, true);
  return tf.tidy(() => {
    const parts = w.blocks.map((_, i) => loraMatmul({ x: h, w: blockView(w, i), wRowsAreN: true }));
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}

export function timesFrozen(p: tf.Tensor2D, w: Frozen): tf.Tensor2D {
  if (kernelMode() === 'reference') return tf.tidy(() => tf.matMul(p, frozenF32(w)) as tf.Tensor2D);
  if (!isPacked(w)) return denseMatmul(p, w, false);
  if (p.shape[1] !== frozenShape(w)[0]) throw new Error(`timesFrozen: p ${p.shape} for W ${frozenShape(w)}`);
  return tf.tidy(() => {
    let acc: tf.Tensor2D | null = null;
    w.blocks.forEach((b, i) => {
      const pb = w.blocks.length === 1 ? p : (tf.slice(p, [0, b.row0], [-1, b.rows]) as tf.Tensor2D);
      const part = loraMatmul({ x: pb, w: blockView(w, i), wRowsAreN: false });
      acc = acc ? (tf.add(acc, part) as tf.Tensor2D) : part;
    });
    return acc!;
  });
}
