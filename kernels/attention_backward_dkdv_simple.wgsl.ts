/**
 * attention_backward_dkdv_simple — dK and dV of causal GQA attention, one
 * invocation per key row: the 'simple' (barrier-free) flavour of
 * attention_backward_dkdv.wgsl.ts, same contract.
 *
 * For key j of KV head kvh, over the query heads h of its GQA group and the
 * query rows t that see it (pos(t) >= j, matching non-zero segment):
 *   P     = exp(q_t·k_j·scale − L_t)
 *   dV_j += P · dO_t
 *   dK_j += scale · P · (dO_t·v_j − delta_t) · q_t
 *
 * Shapes: q, dy (B, H, T, D), k, v (B, Hkv, S, D), bound as vec4;
 * stats (B·H·T, 2) = (L, delta); seg (B, T) optional; qoff (1) optional;
 * out flat (2·B·Hkv·S·D): dK then dV, each (B, Hkv, S, D).
 *
 * Work mapping: dispatch (ceil(S / (64·KB)), Hkv, B); an invocation owns KB
 * consecutive keys (rowsPerInvocation), their k, v and both accumulators in
 * registers; each query row's q, dO and stats are read once for all KB keys.
 * The group's heads are summed in the invocation: no atomics, no barriers.
 */
import { rowsPerInvocation, SIMPLE_ROWS, unroll, type AttentionSimpleConfig } from './attention_forward_simple.wgsl';

export function attentionBackwardDkdvSimpleWgsl({ D, hasSeg, hasOffset }: AttentionSimpleConfig): string {
  const D4 = D / 4;
  const KB = rowsPerInvocation(D);
  const keys = (f: (c: number) => string) => unroll(KB, f);
  const dims = (f: (d: number) => string, sep = '\n') => unroll(D4, f, sep);
  return /* wgsl */ `
const D = ${D};
const D4 = ${D4};

fn main(index : i32) {
  let b = i32(workgroupId.z);
  let kvh = i32(workgroupId.y);
  let j0 = (i32(workgroupId.x) * ${SIMPLE_ROWS} + i32(localId.x)) * ${KB};
  let S = uniforms.S;
  if (j0 >= S) { return; }
  let T = uniforms.T;
  let H = uniforms.H;
  let Hkv = uniforms.Hkv;
  let group = H / Hkv;
  let off = ${hasOffset ? 'qoff[0]' : 'S - T'};
  let keyBase = (b * Hkv + kvh) * S;
${keys(
  (c) => `
  let kr${c} = (keyBase + min(j0 + ${c}, S - 1)) * D4;
  ${dims((d) => `let k${c}_${d} = k[kr${c} + ${d}] * uniforms.scale; let v${c}_${d} = v[kr${c} + ${d}]; var dk${c}_${d} = vec4<f32>(0.0); var dv${c}_${d} = vec4<f32>(0.0);`)}
  ${hasSeg ? `let sk${c} = seg[b * T + min(j0 + ${c}, S - 1)];` : ''}`,
)}
  let tStart = max(0, j0 - off);     // first query whose position reaches key j0
  for (var hh = 0; hh < group; hh++) {
    let rowBase = (b * H + kvh * group + hh) * T;
    for (var t = tStart; t < T; t++) {
      let row = rowBase + t;
      let pos = off + t;
      ${hasSeg ? 'let segQ = seg[b * T + t];' : ''}
      let L = stats[row * 2];
      let delta = stats[row * 2 + 1];
      ${dims((d) => `let q${d} = q[row * D4 + ${d}];`, ' ')}
      ${dims((d) => `let g${d} = dy[row * D4 + ${d}];`, ' ')}
${keys(
  (c) => `
      if (j0 + ${c} <= pos${hasSeg ? ` && segQ == sk${c} && segQ != 0` : ''}) {
        let s = ${dims((d) => `dot(q${d}, k${c}_${d})`, ' + ')};
        let dp = ${dims((d) => `dot(g${d}, v${c}_${d})`, ' + ')};
        let p = exp(s - L);
        let ds = p * (dp - delta);
        ${dims((d) => `dv${c}_${d} += p * g${d}; dk${c}_${d} += ds * q${d};`, ' ')}
      }`,
)}
    }
  }
  let n = uniforms.B * Hkv * S * D;
${keys(
  (c) => `
  if (j0 + ${c} < S) {
    ${dims((d) => `{ let at = kr${c} * 4 + ${d * 4}; let gk = dk${c}_${d} * uniforms.scale; result[at] = gk.x; result[at + 1] = gk.y; result[at + 2] = gk.z; result[at + 3] = gk.w; result[n + at] = dv${c}_${d}.x; result[n + at + 1] = dv${c}_${d}.y; result[n + at + 2] = dv${c}_${d}.z; result[n + at + 3] = dv${c}_${d}.w; }`)}
  }`,
)}
}
`;
}
