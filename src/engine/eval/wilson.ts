/**
 * Wilson score interval for a binomial proportion (E. B. Wilson, "Probable
 * inference, the law of succession, and statistical inference", JASA 1927).
 * Unlike the normal ("Wald") interval p ± z·sqrt(p(1−p)/n) it stays inside
 * [0, 1] and does not collapse to a point at 0/n or n/n, which matters for
 * the ten or twenty judgements of a class demo:
 *
 *   centre = (p + z²/2n) / (1 + z²/n)
 *   half   = z · sqrt(p(1−p)/n + z²/4n²) / (1 + z²/n)
 *
 * `successes` may be fractional (a tie counted as half a win); the formula
 * only uses p = successes / n.
 */

/** z of a two-sided 95% interval */
export const Z95 = 1.959963984540054;

export interface Interval {
  lo: number;
  hi: number;
}

export function wilsonInterval(successes: number, n: number, z = Z95): Interval {
  if (!(n > 0)) return { lo: 0, hi: 1 }; // no evidence: every rate is possible
  if (successes < 0 || successes > n) throw new Error(`wilsonInterval: ${successes} successes out of ${n}`);
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/** A win rate with its 95% Wilson interval. */
export interface DecidedRate {
  p: number;
  lo: number;
  hi: number;
}

/**
 * The one win-rate definition of the engine and the page, for people and the
 * judge alike: wins ÷ decided comparisons (wins + losses), ties and unparsed
 * verdicts apart (they are reported beside the rate, never folded into it);
 * null when nothing was decided.
 */
export function decidedWinRate(wins: number, losses: number): DecidedRate | null {
  const n = wins + losses;
  return n > 0 ? { p: wins / n, ...wilsonInterval(wins, n) } : null;
}
