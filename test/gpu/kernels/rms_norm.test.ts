/**
 * Fused RMSNorm (kernels/rms_norm*.ts) against the composed tfjs reference
 * (src/engine/ops/norm.ts): forward, and dx against tfjs autograd of the
 * reference; finite differences on a small case.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initGpu } from '../../../src/engine/gpu/device';
import { rmsNormReference } from '../../../src/engine/ops/norm';
import { fusedRmsNorm } from '../../../kernels/rms_norm';
import { finiteDiff, maxDiff, randn } from './helpers';

describe('fused RMSNorm', () => {
  beforeAll(async () => {
    await initGpu();
  });

  for (const [N, D] of [[1, 4], [37, 64], [130, 172], [5, 896]]) {
    it(`(${N}, ${D}): forward and dx match the reference`, async () => {
      const x = randn([N, D], 1, 2) as tf.Tensor2D;
      const w = randn([D], 2) as tf.Tensor1D;
      const g = randn([N, D], 3);
      const fwd = await maxDiff(fusedRmsNorm(x, w, 1e-5), rmsNormReference(x, w, 1e-5));
      const [dRef] = tf.grads((xx: tf.Tensor) => rmsNormReference(xx as tf.Tensor2D, w, 1e-5).mul(g).sum())([x]);
      const [dOurs] = tf.grads((xx: tf.Tensor) => fusedRmsNorm(xx as tf.Tensor2D, w, 1e-5).mul(g).sum())([x]);
      const dx = await maxDiff(dOurs, dRef);
      console.log(`rms_norm (${N}, ${D}): fwd rel ${fwd.rel.toExponential(1)}, dx rel ${dx.rel.toExponential(1)}`);
      expect(fwd.rel).toBeLessThan(1e-5);
      expect(dx.rel).toBeLessThan(1e-5);
    });
  }

  it('finite differences agree with dx', async () => {
    const w = randn([8], 12) as tf.Tensor1D;
    const x = randn([3, 8], 11);
    const g = randn([3, 8], 13);
    const f = (xs: tf.Tensor[]) => fusedRmsNorm(xs[0] as tf.Tensor2D, w, 1e-5);
    const [grad] = tf.grads((xx: tf.Tensor) => f([xx]).mul(g).sum())([x]);
    const pairs = await finiteDiff(f, [x], g, 0, grad, [0, 5, 11, 23], 1e-2);
    const worst = Math.max(...pairs.map(([num, ana]) => Math.abs(num - ana) / Math.max(1e-2, Math.abs(num), Math.abs(ana))));
    console.log(`rms_norm finite differences: worst relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-2);
  });
});
