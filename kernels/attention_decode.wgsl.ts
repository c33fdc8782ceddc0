/**
 * attention_decode — causal GQA attention for a handful of query rows
 * (decoding against a KV cache), split over keys.
 *
 * Computes the same as attention_forward.wgsl.ts, without segment ids:
 *   O[b,h,t,:] = softmax_j( q_t·k_j / sqrt(D) ) · V[b,kvh,j,:],  j <= pos(t)
 *   L[b,h,t]   = logsumexp_j( q_t·k_j / sqrt(D) )                (for backward)
 * with kvh = h / (H / Hkv) and pos(t) = qoff[0] + t (or S - T + t without a
 * query offset). Keys past pos(t) are not read at all: the cache capacity S
 * may be far larger than the filled length, and the cost follows the filled
 * length. A row with no visible key (pos < 0) gets O = 0 and L = 0.
 *
 * Why a second kernel: attention_forward maps 16 query rows × 4 threads onto
 * a workgroup; with T = 1 only 4 of its 64 threads do useful work and the
 * keys are walked serially tile by tile. Here the 64 threads of a workgroup
 * split the keys of ONE query row between them (FlashDecoding's idea,
 * Dao et al. 2023, inside one workgroup instead of across workgroups).
 *
 * Shapes and layout (all row-major float32, contiguous):
 *   q   (B, H, T, D)      k, v (B, Hkv, S, D)      qoff (1) int32, optional
 *   out (B·H·T·D + B·H·T) flat: O (B, H, T, D) followed by L (B, H, T),
 *       the same packed buffer attention_forward writes, so the backward
 *       kernels can run on it unchanged.
 *
 * Work mapping: one workgroup per (t, h, b); 64 threads. Thread i takes keys
 * j = i, i + 64, i + 128, ... < pos(t) + 1 and keeps its own online-softmax
 * state: running max m_i, running sum l_i and acc_i[D] (q pre-scaled, q and
 * acc in registers: 2·D floats per thread). Each thread reads whole K/V rows
 * (D contiguous floats): contiguous for a CPU (SwiftShader) but not coalesced
 * across threads on a real GPU; a kernel for real GPUs would rather give a key
 * to a few threads splitting D. Each query head re-reads its kv head's K/V
 * (a GQA group's heads are separate workgroups; sharing would need G·D
 * accumulators per thread).
 *
 * Merge (workgroup memory, 16 KB budget): 64 threads × D = 128 floats of acc
 * would be 32 KB, so the merge goes in passes. First the maxima: every
 * thread reads the 64 m_i and forms M = max m_i, rescales its own state by
 * w_i = exp(m_i - M) (0 for a thread that saw no key), and the 64 l_i·w_i
 * sum to L. Then acc goes through a 64 × C scratch (C = 32 columns: 8 KB) in
 * D / C passes: every thread writes its C scaled columns, then the 64 threads
 * each sum one column over 64 / (64 / C) = C rows (64 / C threads per
 * column), and C threads add those 64 / C partial sums and write O = sum / L.
 * For D < 32, C is D rounded up to a power of two (columns past D are 0).
 * Workgroup memory: 64·C + 64 floats, at most 8.25 KB.
 *
 * Numerics: online softmax per thread (acc and l are rescaled only when the
 * thread's max grows), merged exactly like FlashAttention's block merge; all
 * f32. Summation order differs from the composed reference, ~1e-6 relative.
 */
export interface AttentionDecodeConfig {
  D: number; // head dim (compile-time)
  hasOffset: boolean; // query positions start at qoff[0] instead of S - T
}

export const DECODE_THREADS = 64;
/** Query rows up to which fusedAttention uses this kernel (one workgroup per row). */
export const DECODE_MAX_T = 4;

/** acc columns per merge pass: 32, or D rounded up to a power of two when smaller. */
export function decodeChunk(D: number): number {
  let c = 1;
  while (c < Math.min(D, 32)) c *= 2;
  return c;
}

export function attentionDecodeWgsl({ D, hasOffset }: AttentionDecodeConfig): string {
  const C = decodeChunk(D);
  return /* wgsl */ `
const D = ${D};
const NT = ${DECODE_THREADS};
const C = ${C};            // acc columns per merge pass
const TPC = NT / C;        // threads summing one column
const RPT = C;             // rows (threads' states) each of them sums: NT / TPC
const MASKED = -1e30;

var<workgroup> red : array<f32, ${DECODE_THREADS * C}>;   // NT × C scaled acc columns
var<workgroup> part : array<f32, NT>;                        // m_i, then l_i·w_i, then column partial sums

${'fn main(index : i32)'} {
  let tid = i32(localId.x);
  let t = i32(workgroupId.x);
  let h = i32(workgroupId.y);
  let b = i32(workgroupId.z);
  let T = uniforms.T;
  let S = uniforms.S;
  let H = uniforms.H;
  let kvh = h / (H / uniforms.Hkv);
  let off = ${hasOffset ? 'qoff[0]' : 'S - T'};
  let kEnd = clamp(off + t + 1, 0, S);        // keys [0, kEnd) are visible
  let row = (b * H + h) * T + t;
  let kBase = (b * uniforms.Hkv + kvh) * S * D;

  var qreg : array<f32, D>;
  for (var d = 0; d < D; d++) { qreg[d] = q[row * D + d] * uniforms.scale; }
  var m = MASKED;
  var l = 0.0;
  var acc : array<f32, D>;
  for (var d = 0; d < D; d++) { acc[d] = 0.0; }

  // this thread's share of the keys; no barrier inside, so a non-uniform bound is fine
  for (var j = tid; j < kEnd; j += NT) {
    let base = kBase + j * D;
    var s = 0.0;
    for (var d = 0; d < D; d++) { s += qreg[d] * k[base + d]; }
    if (s > m) {
      let alpha = exp(m - s);
      l *= alpha;
      for (var d = 0; d < D; d++) { acc[d] *= alpha; }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    for (var d = 0; d < D; d++) { acc[d] += p * v[base + d]; }
  }

  // merge: common max, then the sum of the rescaled l_i
  part[tid] = m;
  workgroupBarrier();
  var M = MASKED;
  for (var i = 0; i < NT; i++) { M = max(M, part[i]); }
  let w = exp(m - M);                         // 0 for a thread that saw no key
  workgroupBarrier();
  part[tid] = l * w;
  workgroupBarrier();
  var L = 0.0;
  for (var i = 0; i < NT; i++) { L += part[i]; }
  var inv = 0.0;
  if (L > 0.0) { inv = 1.0 / L; }
  workgroupBarrier();

  // then acc, C columns per pass through the NT × C scratch
  let col = tid % C;
  let grp = tid / C;
  for (var c0 = 0; c0 < D; c0 += C) {
    for (var c = 0; c < C; c++) {
      var a = 0.0;
      if (c0 + c < D) { a = acc[c0 + c] * w; }
      red[tid * C + c] = a;
    }
    workgroupBarrier();
    var sum = 0.0;
    for (var r = 0; r < RPT; r++) { sum += red[(grp * RPT + r) * C + col]; }
    part[tid] = sum;                          // = part[grp * C + col]
    workgroupBarrier();
    if (tid < C && c0 + tid < D) {
      var total = 0.0;
      for (var g = 0; g < TPC; g++) { total += part[g * C + tid]; }
      result[row * D + c0 + tid] = total * inv;
    }
    workgroupBarrier();
  }
  if (tid == 0) {
    var lse = 0.0;
    if (L > 0.0) { lse = M + log(L); }
    result[uniforms.B * H * T * D + row] = lse;
  }
}
`;
}
