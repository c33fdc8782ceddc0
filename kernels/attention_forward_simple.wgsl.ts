/**
 * attention_forward_simple — causal GQA attention forward, one invocation per
 * query row: the 'simple' (barrier-free) flavour of attention_forward.wgsl.ts,
 * with the same contract and output.
 *
 *   O[b,h,t,:] = softmax_j( q_t·k_j / sqrt(D) + mask(t, j) ) · V[b,kvh,j,:]
 *   L[b,h,t]   = logsumexp_j( q_t·k_j / sqrt(D) + mask(t, j) )
 * kvh = h / (H / Hkv); query t sits at position pos = (qoff[0] or S - T) + t;
 * key j is visible when j <= pos and, with segment ids, seg[j] == seg[t] != 0.
 * Rows with no visible key get O = 0 and L = 0.
 *
 * Shapes: q (B, H, T, D), k, v (B, Hkv, S, D) bound as vec4 (D % 4 == 0);
 * seg (B, T) int32 optional; qoff (1) int32 optional;
 * out flat (B·H·T·D + B·H·T): O then L.
 *
 * Work mapping: dispatch (ceil(T / (64·RB)), H, B), 64 invocations per
 * workgroup, each owning RB consecutive query rows (RB = 4 for D <= 16, 2 for
 * D <= 64, else 1, so one K/V load serves RB rows). It holds their pre-scaled
 * q and output accumulators (D/4 vec4 each) in registers and walks keys
 * 0..last position reading K and V straight from storage. No workgroup
 * memory, no barriers.
 *
 * Numerics: online softmax in f32 (running max m, sum l, rescale by
 * exp(m_old − m_new) when the max grows).
 */
export interface AttentionSimpleConfig {
  D: number;
  hasSeg: boolean;
  hasOffset: boolean;
}
export const SIMPLE_ROWS = 64;

/** Rows (or keys) one invocation owns: more for small heads, so a K/V (or Q/dO) load serves several. */
export const rowsPerInvocation = (D: number) => (D <= 16 ? 4 : D <= 64 ? 2 : 1);

/** `f(0) f(1) … f(n-1)` joined: the kernels unroll their small loops in the source (dynamically indexed local arrays are slow on SwiftShader). */
export const unroll = (n: number, f: (i: number) => string, sep = '\n') => Array.from({ length: n }, (_, i) => f(i)).join(sep);

/**
 * The start of main() shared by the per-query-row kernels (forward, dQ): this
 * invocation's batch b, head h, first row t0 (returning past T), the first
 * row's position pos0, its head's first row rowBase, and kBase, the first
 * vec4 of its KV head in k and v.
 */
export function queryRowsPreamble(RB: number, hasOffset: boolean): string {
  return `
  let b = i32(workgroupId.z);
  let h = i32(workgroupId.y);
  let t0 = (i32(workgroupId.x) * ${SIMPLE_ROWS} + i32(localId.x)) * ${RB};
  let T = uniforms.T;
  if (t0 >= T) { return; }
  let S = uniforms.S;
  let H = uniforms.H;
  let kvh = h / (H / uniforms.Hkv);
  let pos0 = ${hasOffset ? 'qoff[0]' : 'S - T'} + t0;
  let rowBase = (b * H + h) * T;
  let kBase = (b * uniforms.Hkv + kvh) * S * D4;`;
}

export function attentionForwardSimpleWgsl({ D, hasSeg, hasOffset }: AttentionSimpleConfig): string {
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
  ${dims((d) => `let q${r}_${d} = q[row${r} * D4 + ${d}] * uniforms.scale; var a${r}_${d} = vec4<f32>(0.0);`)}
  var m${r} = -1e30;
  var l${r} = 0.0;
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
      if (s > m${r}) {
        let alpha = exp(m${r} - s);
        l${r} = l${r} * alpha;
        ${dims((d) => `a${r}_${d} = a${r}_${d} * alpha;`, ' ')}
        m${r} = s;
      }
      let p = exp(s - m${r});
      l${r} += p;
      ${dims((d) => `a${r}_${d} += p * v${d};`, ' ')}
    }`,
)}
  }
  let lBase = uniforms.B * H * T * D;
${rows(
  (r) => `
  if (t0 + ${r} < T) {
    var inv = 0.0;
    var lse = 0.0;
    if (l${r} > 0.0) { inv = 1.0 / l${r}; lse = m${r} + log(l${r}); }
    ${dims((d) => `{ let o = a${r}_${d} * inv; let at = row${r} * D + ${d * 4}; result[at] = o.x; result[at + 1] = o.y; result[at + 2] = o.z; result[at + 3] = o.w; }`)}
    result[lBase + row${r}] = lse;
  }`,
)}
}
`;
}
