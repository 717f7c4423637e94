import {
  cloneGeometry,
  cropGeometry,
  flipGeometry,
  initialGeometry,
  padGeometry,
  resizeGeometry,
  type ResizeKernel,
  type ViewGeometry,
} from './geometry';
import type { Random } from './rng';
import {
  bool,
  checkKnownOptions,
  fail,
  finiteNumber,
  nonNegativeInt,
  oneOf,
  positiveInt,
  positiveNumber,
  probability,
  range,
  rgb,
  size as sizeOption,
} from './validate';

/**
 * One geometric step of a transform: it changes the geometry of each view
 * (resize, crop, pad, flip), or turns one view into several (ten-crop,
 * multi-scale). Steps only plan; pixels are produced once, by sharp, after
 * the last step.
 */
export interface TransformStep {
  /** A readable description, e.g. `"randomCrop(224)"`. */
  readonly name: string;
  /** How many views each input view becomes (1 for all but multi-view steps). */
  readonly views: number;
  /**
   * The output size `[height, width]` given the input size, or `null` when it varies per image.
   *
   * @param input - The size `[height, width]` this step receives, or `null`
   *   when the previous steps give a size that varies per image.
   * @returns The size this step produces, or `null` when it varies per image.
   * @throws Nothing for the built-in steps.
   */
  outputSize(input: readonly [number, number] | null): readonly [number, number] | null;
  /**
   * Plans the step on one view, drawing any randomness from `rng`.
   *
   * @param view - The geometry so far; single-view steps change it in place
   *   and return it.
   * @param rng - The generator for this sample's random choices.
   * @returns The changed view, or several new views for a multi-view step.
   * @throws Error when the step cannot apply to this view, e.g. a crop larger
   *   than the image, or a resize after a crop or pad of a resized image.
   */
  apply(view: ViewGeometry, rng: Random): ViewGeometry | ViewGeometry[];
}

/**
 * AlexNet's "lighting" colour augmentation (Krizhevsky et al. 2012, §4.1):
 * each image gets `eigenvectors · (α ⊙ eigenvalues)` added to every pixel,
 * with α ~ N(0, alphaStd²) drawn per image. Eigen-decomposition of the
 * training set's RGB covariance, in units of pixel / 255.
 *
 * @see [Krizhevsky et al. 2012, "ImageNet Classification with Deep Convolutional Neural Networks", §4.1](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 */
export interface LightingOptions {
  /** Standard deviation of α (0.1 in AlexNet and fb.resnet.torch). */
  alphaStd: number;
  /** The three eigenvalues. */
  eigenvalues: readonly [number, number, number];
  /** The eigenvectors as the columns of a 3×3 matrix, row-major (row = R, G, B). */
  eigenvectors: readonly (readonly [number, number, number])[];
}

/** A per-pixel mean image (`[height, width, 3]`, in output units before std scaling). */
export interface MeanImage {
  /** Height; must match the transform's output. */
  readonly height: number;
  /** Width; must match the transform's output. */
  readonly width: number;
  /** `height × width × 3` values, RGB, row-major. */
  readonly data: Float32Array;
}

/**
 * How 8-bit pixels become float32 values:
 * `out = (pixel · scale + lighting − mean) / std`, per channel (or per pixel
 * for a {@link MeanImage}). Applied on typed arrays, once per batch.
 */
export interface Normalization {
  /**
   * Multiplier applied to the 0 … 255 pixels first: `1` (Caffe/paper style) or `1/255` (torchvision style).
   *
   * @defaultValue 1
   */
  scale?: number;
  /**
   * Mean to subtract: `[r, g, b]`, or a per-pixel {@link MeanImage}, in scaled units.
   *
   * @defaultValue [0, 0, 0] (nothing subtracted)
   */
  mean?: readonly [number, number, number] | MeanImage;
  /**
   * Standard deviation to divide by, `[r, g, b]` in scaled units (each greater than 0).
   *
   * @defaultValue [1, 1, 1] (no division)
   */
  std?: readonly [number, number, number];
  /**
   * AlexNet-style PCA colour augmentation (see {@link LightingOptions}).
   *
   * @defaultValue `undefined` (no lighting)
   */
  lighting?: LightingOptions;
}

/** A {@link Normalization} with every field checked and filled in. */
export interface ResolvedNormalization {
  /** See {@link Normalization.scale}. */
  readonly scale: number;
  /** See {@link Normalization.mean}. */
  readonly mean: readonly [number, number, number] | MeanImage;
  /** See {@link Normalization.std}. */
  readonly std: readonly [number, number, number];
  /** See {@link Normalization.lighting}. */
  readonly lighting: LightingOptions | null;
}

