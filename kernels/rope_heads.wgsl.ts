/**
 * rope_heads — rotate-half RoPE (Su et al. 2021, HF's convention) fused with
 * the move from the fused projection's rows into attention's head layout, and
 * its backward.
 *
 * forward (one part per dispatch):
 *   qkv (N = B·T, W) with W = (H + 2·Hkv)·D, columns [q heads | k heads | v heads]
 *   part q: out (B, H,   T, D), head h reads columns h·D..     of the q block, rotated
 *   part k: out (B, Hkv, T, D), from the k block, rotated
 *   part v: out (B, Hkv, T, D), from the v block, copied (v is not rotated)
 *   rotation of a head row x at position p, j < D/2, θ_j = p·theta^(−2j/D):
 *     y_j = x_j·cos θ_j − x_{j+D/2}·sin θ_j,  y_{j+D/2} = x_{j+D/2}·cos θ_j + x_j·sin θ_j
 *   `toCache`: instead of a fresh (B, n, T, D) tensor, rows land in a KV
 *   cache (B, Hkv, C, D) at rows row0..row0+T−1, written in place (decode:
 *   no placement matmul over the whole cache).
 * backward (one dispatch): dq, dk, dv in head layout -> d_qkv (N, W), the
 *   inverse rotation dx_j = dy_j·cos + dy_{j+D/2}·sin,
 *   dx_{j+D/2} = dy_{j+D/2}·cos − dy_j·sin, v's gradient copied.
 *
 * positions (N) int32; cos, sin (maxPositions, D/2) tables (model.ts builds
 * them as HF does). Work mapping: one invocation per (row, head, j < D/2)
 * pair, so each invocation reads and writes the two halves it couples.
 * No workgroup memory, no barriers: one version serves both flavours.
 */
export const ROPE_THREADS = 64;
export const ROPE_UNIFORMS = 'B : i32, T : i32, H : i32, Hkv : i32, D : i32, n : i32, colBase : i32, rotate : i32, C : i32, row0 : i32,';

export function ropeHeadsWgsl(toCache: boolean): string {
  return /* wgsl */ `
fn main(index : i32) {
  let half = uniforms.D / 2;
  let total = uniforms.B * uniforms.T * uniforms.n * half;
  let id = index;
  if (id >= total) { return; }
  let j = id % half;
  let h = (id / half) % uniforms.n;
  let row = id / (half * uniforms.n); // b·T + t
  let b = row / uniforms.T;
  let t = row % uniforms.T;
  let W = (uniforms.H + 2 * uniforms.Hkv) * uniforms.D;
  let src = row * W + uniforms.colBase + h * uniforms.D + j;
  let x1 = qkv[src];
  let x2 = qkv[src + half];
  var y1 = x1;
  var y2 = x2;
  if (uniforms.rotate != 0) {
    let p = positions[row];
    let c = cosT[p * half + j];
    let s = sinT[p * half + j];
    y1 = x1 * c - x2 * s;
    y2 = x2 * c + x1 * s;
  }
  ${
    toCache
      ? 'let dst = ((b * uniforms.n + h) * uniforms.C + uniforms.row0 + t) * uniforms.D + j;'
      : 'let dst = ((b * uniforms.n + h) * uniforms.T + t) * uniforms.D + j;'
  }
  result[dst] = y1;
  result[dst + half] = y2;
}
`;
}

export function ropeHeadsBackwardWgsl(): string {
  return /* wgsl */ `
fn main(index : i32) {
  let D = uniforms.D;
  let half = D / 2;
  let heads = uniforms.H + 2 * uniforms.Hkv;
  let total = uniforms.B * uniforms.T * heads * half;
  let id = index;
  if (id >= total) { return; }
  let j = id % half;
  let hh = (id / half) % heads; // head index over [q heads | k heads | v heads]
  let row = id / (half * heads);
  let b = row / uniforms.T;
  let t = row % uniforms.T;
  var d1 = 0.0;
  var d2 = 0.0;
  var rotate = true;
  if (hh < uniforms.H) {
    let at = ((b * uniforms.H + hh) * uniforms.T + t) * D + j;
    d1 = dq[at];
    d2 = dq[at + half];
  } else if (hh < uniforms.H + uniforms.Hkv) {
    let at = ((b * uniforms.Hkv + hh - uniforms.H) * uniforms.T + t) * D + j;
    d1 = dk[at];
    d2 = dk[at + half];
  } else {
    let at = ((b * uniforms.Hkv + hh - uniforms.H - uniforms.Hkv) * uniforms.T + t) * D + j;
    d1 = dv[at];
    d2 = dv[at + half];
    rotate = false;
  }
  var g1 = d1;
  var g2 = d2;
  if (rotate) {
    let p = positions[row];
    let c = cosT[p * half + j];
    let s = sinT[p * half + j];
    g1 = d1 * c + d2 * s;
    g2 = d2 * c - d1 * s;
  }
  let dst = row * heads * D + hh * D + j;
  result[dst] = g1;
  result[dst + half] = g2;
}
`;
}
