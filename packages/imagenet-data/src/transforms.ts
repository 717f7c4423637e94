import { initialGeometry, type ResizeKernel, type ViewGeometry } from './geometry';
import { isMeanImage, resolveNormalization } from './normalization';
import type { Random } from './rng';
import {
  checkBoolean,
  checkOptions,
  fail,
  oneOf,
  optional,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

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

/** The one declaration of {@link ComposeOptions}. */
const COMPOSE_SPEC = {
  normalization: unchecked<Normalization | undefined>(), // checked by resolveNormalization
  training: optional(checkBoolean), // default: whether any step is random
  kernel: withDefault(oneOf(KERNELS), 'linear'),
  name: unchecked<string | undefined>(),
} satisfies OptionSpec<ComposeOptions>;

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
  const checked = checkOptions(where, options, COMPOSE_SPEC);
  if (!Array.isArray(steps) || steps.some((s) => typeof s?.apply !== 'function')) {
    fail(
      where,
      'steps',
      steps,
      'an array of transform steps (resizeShorterSide(…), randomCrop(…), …)',
    );
  }
  const normalization = resolveNormalization(where, checked.normalization);
  const { kernel } = checked;
  const training =
    checked.training ?? steps.some((s) => (s as { random?: boolean }).random === true);
  const { outputSize, views } = outputShape(steps);
  checkMeanFits(where, normalization.mean, outputSize);
  const name = checked.name ?? steps.map((s) => s.name).join(' → ');
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
      return { views: current, rgbOffset: lightingOffset(normalization, rng) };
    },
  };
}

/** The fixed output size of the steps (null when it varies) and their views per image. */
function outputShape(steps: readonly TransformStep[]): {
  outputSize: readonly [number, number] | null;
  views: number;
} {
  let outputSize: readonly [number, number] | null = null;
  let views = 1;
  for (const step of steps) {
    outputSize = step.outputSize(outputSize);
    views *= step.views;
  }
  return { outputSize, views };
}

/** Fails when a per-pixel mean image does not match the fixed output size. */
function checkMeanFits(
  where: string,
  mean: ResolvedNormalization['mean'],
  outputSize: readonly [number, number] | null,
): void {
  if (
    isMeanImage(mean) &&
    (!outputSize || outputSize[0] !== mean.height || outputSize[1] !== mean.width)
  ) {
    throw new Error(
      `${where}: a per-pixel mean image of ${mean.height}×${mean.width} needs a transform with that fixed output size; this one outputs ${outputSize ? outputSize.join('×') : 'varying sizes'}.`,
    );
  }
}

/** One image's PCA lighting offset, in scaled units ([0, 0, 0] without lighting). */
function lightingOffset(
  normalization: ResolvedNormalization,
  rng: Random,
): [number, number, number] {
  const l = normalization.lighting;
  if (!l) return [0, 0, 0];
  const alpha = [0, 1, 2].map((j) => rng.normal() * l.alphaStd * l.eigenvalues[j]);
  // Lighting is defined on pixel/255; bring it into scaled units.
  const unit = 255 * normalization.scale;
  return [0, 1, 2].map(
    (i) =>
      unit *
      (l.eigenvectors[i][0] * alpha[0] +
        l.eigenvectors[i][1] * alpha[1] +
        l.eigenvectors[i][2] * alpha[2]),
  ) as [number, number, number];
}
