// The single-view geometric steps: resizes, crops, flips and padding.
import {
  cropGeometry,
  flipGeometry,
  padGeometry,
  resizeGeometry,
  type ViewGeometry,
} from './geometry';
import type { TransformStep } from './transforms';
import {
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  checkPositiveNumber,
  checkProbability,
  checkRange,
  checkSize,
  fail,
  withDefault,
  type Check,
  type OptionSpec,
} from '@convnets/validate';

/** A step from its parts (`random` marks the steps that draw from the rng). */
export function step(
  name: string,
  random: boolean,
  outputSize: TransformStep['outputSize'],
  apply: TransformStep['apply'],
  views = 1,
): TransformStep {
  return Object.assign({ name, views, outputSize, apply }, { random });
}

/** The output size of a step whose output size depends on the image. */
export const unknownSize = () => null;

/** Python's `round()` (half to even), which torchvision's centre crop uses. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The size of an image whose shorter side is resized to `s`, as torchvision's `Resize(int)` computes it. */
export function shorterSideSize(width: number, height: number, s: number): [number, number] {
  // torchvision: the long side is int(s * long / short), truncated.
  if (width <= height) return [s, Math.floor((s * height) / width)];
  return [Math.floor((s * width) / height), s];
}

/**
 * Resizes so that the shorter side is `s` (aspect ratio kept): a fixed size,
 * a random integer in `[min, max]` (the ResNet paper's scale augmentation,
 * [256, 480]; VGG's multi-scale training, [256, 512]), or a random choice
 * from a list.
 *
 * @example
 * ```ts
 * resizeShorterSide(256); // torchvision's Resize(256)
 * resizeShorterSide([256, 480]); // ResNet §3.4 scale augmentation
 * resizeShorterSide({ choices: [256, 384, 512] });
 * ```
 * @param s - The shorter side: a positive integer, a `[min, max]` pair
 *   (uniform integer per image, both inclusive) or `{ choices }` (one of the
 *   listed sizes per image).
 * @returns The step; the long side is `floor(s · long / short)`, as torchvision computes it.
 * @throws Error when `s` is not a positive integer, an ordered pair of them
 *   or a non-empty list of them. Applying the step throws when it follows a
 *   crop or pad of an already resized image.
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 * @see [Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image Recognition", §3.1](https://arxiv.org/abs/1409.1556)
 */
export function resizeShorterSide(
  s: number | readonly [number, number] | { choices: readonly number[] },
): TransformStep {
  const where = 'resizeShorterSide';
  if (typeof s === 'number') {
    checkPositiveInt(where, 's', s);
    return step(`resizeShorterSide(${s})`, false, unknownSize, (g) => {
      resizeGeometry(g, ...shorterSideSize(g.width, g.height, s));
      return g;
    });
  }
  if (Array.isArray(s)) {
    const [lo, hi] = checkRange(where, 's', s, checkPositiveInt);
    return step(`resizeShorterSide([${lo}, ${hi}])`, true, unknownSize, (g, rng) => {
      resizeGeometry(g, ...shorterSideSize(g.width, g.height, rng.int(lo, hi)));
      return g;
    });
  }
  const choices = (s as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    fail(where, 's', s, 'a positive integer, a [min, max] pair or { choices: [...] }');
  }
  choices.forEach((c) => checkPositiveInt(where, 's.choices', c));
  return step(`resizeShorterSide(one of ${choices.join(', ')})`, true, unknownSize, (g, rng) => {
    resizeGeometry(
      g,
      ...shorterSideSize(g.width, g.height, choices[rng.int(0, choices.length - 1)]),
    );
    return g;
  });
}

/**
 * Resizes to exactly `[height, width]` (aspect ratio not kept).
 *
 * @example
 * ```ts
 * const step = resize([224, 224]); // or resize(224)
 * ```
 * @param size - The output size: one integer for a square, or `[height, width]`.
 * @returns The step.
 * @throws Error when `size` is not a positive integer or a pair of them.
 *   Applying the step throws when it follows a crop or pad of an already
 *   resized image.
 */
