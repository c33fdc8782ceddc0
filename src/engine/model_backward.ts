/**
 * The backward pass of model.ts's decoder, written out (as llm.c's
 * gpt2_backward is) rather than left to tfjs autograd: each step is the
 * backward kernel of one forward op, in reverse order, and every LoRA
 * gradient is written straight into the adapter's flat gradient buffer G at
 * its layout offset (lora_layout.ts), accumulating across micro-batches in
 * the same pass. What autograd would add — gradient adds where a tensor has
 * two consumers, transposes, slices of stacked weights — is folded into the
 * kernels: the residual path's gradient enters RMSNorm's backward, dA and dB
 * of stacked pairs are one pass each. The inputs of dA that the forward did
 * not keep (LayerActs) are recomputed just before their projection's
 * backward, by the op the forward ran, and freed right after it:
 * act = swiglu(gu), m = rmsnorm(x2), a = rows(O), h = rmsnorm(x).
 *
 * Per layer, with s the LoRA scale and dy the gradient of the layer output:
 *   down:    act = swiglu(gu);  dyb = dy·B_d;  dact = dy·W_d + s·dyb·A_d;  dA_d += s·dybᵀ·act;  dB_d += s·dyᵀ·xa_d
 *   swiglu:  d_gu from gu and dact
 *   gate|up: m = rmsnorm(x2);  dyb = blockdiag(d_gu, B_gu);  dm = d_gu·W_gu + s·dyb·A_gu;  dA_gu += s·dybᵀ·m;  dB_gu += s·d_guᵀ·xa_gu
 *   norm 2:  dx2 = rmsnorm'(x2, dm) + dy            (the residual path)
 *   o:       a = rows(O);  dyb = dx2·B_o;  da = dx2·W_o + s·dyb·A_o;  dA_o += s·dybᵀ·a;  dB_o += s·dx2ᵀ·xa_o
 *   attn:    dO = heads(da);  dq, dk, dv = attention'(q, k, v, O, L, dO);  d_qkv = rope'(dq, dk, dv)
 *   q|k|v:   h = rmsnorm(x);  dyb = blockdiag(d_qkv, B_qkv);  dh = d_qkv·W_qkv + s·dyb·A_qkv;  dA_qkv += s·dybᵀ·h;  dB_qkv += s·d_qkvᵀ·xa_qkv
 *   norm 1:  dx = rmsnorm'(x, dh) + dx2
 * Tested against tfjs autograd of the reference path (test/gpu/model_backward.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { attentionBackward } from '../../kernels/attention_backward';
import { loraMatmul } from '../../kernels/lora_linear';
import { loraDyB } from '../../kernels/lora_dy_b';
import { simpleMatmulTN } from '../../kernels/matmul_simple';
import { rmsNormBackward } from '../../kernels/rms_norm';
import { headsToRows, rowsToHeads } from '../../kernels/heads_rows';
import { ropeHeadsBackward } from '../../kernels/rope_heads';
import { swigluBackward } from '../../kernels/swiglu';
import type { AdapterProvider, LayerActs, LlamaModel } from './model';
import type { GroupSlot } from './lora_layout';
import type { Frozen } from './frozen';
import { memberBounds } from './ops/linear';
import { rmsNorm } from './ops/norm';
import { swiglu } from './ops/swiglu';

/** Gradient of one projection group: dx of its input, dA/dB into G. */
function projectionBackward(
  dy: tf.Tensor2D, // (N, Σ out)
  x: tf.Tensor2D, // the projection's input (N, in)
  xa: tf.Tensor2D, // x·A_stackedᵀ (N, members·r)
  w: Frozen, // stacked weights (Σ out, in)
  g: GroupSlot,
  ad: AdapterProvider,
  grads: tf.Tensor,
  accumulate: boolean,
): tf.Tensor2D {
  const r = ad.layout.rank;
  const s = ad.scale;
  const members = g.outs.length;
  const dyb = loraDyB(dy, ad.params, g.b, r, g.outs); // (N, members·r)
  // dx = dy·W + s·dyb·A_stacked: W read transposed, A (members·r, in) k-major
  const dx = loraMatmul({ x: dy, w, wRowsAreN: false, u: dyb, vmat: ad.params, vOffset: g.a, vRowsAreN: false, rank: members * r, scale: s });
  simpleMatmulTN(dyb, x, s, { into: { tensor: grads, offset: g.a, accumulate } }); // dA (members·r, in)
  simpleMatmulTN(dy, xa, s, { J: r, groups: members > 1 ? memberBounds(g.outs) : null, into: { tensor: grads, offset: g.b, accumulate } }); // dB (Σ out, r)
  dyb.dispose();
  return dx;
}

/** One layer's backward: gradient of its input from the gradient dy of its output. Disposes nothing of acts. */
export function layerBackward(model: LlamaModel, i: number, acts: LayerActs, dy: tf.Tensor2D, positions: tf.Tensor1D, segmentIds: tf.Tensor2D | null, grads: tf.Tensor, accumulate: boolean): tf.Tensor2D {
  const ad = model.adapter;
  if (!ad) throw new Error('layerBackward: the model has no adapter');
  const l = model.params.layers[i];
  const g = ad.layout.groups[i];
  const eps = model.config.rmsNormEps;
  const [B, , T] = acts.q.shape;
  const dims = model.dims(B, T);
  const tmp: tf.Tensor[] = [];
  const keep = <X extends tf.Tensor>(t: X) => (tmp.push(t), t);
  // --- MLP block ---
  const act = swiglu(acts.gu); // (N, ff), recomputed: down's input
  const dact = keep(projectionBackward(dy, act, acts.xaDown!, l.down, g.down, ad, grads, accumulate)); // (N, ff)
  act.dispose();
  const dgu = keep(swigluBackward(acts.gu, dact)); // (N, 2·ff)
  const m = rmsNorm(acts.x2, l.postNorm, eps); // (N, d), recomputed: gate|up's input
  const dm = keep(projectionBackward(dgu, m, acts.xaGu!, l.gateUp, g.gateUp, ad, grads, accumulate)); // (N, d)
  m.dispose();
  const dx2 = keep(rmsNormBackward(acts.x2, l.postNorm, eps, dm, dy)); // (N, d)
  // --- attention block ---
  const a = headsToRows(acts.packed, B, dims.H, T, dims.D); // (N, H·D), recomputed from O: o_proj's input
  const da = keep(projectionBackward(dx2, a, acts.xaO!, l.o, g.o, ad, grads, accumulate)); // (N, H·D)
  a.dispose();
  const dO = keep(rowsToHeads(da, B, dims.H, T, dims.D)); // (B, H, T, D)
  const { dq, dk, dv } = attentionBackward(acts.q, acts.k, acts.v, { seg: segmentIds, qoff: null }, acts.packed, dO);
  tmp.push(dq, dk, dv);
  const dqkv = keep(ropeHeadsBackward(dq, dk, dv, positions, model.ropeCos, model.ropeSin, dims)); // (N, H·D + 2·Hkv·D)
  const h = rmsNorm(acts.x, l.inputNorm, eps); // (N, d), recomputed: q|k|v's input
  const dh = keep(projectionBackward(dqkv, h, acts.xaQkv!, l.qkv, g.qkv, ad, grads, accumulate)); // (N, d)
  h.dispose();
  const dx = rmsNormBackward(acts.x, l.inputNorm, eps, dh, dx2);
  tf.dispose(tmp);
  return dx;
}

/** Releases a layer's saved activations. */
export function disposeActs(acts: LayerActs): void {
  tf.dispose(Object.values(acts).filter((t): t is tf.Tensor => !!t));
}
