/**
 * The fused optimizer steps over one flat parameter buffer P (n) with its
 * gradient G (n), each an in-place WGSL pass (runKernel with `output`):
 *   adamwMoments  MV (2n) ← β·MV + … from G·gradScale·coef   (adamw_moments.wgsl.ts)
 *   adamwParams   P ← P·(1 − lr·wd) − (lr/bc1)·m/(√v/√bc2 + eps)  (adamw_params.wgsl.ts)
 *   sgdUpdate     P ← P − lr·(G·gradScale·coef + wd·P)         (sgd_update.wgsl.ts)
 * coef (global-norm clipping) comes from sum_squares partials of G on the
 * GPU, so a whole AdamW step is 3 dispatches (sum_squares, moments, params)
 * and SGD 2, however many LoRA matrices P holds. Elementwise passes and a
 * barrier-free reduction: one version serves both kernel flavours
 * (program.ts). The composed tfjs reference is
 * src/engine/train/optimizer_reference.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_THREADS, adamwMomentsWgsl } from './adamw_moments.wgsl';
import { ADAMW_PARAMS_THREADS, adamwParamsWgsl } from './adamw_params.wgsl';
import { SGD_THREADS, sgdUpdateWgsl } from './sgd_update.wgsl';
import { sumSquaresParts } from './sum_squares.wgsl';
import { assertFloat32, f32, i32, runKernel } from './program';

/** How the raw gradient G becomes the one the step uses: G · gradScale, clipped to global norm maxNorm (0 = no clipping). */
export interface GradTransform {
  gradScale: number; // e.g. 1 / trained tokens
  maxNorm: number;
}

/** G flat with sumSquaresPartials(G) beside it; `target` (P or MV) flat with `per` values per gradient value. */
function check(op: string, target: tf.Tensor, per: number, g: tf.Tensor, partials: tf.Tensor): void {
  assertFloat32(op, target, g, partials);
  if (target.rank !== 1 || g.rank !== 1 || target.size !== per * g.size) throw new Error(`${op}: [${target.shape}] for a gradient [${g.shape}] (want flat, ${per}× its size)`);
  if (partials.size !== sumSquaresParts(g.size)) throw new Error(`${op}: ${partials.size} partials for ${g.size} values (want sumSquaresPartials(G))`);
}

/** In place: mv (2n) = [m; v] updated from grad (n). */
export function adamwMoments(mv: tf.Tensor, grad: tf.Tensor, partials: tf.Tensor, t: GradTransform, beta1: number, beta2: number): void {
  const n = grad.size;
  check('adamwMoments', mv, 2, grad, partials);
  const K = partials.size;
  const stride = Math.max(1, Math.ceil(n / (4 * K)));
  runKernel(
    {
      key: 'adamw_moments',
      inputs: ['grad', 'partials'],
      outputShape: [2 * n],
      dispatch: [Math.ceil(stride / ADAMW_THREADS), 1, 1],
      workgroupSize: [ADAMW_THREADS, 1, 1],
      uniforms: 'count : i32, stride : i32, parts : i32, gradScale : f32, maxNorm : f32, beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32,',
      code: adamwMomentsWgsl(),
    },
    [grad, partials],
    'float32',
    [i32(n), i32(stride), i32(K), f32(t.gradScale), f32(t.maxNorm), f32(beta1), f32(1 - beta1), f32(beta2), f32(1 - beta2)],
    mv,
  );
}

export interface AdamwParamsArgs {
  lr: number;
  weightDecay: number;
  eps: number;
  beta1: number;
  beta2: number;
  step: number; // t, 1-based, for the bias corrections
}

/** In place: params (n) from the moments mv (2n) that adamwMoments just updated. */
export function adamwParams(params: tf.Tensor, mv: tf.Tensor, a: AdamwParamsArgs): void {
  assertFloat32('adamwParams', params, mv);
  const n = params.size;
  if (params.rank !== 1 || mv.size !== 2 * n) throw new Error(`adamwParams: P [${params.shape}] with moments of ${mv.size} values (want flat P and 2n moments)`);
  const bc1 = 1 - Math.pow(a.beta1, a.step);
  const bc2 = 1 - Math.pow(a.beta2, a.step);
  const stride = Math.ceil(n / 4);
  runKernel(
    {
      key: 'adamw_params',
      inputs: ['mv'],
      outputShape: [n],
      dispatch: [Math.ceil(stride / ADAMW_PARAMS_THREADS), 1, 1],
      workgroupSize: [ADAMW_PARAMS_THREADS, 1, 1],
      uniforms: 'count : i32, stride : i32, decay : f32, stepSize : f32, sqrtBc2 : f32, eps : f32,',
      code: adamwParamsWgsl(),
    },
    [mv],
    'float32',
    [i32(n), i32(stride), f32(1 - a.lr * a.weightDecay), f32(a.lr / bc1), f32(Math.sqrt(bc2)), f32(a.eps)],
    params,
  );
}

/** In place: params (n) ← params − lr·(grad·gradScale·coef + wd·params). */
export function sgdUpdate(params: tf.Tensor, grad: tf.Tensor, partials: tf.Tensor, t: GradTransform, lr: number, weightDecay: number): void {
  check('sgdUpdate', params, 1, grad, partials);
  const n = params.size;
  const K = partials.size;
  const stride = Math.max(1, Math.ceil(n / (4 * K)));
  runKernel(
    {
      key: 'sgd_update',
      inputs: ['grad', 'partials'],
      outputShape: [n],
      dispatch: [Math.ceil(stride / SGD_THREADS), 1, 1],
      workgroupSize: [SGD_THREADS, 1, 1],
      uniforms: 'count : i32, stride : i32, parts : i32, gradScale : f32, maxNorm : f32, lr : f32, weightDecay : f32,',
      code: sgdUpdateWgsl(),
    },
    [grad, partials],
    'float32',
    [i32(n), i32(stride), i32(K), f32(t.gradScale), f32(t.maxNorm), f32(lr), f32(weightDecay)],
    params,
  );
}