export function resize(size: number | readonly [number, number]): TransformStep {
  const [h, w] = checkSize('resize', 'size', size);
  return step(
    `resize(${h}×${w})`,
    false,
    () => [h, w],
    (g) => {
      resizeGeometry(g, w, h);
      return g;
    },
  );
}

/** Fails unless a `h`×`w` crop fits in the view. */
export function checkFits(where: string, g: ViewGeometry, h: number, w: number): void {
  if (g.width < w || g.height < h) {
    throw new Error(
      `${where}: cannot crop ${h}×${w} (height×width) from an image of ${g.height}×${g.width}; resize or pad it first.`,
    );
  }
}

/**
 * A random `size` crop (uniform position), as in the ResNet and VGG papers.
 *
 * @example
 * ```ts
 * const steps = [resizeShorterSide([256, 480]), randomCrop(224)];
 * ```
 * @param size - The crop size: one integer for a square, or `[height, width]`.
 * @returns The step.
 * @throws Error when `size` is not a positive integer or a pair of them.
 *   Applying the step throws when the image is smaller than `size` (resize or
 *   pad it first).
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function randomCrop(size: number | readonly [number, number]): TransformStep {
  const [h, w] = checkSize('randomCrop', 'size', size);
  return step(
    `randomCrop(${h}×${w})`,
    true,
    () => [h, w],
    (g, rng) => {
      checkFits('randomCrop', g, h, w);
      cropGeometry(g, {
        left: rng.int(0, g.width - w),
        top: rng.int(0, g.height - h),
        width: w,
        height: h,
      });
      return g;
    },
  );
}

/**
 * The central `size` crop, positioned as torchvision's `CenterCrop` does
 * (offsets rounded half to even).
 *
 * @example
 * ```ts
 * const evalTransform = compose([resizeShorterSide(256), centerCrop(224)]);
 * ```
 * @param size - The crop size: one integer for a square, or `[height, width]`.
 * @returns The step.
 * @throws Error when `size` is not a positive integer or a pair of them.
 *   Applying the step throws when the image is smaller than `size`.
 */
export function centerCrop(size: number | readonly [number, number]): TransformStep {
  const [h, w] = checkSize('centerCrop', 'size', size);
  return step(
    `centerCrop(${h}×${w})`,
    false,
    () => [h, w],
    (g) => {
      checkFits('centerCrop', g, h, w);
      cropGeometry(g, {
        left: roundHalfEven((g.width - w) / 2),
        top: roundHalfEven((g.height - h) / 2),
        width: w,
        height: h,
      });
      return g;
    },
  );
}

/**
 * Mirrors left–right with probability `p`.
 *
 * @example
 * ```ts
 * const steps = [randomCrop(224), randomHorizontalFlip()];
 * ```
 * @param p - Probability of a flip, in [0, 1]. Default 0.5.
 * @returns The step.
 * @throws Error when `p` is not a number in [0, 1].
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 * @see [Krizhevsky et al. 2012, "ImageNet Classification with Deep Convolutional Neural Networks", §4.1](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 */
export function randomHorizontalFlip(p = 0.5): TransformStep {
  checkProbability('randomHorizontalFlip', 'p', p);
  return step(
    `randomHorizontalFlip(${p})`,
    true,
    (s) => s,
    (g, rng) => {
      if (rng.float() < p) flipGeometry(g);
      return g;
    },
  );
}

/**
 * Always mirrors left–right (for test-time augmentation).
 *
 * @example
 * ```ts
 * const mirrored = compose([resizeShorterSide(256), centerCrop(224), horizontalFlip()]);
 * ```
 * @returns The step.
 * @throws Nothing: the step has no options to check, and a flip applies to any view.
 */
export function horizontalFlip(): TransformStep {
  return step(
    'horizontalFlip',
    false,
    (s) => s,
    (g) => {
      flipGeometry(g);
      return g;
    },
  );
}

/**
 * Pads with `amount` black pixels on every side (CIFAR: 4).
 *
 * @example
 * ```ts
 * const cifar = compose([pad(4), randomCrop(32), randomHorizontalFlip()]);
 * ```
 * @param amount - Pixels added on each side, a non-negative integer.
 * @returns The step.
 * @throws Error when `amount` is not a non-negative integer.
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §4.2](https://arxiv.org/abs/1512.03385)
 */
