/**
 * Seeded pseudo-random numbers (mulberry32): the same seed gives the same
 * stream in the browser and in Node, so a seed reproduces a completion, a
 * shuffle or an adapter initialisation.
 */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** the internal state, to save in checkpoints */
  save(): number {
    return this.state;
  }
  restore(state: number): void {
    this.state = state >>> 0;
  }
}
