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
 * integer arithmetic. The same seed gives the same sequence everywhere.
 *
 * @example
 * ```ts
 * import { Random } from '@convnets/imagenet-data';
 *
 * const rng = new Random(42, 0); // e.g. (seed, epoch)
 * const u = rng.float(); // uniform in [0, 1)
 * const die = rng.int(1, 6); // 1 … 6
 * const z = rng.normal(); // standard normal
 * ```
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * Seeds the generator from any number of integers, hashed together into its state.
   *
   * @param seed - Any number of integers (e.g. a run seed, an epoch, a sample
   *   index), mixed into the state; values above 2^32 still matter. No
   *   arguments gives one fixed sequence.
   * @throws Nothing: every list of numbers is a valid seed.
   */
  constructor(...seed: number[]) {
    this.a = mixSeed(1, ...seed);
    this.b = mixSeed(2, ...seed);
    this.c = mixSeed(3, ...seed);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /**
   * Draws a uniformly distributed unsigned 32-bit integer.
   *
   * @returns An integer in [0, 2^32).
   * @throws Nothing: the generator only does 32-bit integer arithmetic.
   */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /**
   * Draws a uniform float in [0, 1).
   *
   * @returns A multiple of 2^-32 in [0, 1).
   * @throws Nothing.
   */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /**
   * Draws a uniform float in [lo, hi).
   *
   * @param lo - Lower bound (inclusive).
   * @param hi - Upper bound (exclusive).
   * @returns `lo + (hi - lo) * u` for a uniform `u` in [0, 1).
   * @throws Nothing: the bounds are not checked, so `hi < lo` gives a value in (hi, lo].
   */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /**
   * Draws a uniform integer in [lo, hi] (both inclusive).
   *
   * @param lo - Smallest value (an integer).
   * @param hi - Largest value (an integer, at least `lo`).
   * @returns An integer in [lo, hi].
   * @throws Nothing: the bounds are not checked; pass integers with `lo ≤ hi`.
   */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /**
   * Draws a standard normal sample (Box–Muller).
   *
   * @returns A sample from N(0, 1); always finite.
   * @throws Nothing.
   */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/**
 * A Fisher–Yates permutation of `0 … n-1` drawn from `rng`: the shuffle the
 * loader uses for each epoch, exported so that other data sources shuffle the
 * same way.
 *
 * @param n - How many indices (a non-negative integer).
 * @param rng - The generator to draw from; it advances by one draw per index after the first.
 * @returns The indices `0 … n-1` in random order.
 * @throws Nothing: `n` is not checked; pass a non-negative integer.
 *
 * @example
 * ```ts
 * import { permutation, Random } from '@convnets/imagenet-data';
 * const order = permutation(10, new Random(42, 0)); // 0 … 9, shuffled by (seed, epoch)
 * ```
 */
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

/**
 * The order in which a shuffled epoch reads a dataset: a {@link permutation}
 * seeded by `(seed, epoch)`. The loader shuffles with it, and so should any
 * other data source that wants the loader's order for the same seed.
 *
 * @param n - Samples in the dataset (a non-negative integer).
 * @param seed - The data seed.
 * @param epoch - The epoch (0-based).
 * @returns The indices `0 … n-1` in this epoch's order.
 * @throws Nothing: the arguments are not checked.
 *
 * @example
 * ```ts
 * import { epochPermutation } from '@convnets/imagenet-data';
 * const order = epochPermutation(50000, 1, 0); // the first epoch's order for seed 1
 * ```
 */
export function epochPermutation(n: number, seed: number, epoch: number): Uint32Array {
  return permutation(n, new Random(seed, epoch, 0x5eed));
}

/**
 * The generator of one sample's random choices in one epoch (crop position,
 * flip, lighting): seeded by `(seed, epoch, index)`, so that an image's
 * augmentation depends on nothing else — not the order, the batch, nor the
 * data source (the loader and in-memory arrays draw alike).
 *
 * @param seed - The data seed.
 * @param epoch - The epoch (0-based).
 * @param index - The sample's index in the dataset.
 * @returns A fresh generator.
 * @throws Nothing.
 *
 * @example
 * ```ts
 * import { cifarTrain, sampleRandom } from '@convnets/imagenet-data';
 * const plan = cifarTrain().plan(32, 32, sampleRandom(1, 0, 7)); // image 7's crop and flip in epoch 0
 * ```
 */
export function sampleRandom(seed: number, epoch: number, index: number): Random {
  return new Random(seed, epoch, index);
}