/** What a transform decides for one image: the geometry of each view and its colour shift. */
export interface SamplePlan {
  /** One geometry per output view. */
  readonly views: ViewGeometry[];
  /** RGB offset added to every pixel (lighting), in scaled units. */
  readonly rgbOffset: readonly [number, number, number];
}

/**
 * A complete image transform: geometric steps (run by sharp) and a
 * normalisation (run on typed arrays). Build one with {@link compose} or take
 * a named preset ({@link resnetPaperTrain}, {@link torchvisionEval}, …).
 */
export interface Transform {
  /** A readable description. */
  readonly name: string;
  /** Whether this is a training transform (random; bad images are skipped by default). */
  readonly training: boolean;
  /** Output size `[height, width]`, or `null` when it varies per image (multi-scale evaluation). */
  readonly outputSize: readonly [number, number] | null;
  /** Views per image (10 for ten-crop). */
  readonly views: number;
  /** The geometric steps. */
  readonly steps: readonly TransformStep[];
  /** The pixel normalisation. */
  readonly normalization: ResolvedNormalization;
  /** The resampling kernel of every resize. */
  readonly kernel: ResizeKernel;
  /**
   * Plans one image of size `width × height`.
   *
   * @param width - Width of the decoded source image, in pixels.
   * @param height - Height of the decoded source image, in pixels.
   * @param rng - The generator for this sample's random choices (crop
   *   positions, flips, lighting).
   * @returns The geometry of each view and the lighting offset.
   * @throws Error when a step cannot apply to an image of this size, e.g. a
   *   crop larger than the (resized) image.
   */
  plan(width: number, height: number, rng: Random): SamplePlan;
}

/** Options of {@link compose}. */
export interface ComposeOptions {
  /**
   * Pixel normalisation.
   *
   * @defaultValue `{}` (scale 1, no mean, std or lighting: values stay 0 … 255)
   */
  normalization?: Normalization;
  /**
   * Mark the transform as a training transform (random; the loader skips bad images by default).
   *
   * @defaultValue `true` when any step is random, else `false`
   */
  training?: boolean;
  /**
   * Resampling kernel of every resize; `'linear'` is torchvision's bilinear with antialiasing.
   *
   * @defaultValue 'linear'
   */
  kernel?: ResizeKernel;
  /**
   * A name for messages.
   *
   * @defaultValue the steps' names joined with `" → "`
   */
  name?: string;
}

const KERNELS: readonly ResizeKernel[] = [
  'nearest',
  'linear',
  'cubic',
  'mitchell',
  'lanczos2',
  'lanczos3',
];

function isMeanImage(mean: unknown): mean is MeanImage {
  return mean !== null && typeof mean === 'object' && !Array.isArray(mean) && 'data' in mean;
}

/** Checks a normalisation and fills in defaults. */
export function resolveNormalization(where: string, n: Normalization = {}): ResolvedNormalization {
  checkKnownOptions(where, n, ['scale', 'mean', 'std', 'lighting']);
  const scale = positiveNumber(where, 'normalization.scale', n.scale ?? 1);
  let mean: ResolvedNormalization['mean'] = [0, 0, 0];
  if (isMeanImage(n.mean)) {
    const m = n.mean;
    positiveInt(where, 'normalization.mean.height', m.height);
    positiveInt(where, 'normalization.mean.width', m.width);
    if (!(m.data instanceof Float32Array) || m.data.length !== m.height * m.width * 3) {
      fail(
        where,
        'normalization.mean.data',
        m.data,
        `a Float32Array of height × width × 3 = ${m.height * m.width * 3} values`,
      );
    }
    mean = m;
  } else if (n.mean !== undefined) {
    mean = rgb(where, 'normalization.mean', n.mean);
  }
  const std =
    n.std === undefined ? ([1, 1, 1] as const) : rgb(where, 'normalization.std', n.std, true);
  let lighting: LightingOptions | null = null;
  if (n.lighting !== undefined) {
    const l = n.lighting;
    checkKnownOptions(where, l, ['alphaStd', 'eigenvalues', 'eigenvectors']);
    const alphaStd = finiteNumber(where, 'normalization.lighting.alphaStd', l.alphaStd);
    const eigenvalues = rgb(where, 'normalization.lighting.eigenvalues', l.eigenvalues);
    if (!Array.isArray(l.eigenvectors) || l.eigenvectors.length !== 3) {
      fail(
        where,
        'normalization.lighting.eigenvectors',
        l.eigenvectors,
        'a 3×3 matrix (three rows of three numbers)',
      );
    }
    const eigenvectors = l.eigenvectors.map((row) =>
      rgb(where, 'normalization.lighting.eigenvectors', row),
    );
    lighting = { alphaStd, eigenvalues, eigenvectors };
  }
  return { scale, mean, std, lighting };
}

