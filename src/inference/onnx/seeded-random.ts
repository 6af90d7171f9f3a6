/**
 * A small seeded PRNG (mulberry32). Sampling must be reproducible for a given `--seed` across runs, machines and
 * Node versions, which `Math.random` is not; the tiny model's weights use it too, so they are byte-for-byte stable.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform float in [-bound, bound). */
  symmetric(bound: number): number {
    return (this.next() * 2 - 1) * bound;
  }
}
