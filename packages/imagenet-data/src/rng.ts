/**
 * A small, seedable, serialisable PRNG (sfc32) and the seed mixing that makes
 * every random choice a pure function of (seed, epoch, sample): the same seed
 * gives the same permutation and the same augmentation on any machine, in any
 * decode order, and a resumed run needs only its position.
 */

/** Mixes 32-bit words into one (murmur3's finaliser over a running hash). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    // Split to 32-bit halves so that seeds above 2^32 still matter.
    for (const word of [part >>> 0, Math.floor(part / 2 ** 32) >>> 0]) {
      h = Math.imul(h ^ word, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/**
 * Small Fast Counter PRNG (sfc32, from PractRand): 128 bits of state, passes
 * BigCrush, and is exact on every JS engine because it only uses 32-bit
 * integer arithmetic.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the generator from any number of integers, hashed together into its state. */
  constructor(...seed: number[]) {
    this.a = mixSeed(1, ...seed);
    this.b = mixSeed(2, ...seed);
    this.c = mixSeed(3, ...seed);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** A uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** A standard normal sample (Box–Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** A Fisher–Yates permutation of `0 … n-1` drawn from `rng`. */
export function permutation(n: number, rng: Random): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.float() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
