/**
 * attention_backward_dq_simple — dQ of causal GQA attention, one invocation
 * per query row: the 'simple' (barrier-free) flavour of
 * attention_backward_dq.wgsl.ts, same contract.
 *
 *   P[t, j]  = exp(q_t·k_j·scale − L_t)            (visible keys only)
 *   dS[t, j] = P[t, j] · (dO_t·v_j − delta_t)
 *   dQ[t]    = scale · Σ_j dS[t, j] · k_j
 * with L_t, delta_t from attention_backward_prep (stats (B·H·T, 2)) and the
 * same visibility rule as the forward (j <= pos, matching non-zero segment).
 *
 * Shapes: q, dy (B, H, T, D), k, v (B, Hkv, S, D), all bound as vec4;
 * stats (B·H·T, 2); seg (B, T) int32 optional; qoff (1) optional;
 * out dQ (B, H, T, D).
 *
 * Work mapping: dispatch (ceil(T / (64·RB)), H, B); an invocation owns RB
 * consecutive query rows (rowsPerInvocation), whose q, dO and dQ accumulators
 * live in registers; each key's K and V are read once from storage for all RB.
 */
import { queryRowsPreamble, rowsPerInvocation, unroll, type AttentionSimpleConfig } from './attention_forward_simple.wgsl';

export function attentionBackwardDqSimpleWgsl({ D, hasSeg, hasOffset }: AttentionSimpleConfig): string {
  const D4 = D / 4;
  const RB = rowsPerInvocation(D);
  const rows = (f: (r: number) => string) => unroll(RB, f);
  const dims = (f: (d: number) => string, sep = '\n') => unroll(D4, f, sep);
  return /* wgsl */ `
const D = ${D};
const D4 = ${D4};

fn main(index : i32) {
${queryRowsPreamble(RB, hasOffset)}
${rows(
  (r) => `
  let row${r} = rowBase + min(t0 + ${r}, T - 1);
  ${dims((d) => `let q${r}_${d} = q[row${r} * D4 + ${d}] * uniforms.scale; let g${r}_${d} = dy[row${r} * D4 + ${d}]; var a${r}_${d} = vec4<f32>(0.0);`)}
  let L${r} = stats[row${r} * 2];
  let delta${r} = stats[row${r} * 2 + 1];
  ${hasSeg ? `let sq${r} = seg[b * T + min(t0 + ${r}, T - 1)];` : ''}`,
)}
  let jEnd = min(S, pos0 + ${RB});
  for (var j = 0; j < jEnd; j++) {
    let kj = kBase + j * D4;
    ${hasSeg ? 'let segK = seg[b * T + j];' : ''}
    ${dims((d) => `let k${d} = k[kj + ${d}];`, ' ')}
    ${dims((d) => `let v${d} = v[kj + ${d}];`, ' ')}
${rows(
  (r) => `
    if (j <= pos0 + ${r}${hasSeg ? ` && segK == sq${r} && segK != 0` : ''}) {
      let s = ${dims((d) => `dot(q${r}_${d}, k${d})`, ' + ')};
      let dp = ${dims((d) => `dot(g${r}_${d}, v${d})`, ' + ')};
      let ds = exp(s - L${r}) * (dp - delta${r});
      ${dims((d) => `a${r}_${d} += ds * k${d};`, ' ')}
    }`,
)}
  }
${rows(
  (r) => `
  if (t0 + ${r} < T) {
    ${dims((d) => `{ let g = a${r}_${d} * uniforms.scale; let at = row${r} * D + ${d * 4}; result[at] = g.x; result[at + 1] = g.y; result[at + 2] = g.z; result[at + 3] = g.w; }`)}
  }`,
)}
}
`;
}