/**
 * Builds a transform from geometric steps and a normalisation.
 *
 * @example
 * ```ts
 * const train = compose([resizeShorterSide([256, 480]), randomCrop(224), randomHorizontalFlip()], {
 *   normalization: { scale: 1 / 255, mean: IMAGENET_MEAN, std: IMAGENET_STD },
 * });
 * ```
 * @param steps - The geometric steps, run in order on each view.
 * @param options - Normalisation, training flag, resize kernel and name
 *   (default `{}`: no normalisation, `'linear'` kernel, training when any
 *   step is random).
 * @returns The transform, for {@link createLoader} or {@link transformImage}.
 * @throws Error when `steps` is not an array of steps, an option is unknown
 *   or invalid, or a per-pixel mean image does not match the transform's
 *   fixed output size.
 */
export function compose(steps: readonly TransformStep[], options: ComposeOptions = {}): Transform {
  const where = 'compose';
  checkKnownOptions(where, options, ['normalization', 'training', 'kernel', 'name']);
  if (!Array.isArray(steps) || steps.some((s) => typeof s?.apply !== 'function')) {
    fail(
      where,
      'steps',
      steps,
      'an array of transform steps (resizeShorterSide(…), randomCrop(…), …)',
    );
  }
  const normalization = resolveNormalization(where, options.normalization);
  const kernel = oneOf(where, 'kernel', options.kernel ?? 'linear', KERNELS);
  const random = steps.some((s) => (s as { random?: boolean }).random === true);
  const training = bool(where, 'training', options.training ?? random);
  let outputSize: readonly [number, number] | null = null;
  let views = 1;
  for (const step of steps) {
    outputSize = step.outputSize(outputSize);
    views *= step.views;
  }
  const mean = normalization.mean;
  if (
    isMeanImage(mean) &&
    (!outputSize || outputSize[0] !== mean.height || outputSize[1] !== mean.width)
  ) {
    throw new Error(
      `${where}: a per-pixel mean image of ${mean.height}×${mean.width} needs a transform with that fixed output size; this one outputs ${outputSize ? outputSize.join('×') : 'varying sizes'}.`,
    );
  }
  const name = options.name ?? steps.map((s) => s.name).join(' → ');
  return {
    name,
    training,
    outputSize,
    views,
    steps,
    normalization,
    kernel,
    plan(width: number, height: number, rng: Random): SamplePlan {
      let current = [initialGeometry(width, height)];
      for (const step of steps) {
        current = current.flatMap((view) => step.apply(view, rng));
      }
      let rgbOffset: [number, number, number] = [0, 0, 0];
      const l = normalization.lighting;
      if (l) {
        const alpha = [0, 1, 2].map((j) => rng.normal() * l.alphaStd * l.eigenvalues[j]);
        // Lighting is defined on pixel/255; bring it into scaled units.
        const unit = 255 * normalization.scale;
        rgbOffset = [0, 1, 2].map(
          (i) =>
            unit *
            (l.eigenvectors[i][0] * alpha[0] +
              l.eigenvectors[i][1] * alpha[1] +
              l.eigenvectors[i][2] * alpha[2]),
        ) as [number, number, number];
      }
      return { views: current, rgbOffset };
    },
  };
}

function step(
  name: string,
  random: boolean,
  outputSize: TransformStep['outputSize'],
  apply: TransformStep['apply'],
  views = 1,
): TransformStep {
  return Object.assign({ name, views, outputSize, apply }, { random });
}

const unknownSize = () => null;

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
    positiveInt(where, 's', s);
    return step(`resizeShorterSide(${s})`, false, unknownSize, (g) => {
      resizeGeometry(g, ...shorterSideSize(g.width, g.height, s));
      return g;
    });
  }
  if (Array.isArray(s)) {
    const [lo, hi] = range(where, 's', s, positiveInt);
    return step(`resizeShorterSide([${lo}, ${hi}])`, true, unknownSize, (g, rng) => {
      resizeGeometry(g, ...shorterSideSize(g.width, g.height, rng.int(lo, hi)));
      return g;
    });
  }
  const choices = (s as { choices?: unknown }).choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    fail(where, 's', s, 'a positive integer, a [min, max] pair or { choices: [...] }');
  }
  choices.forEach((c) => positiveInt(where, 's.choices', c));
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
  const [h, w] = sizeOption('resize', 'size', size);
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

