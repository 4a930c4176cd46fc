/**
 * Deterministic pseudo-random numbers for the synthetic capture.
 *
 * xoshiro128** (Blackman and Vigna, https://prng.di.unimi.it/xoshiro128starstar.c) on 32-bit integer
 * arithmetic, seeded through splitmix32. Why not Math.random(): the benchmark must be reproducible
 * byte for byte from a seed (the truth file describes one exact capture, and a cached capture is reused
 * only when its seed matches), and Math.random() cannot be seeded.
 */

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads a small seed (1, 2, 3...) over all 128 bits of state; xoshiro must never start at 0.
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    const s1 = this.b;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform integer in [0, n), n <= 2^21 (so the product stays exact in a double). */
  below(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }

  /** A uniform integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** A uniform double in [0, 1). */
  fraction(): number {
    return this.next() / 4294967296;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p * 4294967296;
  }

  /**
   * An index in [0, n) skewed towards 0 (density ~ 1/sqrt(x)): a few heavy flows and a long tail, as
   * real traffic has, so that flow tables see both repeated and new keys.
   */
  skewed(n: number): number {
    const u = this.fraction();
    return Math.floor(u * u * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
