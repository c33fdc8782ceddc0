import * as tf from '@tensorflow/tfjs';

/** max |a - b| and max |b| (for a relative figure), read back asynchronously. */
export async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<{ abs: number; rel: number }> {
  const [da, db] = await Promise.all([a.data(), b.data()]);
  if (da.length !== db.length) throw new Error(`size ${da.length} vs ${db.length}`);
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < da.length; i++) {
    const d = Math.abs(da[i] - db[i]);
    if (!(d <= abs)) abs = Number.isNaN(d) ? Infinity : Math.max(abs, d);
    scale = Math.max(scale, Math.abs(db[i]));
  }
  return { abs, rel: abs / Math.max(scale, 1e-6) };
}

/** Seeded normal tensor so failures reproduce. */
export function randn(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tidy(() => tf.randomNormal(shape, 0, scale, 'float32', seed));
}

/**
 * Central finite differences of sum(f(inputs) * w) for a few coordinates of
 * input `which`; returns [numeric, analytic] pairs given the analytic grad.
 */
export async function finiteDiff(
  f: (xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  w: tf.Tensor,
  which: number,
  grad: tf.Tensor,
  coords: number[],
  eps: number,
): Promise<[number, number][]> {
  const base = await inputs[which].data();
  const g = await grad.data();
  const out: [number, number][] = [];
  for (const i of coords) {
    const vals: number[] = [];
    for (const sgn of [1, -1]) {
      const x = Float32Array.from(base);
      x[i] += sgn * eps;
      const xt = tf.tensor(x, inputs[which].shape);
      const xs = inputs.slice();
      xs[which] = xt;
      const loss = tf.tidy(() => f(xs).mul(w).sum());
      vals.push((await loss.data())[0]);
      loss.dispose();
      xt.dispose();
    }
    out.push([(vals[0] - vals[1]) / (2 * eps), g[i]]);
  }
  return out;
}