export function pad(amount: number): TransformStep {
  checkNonNegativeInt('pad', 'amount', amount);
  return step(
    `pad(${amount})`,
    false,
    (s) => (s ? [s[0] + 2 * amount, s[1] + 2 * amount] : null),
    (g) => {
      padGeometry(g, amount);
      return g;
    },
  );
}

/** Options of {@link randomResizedCrop}. */
export interface RandomResizedCropOptions {
  /**
   * Range of the crop's area as a fraction of the image's.
   *
   * @defaultValue [0.08, 1]
   */
  scale?: readonly [number, number];
  /**
   * Range of the crop's aspect ratio width/height, sampled log-uniformly.
   *
   * @defaultValue [3/4, 4/3]
   */
  ratio?: readonly [number, number];
}

/** An ordered `[min, max]` pair of finite numbers above 0. */
const checkPositiveRange: Check<[number, number]> = (where, option, value) =>
  checkRange(where, option, value, checkPositiveNumber);

/** The one declaration of {@link RandomResizedCropOptions}, with torchvision's defaults. */
const RANDOM_RESIZED_CROP_SPEC = {
  scale: withDefault<readonly [number, number]>(checkPositiveRange, [0.08, 1]),
  ratio: withDefault<readonly [number, number]>(checkPositiveRange, [3 / 4, 4 / 3]),
} satisfies OptionSpec<RandomResizedCropOptions>;

/**
 * Inception-style random-resized crop (Szegedy et al. 2015), as torchvision's
 * `RandomResizedCrop`: a crop of random area and aspect ratio, resized to
 * `size`; after 10 failed draws, a centre crop with the ratio clamped.
 *
 * @example
 * ```ts
 * const train = compose([randomResizedCrop(224), randomHorizontalFlip()]);
 * const milder = randomResizedCrop(224, { scale: [0.35, 1] });
 * ```
 * @param size - The output size: one integer for a square, or `[height, width]`.
 * @param options - Area and aspect-ratio ranges (default `{}`: scale
 *   `[0.08, 1]`, ratio `[3/4, 4/3]`).
 * @returns The step.
 * @throws Error when `size` is not a positive integer or a pair of them, or
 *   `scale`/`ratio` is not an ordered pair of positive numbers, or an option
 *   is unknown.
 * @see [Szegedy et al. 2015, "Going Deeper with Convolutions", §6](https://arxiv.org/abs/1409.4842)
 */
export function randomResizedCrop(
  size: number | readonly [number, number],
  options: RandomResizedCropOptions = {},
): TransformStep {
  const where = 'randomResizedCrop';
  const [h, w] = checkSize(where, 'size', size);
  const {
    scale: [sLo, sHi],
    ratio: [rLo, rHi],
  } = checkOptions(where, options, RANDOM_RESIZED_CROP_SPEC);
  return step(
    `randomResizedCrop(${h}×${w})`,
    true,
    () => [h, w],
    (g, rng) => {
      const W = g.width;
      const H = g.height;
      const area = W * H;
      let crop: { left: number; top: number; width: number; height: number } | undefined;
      for (let attempt = 0; attempt < 10 && !crop; attempt++) {
        const target = area * rng.uniform(sLo, sHi);
        const aspect = Math.exp(rng.uniform(Math.log(rLo), Math.log(rHi)));
        const cw = Math.round(Math.sqrt(target * aspect));
        const ch = Math.round(Math.sqrt(target / aspect));
        if (cw > 0 && ch > 0 && cw <= W && ch <= H) {
          crop = { left: rng.int(0, W - cw), top: rng.int(0, H - ch), width: cw, height: ch };
        }
      }
      if (!crop) {
        const inRatio = W / H;
        let cw = W;
        let ch = H;
        if (inRatio < rLo) ch = Math.round(W / rLo);
        else if (inRatio > rHi) cw = Math.round(H * rHi);
        crop = {
          left: Math.floor((W - cw) / 2),
          top: Math.floor((H - ch) / 2),
          width: cw,
          height: ch,
        };
      }
      cropGeometry(g, crop);
      resizeGeometry(g, w, h);
      return g;
    },
  );
}
