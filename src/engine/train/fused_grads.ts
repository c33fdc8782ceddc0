/**
 * One micro-batch's loss and LoRA gradients on the fused kernels, without
 * tfjs autograd: model.forwardTrain keeps each layer's activations, the
 * chunked cross-entropy gives dloss/dh for the target rows, and
 * model_backward.ts walks the layers back, writing every dA and dB into the
 * flat gradient buffer `grads` (layout of the model's adapter).
 *
 * With `checkpoint`, each layer keeps only its input during the forward and
 * is recomputed just before its backward (activation checkpointing, as
 * transformers' gradient_checkpointing): one more forward per step for a
 * fraction of the memory.
 *
 * `chunkRows`: rows per logits chunk of the loss (default: loss.ts's budget).
 *
 * With accumulate = false the buffer is overwritten (every float of it
 * belongs to exactly one A or B, and every pair is written: non-target pairs
 * get exact zeros), with true the micro-batch's gradients are added: the
 * trainer's accumulation over micro-batches costs no extra pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../model';
import { disposeActs, layerBackward } from '../model_backward';
import { rmsNormBackward } from '../../../kernels/rms_norm';
import type { MicroBatch } from './batches';
import { crossEntropyBackward, crossEntropyForward } from './loss';
import { submitPending } from '../gpu/pool';

/** Whether this model and adapter can train on the fused path (else the trainer uses tfjs autograd over the reference ops). */
export function fusedTrainingFits(model: LlamaModel, dropout: number): boolean {
  return !!model.adapter && model.adapterEnabled && dropout === 0 && model.fusedFits();
}

/** Sum of the micro-batch's target NLL (a scalar tensor), its gradients written into `grads`. */
export function fusedMicroGrads(model: LlamaModel, batch: MicroBatch, grads: tf.Tensor, accumulate: boolean, checkpoint = false, chunkRows?: number): tf.Scalar {
  const ad = model.adapter;
  if (!ad) throw new Error('fusedMicroGrads: the model has no adapter');
  if (grads.size !== ad.layout.size) throw new Error(`fusedMicroGrads: gradient buffer has ${grads.size} values, the adapter ${ad.layout.size}`);
  const c = model.config;
  const { rows: B, length: T } = batch;
  const N = B * T;
  const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
  const positions = tf.tensor2d(batch.positions, [B, T], 'int32');
  const segments = tf.tensor2d(batch.segments, [B, T], 'int32');
  const fwd = model.forwardTrain(ids, positions, segments, checkpoint);
  const targetIndex = tf.tensor1d(batch.targetIndex, 'int32');
  const targets = tf.tensor1d(batch.targets, 'int32');
  const hT = tf.gather(fwd.h, targetIndex) as tf.Tensor2D; // (Nt, d): rows that have a label
  const { value, lse } = crossEntropyForward(hT, model.params.lmHead, targets, chunkRows);
  const dhT = crossEntropyBackward(hT, model.params.lmHead, targets, lse, 1, chunkRows); // (Nt, d)
  const dh = tf.tidy(() => (batch.tokens ? tf.scatterND(targetIndex.reshape([batch.tokens, 1]), dhT, [N, c.hiddenSize]) : tf.zeros([N, c.hiddenSize]))) as tf.Tensor2D;
  tf.dispose([hT, lse, dhT, fwd.h]);
  let dx = rmsNormBackward(fwd.last, model.params.finalNorm, c.rmsNormEps, dh);
  tf.dispose([dh, fwd.last]);
  for (let i = c.numLayers - 1; i >= 0; i--) {
    const acts = checkpoint ? model.recomputeActs(fwd.acts[i].x, i, fwd.positions, segments) : fwd.acts[i];
    const prev = layerBackward(model, i, acts, dx, fwd.positions, segments, grads, accumulate);
    dx.dispose();
    // acts[i].x is acts[i-1]'s output: dispose each layer's tensors once, here
    disposeActs(acts);
    dx = prev;
    submitPending(); // the layer below reuses this one's freed buffers (gpu/pool.ts)
  }
  tf.dispose([dx, ids, positions, segments, targetIndex, targets, fwd.positions]);
  return value;
}