function checkFits(where: string, g: ViewGeometry, h: number, w: number): void {
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
  const [h, w] = sizeOption('randomCrop', 'size', size);
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
  const [h, w] = sizeOption('centerCrop', 'size', size);
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
  probability('randomHorizontalFlip', 'p', p);
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
  nonNegativeInt('pad', 'amount', amount);
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
  const [h, w] = sizeOption(where, 'size', size);
  checkKnownOptions(where, options, ['scale', 'ratio']);
  const [sLo, sHi] = range(where, 'scale', options.scale ?? [0.08, 1], positiveNumber);
  const [rLo, rHi] = range(where, 'ratio', options.ratio ?? [3 / 4, 4 / 3], positiveNumber);
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

/**
 * Ten views: the four corner crops and the centre crop, then the same five
 * of the mirrored image (torchvision's `TenCrop` order: top-left, top-right,
 * bottom-left, bottom-right, centre, then flipped). AlexNet §4.1, ResNet §3.4.
 *
 * @example
 * ```ts
 * const tta = compose([resizeShorterSide(256), tenCropViews(224)]); // tta.views === 10
 * ```
 * @param size - The crop size: one integer for a square, or `[height, width]`.
 * @returns The step; each input view becomes 10.
 * @throws Error when `size` is not a positive integer or a pair of them.
 *   Applying the step throws when the image is smaller than `size`.
 * @see [Krizhevsky et al. 2012, "ImageNet Classification with Deep Convolutional Neural Networks", §4.1](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function tenCropViews(size: number | readonly [number, number]): TransformStep {
  const where = 'tenCropViews';
  const [h, w] = sizeOption(where, 'size', size);
  return step(
    `tenCropViews(${h}×${w})`,
    false,
    () => [h, w],
    (g) => {
      checkFits(where, g, h, w);
      const views: ViewGeometry[] = [];
      for (const flipped of [false, true]) {
        const W = g.width;
        const H = g.height;
        const corners: [number, number][] = [
          [0, 0],
          [W - w, 0],
          [0, H - h],
          [W - w, H - h],
          [roundHalfEven((W - w) / 2), roundHalfEven((H - h) / 2)],
        ];
        for (const [left, top] of corners) {
          const view = cloneGeometry(g);
          if (flipped) flipGeometry(view);
          cropGeometry(view, { left, top, width: w, height: h });
          views.push(view);
        }
      }
      return views;
    },
    10,
  );
}

/**
 * One view per scale, the shorter side resized to each, for fully
 * convolutional multi-scale evaluation (VGG §3.2, ResNet §3.4: {224, 256,
 * 384, 480, 640}); optionally each with its mirror too.
 *
 * @example
 * ```ts
 * const views = multiScaleViews([224, 256, 384, 480, 640], { flip: true }); // 10 views
 * ```
 * @param scales - Shorter-side sizes, positive integers, one view each.
 * @param options - `flip`: add each view's mirror after it (default `{}`,
 *   i.e. `flip: false`).
 * @returns The step; each input view becomes `scales.length` views (twice
 *   that with `flip`), of sizes that vary per image.
 * @throws Error when `scales` is empty or holds a value that is not a
 *   positive integer, or when `flip` is not a boolean or an option is unknown.
 * @see [Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image Recognition", §3.2](https://arxiv.org/abs/1409.1556)
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function multiScaleViews(
  scales: readonly number[],
  options: { flip?: boolean } = {},
): TransformStep {
  const where = 'multiScaleViews';
  if (!Array.isArray(scales) || scales.length === 0)
    fail(where, 'scales', scales, 'a non-empty array of sizes');
  scales.forEach((s) => positiveInt(where, 'scales', s));
  checkKnownOptions(where, options, ['flip']);
  const flip = bool(where, 'flip', options.flip ?? false);
  return step(
    `multiScaleViews(${scales.join(', ')}${flip ? ', flip' : ''})`,
    false,
    unknownSize,
    (g) =>
      scales.flatMap((s) => {
        const view = cloneGeometry(g);
        resizeGeometry(view, ...shorterSideSize(g.width, g.height, s));
        if (!flip) return [view];
        const mirrored = cloneGeometry(view);
        flipGeometry(mirrored);
        return [view, mirrored];
      }),
    scales.length * (flip ? 2 : 1),
  );
}
