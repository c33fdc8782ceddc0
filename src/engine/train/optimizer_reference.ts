/**
 * The composed tfjs reference of the fused optimizer (optimizer.ts): one
 * tfjs chain per variable. AdamW (Loshchilov & Hutter 2019; PyTorch's update
 * order: decoupled decay p ← p − lr·wd·p, then the Adam step) and SGD (weight
 * decay added to the gradient, as torch.optim.SGD does). Global-norm clipping
 * as torch.nn.utils.clip_grad_norm_ (coef = max/(norm + 1e-6), at most 1).
 * This was the trainer's optimizer before the fused kernels; the tests check
 * the fused one against it.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig, OptimizerState } from './optimizer';

export class ReferenceOptimizer {
  private t = 0;
  private m: tf.Tensor[] = [];
  private v: tf.Tensor[] = [];

  constructor(
    readonly vars: tf.Variable[],
    readonly config: OptimizerConfig,
  ) {
    if (config.kind === 'adamw') {
      this.m = vars.map((x) => tf.keep(tf.zerosLike(x)));
      this.v = vars.map((x) => tf.keep(tf.zerosLike(x)));
    }
  }

  /** Applies one update with gradients `grads` (same order as vars) at learning rate lr. */
  apply(grads: tf.Tensor[], lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.t += 1;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = grads[i];
        if (this.config.kind === 'sgd') {
          const step = weightDecay ? g.add(p.mul(weightDecay)) : g;
          p.assign(p.sub(step.mul(lr)));
          return;
        }
        const m = this.m[i].mul(beta1).add(g.mul(1 - beta1));
        const v = this.v[i].mul(beta2).add(g.square().mul(1 - beta2));
        this.m[i].dispose();
        this.v[i].dispose();
        this.m[i] = tf.keep(m);
        this.v[i] = tf.keep(v);
        const bc1 = 1 - Math.pow(beta1, this.t);
        const bc2 = 1 - Math.pow(beta2, this.t);
        const decayed = weightDecay ? p.mul(1 - lr * weightDecay) : p;
        // torch: denom = sqrt(v)/sqrt(bc2) + eps; p -= (lr/bc1) · m / denom
        const denom = v.sqrt().div(Math.sqrt(bc2)).add(eps);
        p.assign(decayed.sub(m.div(denom).mul(lr / bc1)));
      });
    });
  }

  async save(): Promise<OptimizerState> {
    return {
      t: this.t,
      m: await Promise.all(this.m.map(async (x) => (await x.data()) as Float32Array)),
      v: await Promise.all(this.v.map(async (x) => (await x.data()) as Float32Array)),
    };
  }

  restore(s: OptimizerState): void {
    this.t = s.t;
    if (this.config.kind === 'adamw') {
      this.m.forEach((x) => x.dispose());
      this.v.forEach((x) => x.dispose());
      this.m = s.m.map((d, i) => tf.keep(tf.tensor(d, this.vars[i].shape)));
      this.v = s.v.map((d, i) => tf.keep(tf.tensor(d, this.vars[i].shape)));
    }
  }

  dispose(): void {
    [...this.m, ...this.v].forEach((x) => x.dispose());
  }
}

/** Global L2 norm of the gradients, and the gradients scaled to at most maxNorm (0 = no clipping). */
export async function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): Promise<{ grads: tf.Tensor[]; norm: number }> {
  // a running sum, not tf.addN: addN binds every input at once and WebGPU allows few storage buffers per shader
  const normT = tf.tidy(() => tf.sqrt(grads.map((g) => g.square().sum()).reduce((a, b) => a.add(b))));
  const norm = (await normT.data())[0];
  normT.dispose();
  if (!(maxNorm > 0)) return { grads, norm };
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  if (coef >= 1) return { grads, norm };
  const scaled = grads.map((g) => g.mul(coef));
  grads.forEach((g) => g.dispose());
  return { grads: scaled, norm };
}
