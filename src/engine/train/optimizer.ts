/**
 * The optimizer of a flat parameter buffer P (n), the LoRA adapter's one
 * variable (src/engine/lora_layout.ts), as a few fused in-place GPU passes
 * per step whatever the number of LoRA matrices (kernels/fused_optimizer.ts):
 *   AdamW  sum_squares(G) → moments MV (2n) → P         3 dispatches
 *   SGD    sum_squares(G) → P                            2 dispatches
 * The step takes the raw summed gradient G; the division by the token count
 * (gradScale) and global-norm clipping happen inside the kernels, the clip
 * coefficient computed on the GPU from G's sum of squares, so nothing is read
 * back between the norm and the update. The norm is read back after the
 * update is queued, for the report.
 *
 * The maths are torch.optim.AdamW's (decoupled decay, then the bias-corrected
 * Adam step; Loshchilov & Hutter 2019) and torch.optim.SGD's (weight decay
 * added to the gradient), clipping as torch.nn.utils.clip_grad_norm_
 * (coef = max/(norm + 1e-6), at most 1); the composed tfjs reference is
 * optimizer_reference.ts.
 *
 * Saved state keeps the format from before P was flat: m and v as one
 * Float32Array per former variable (`segments`: A then B per layer and
 * target), so older checkpoints restore as they are.
 */
import * as tf from '@tensorflow/tfjs';
import { adamwMoments, adamwParams, sgdUpdate } from '../../../kernels/fused_optimizer';
import { normFromPartials, sumSquaresPartials } from '../../../kernels/sum_squares';
import { getBackend } from '../gpu/device';

export type OptimizerKind = 'adamw' | 'sgd';

export interface OptimizerConfig {
  kind: OptimizerKind;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface OptimizerState {
  t: number; // steps taken
  m: Float32Array[]; // first moments, one per segment (AdamW; empty for SGD)
  v: Float32Array[]; // second moments
}

/** A piece of P saved as one array: [offset, offset + length). */
export interface StateSegment {
  offset: number;
  length: number;
}

export interface StepArgs {
  lr: number;
  /** multiplies G before everything else (1/tokens: the gradient of the loss sum becomes that of the mean) */
  gradScale: number;
  /** global-norm clipping of G·gradScale; 0 = none */
  maxGradNorm: number;
}

export class Optimizer {
  private t = 0;
  /** AdamW moments [m; v] (2n), m and v at P's offsets; null for SGD */
  private mv: tf.Tensor1D | null = null;

  constructor(
    readonly params: tf.Variable, // (n)
    readonly config: OptimizerConfig,
    readonly segments: StateSegment[],
  ) {
    if (params.rank !== 1) throw new Error(`optimizer: parameters must be one flat vector, got [${params.shape}]`);
    if (config.kind === 'adamw') this.mv = tf.keep(tf.zeros([2 * params.size]) as tf.Tensor1D);
  }

  get stepsTaken(): number {
    return this.t;
  }

  /**
   * Queues one update of P from the raw gradient G (n) and returns ‖G·gradScale‖
   * (before clipping), read back after the update is queued. G is only read.
   */
  async step(grads: tf.Tensor, a: StepArgs): Promise<number> {
    if (grads.size !== this.params.size || grads.rank !== 1) throw new Error(`optimizer: gradient [${grads.shape}] for ${this.params.size} parameters`);
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.ownParamsBuffer();
    this.t += 1;
    const transform = { gradScale: a.gradScale, maxNorm: a.maxGradNorm };
    const partials = sumSquaresPartials(grads);
    if (this.mv) {
      adamwMoments(this.mv, grads, partials, transform, beta1, beta2);
      adamwParams(this.params, this.mv, { lr: a.lr, weightDecay, eps, beta1, beta2, step: this.t });
    } else sgdUpdate(this.params, grads, partials, transform, a.lr, weightDecay);
    const norm = (await normFromPartials(partials)) * a.gradScale;
    partials.dispose();
    return norm;
  }

  /**
   * The kernels write P in place, which is only right while no other tensor
   * shares its buffer (tfjs's assign and clone share buffers): if one does,
   * give P a copy of its own first.
   */
  private ownParamsBuffer(): void {
    if (getBackend().refCount(this.params.dataId) <= 1) return;
    const own = tf.tidy(() => this.params.mul(1));
    this.params.assign(own);
    own.dispose();
  }

  async save(): Promise<OptimizerState> {
    if (!this.mv) return { t: this.t, m: [], v: [] };
    const n = this.params.size;
    const mv = (await this.mv.data()) as Float32Array;
    return {
      t: this.t,
      m: this.segments.map((s) => mv.slice(s.offset, s.offset + s.length)),
      v: this.segments.map((s) => mv.slice(n + s.offset, n + s.offset + s.length)),
    };
  }

  restore(s: OptimizerState): void {
    this.t = s.t;
    if (!this.mv) return;
    const n = this.params.size;
    if (s.m.length !== this.segments.length || s.v.length !== this.segments.length) {
      throw new Error(`optimizer state has ${s.m.length} m and ${s.v.length} v arrays; this adapter has ${this.segments.length} matrices`);
    }
    const mv = new Float32Array(2 * n); // parts outside the segments (non-target linears) stay zero
    this.segments.forEach((seg, i) => {
      if (s.m[i].length !== seg.length || s.v[i].length !== seg.length) throw new Error(`optimizer state: matrix ${i} has ${s.m[i].length}/${s.v[i].length} values, want ${seg.length}`);
      mv.set(s.m[i], seg.offset);
      mv.set(s.v[i], n + seg.offset);
    });
    this.mv.dispose();
    this.mv = tf.keep(tf.tensor1d(mv));
  }

  dispose(): void {
    this.mv?.dispose();
    this.mv = null;
  }
}
