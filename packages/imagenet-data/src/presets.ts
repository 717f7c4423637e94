import type {
  LightingOptions,
  MeanImage,
  Normalization,
  Transform,
  TransformStep,
} from './transforms';
import { centerCrop, randomCrop, randomHorizontalFlip, resizeShorterSide } from './transform-steps';
import { multiScaleViews, tenCropViews } from './transform-views';
import { compose } from './transforms';
import {
  checkOptions,
  checkPositiveInt,
  checkRange,
  checkRgb,
  fail,
  optional,
  unchecked,
  withDefault,
  type Check,
  type OptionSpec,
  type Resolved,
} from '@convnets/validate';

/** ImageNet's per-channel RGB mean on the 0 … 1 scale (torchvision's `Normalize` values). */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet's per-channel RGB standard deviation on the 0 … 1 scale (torchvision's values). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];
/** ImageNet's per-channel RGB mean on the 0 … 255 scale (Caffe's and Keras' ResNet preprocessing). */
export const IMAGENET_MEAN_255: readonly [number, number, number] = [123.68, 116.779, 103.939];

/**
 * The PCA lighting of AlexNet as fb.resnet.torch (the reference ResNet
 * training code) parameterises it: eigen-decomposition of ImageNet's RGB
 * covariance on the 0 … 1 scale, α ~ N(0, 0.1²).
 */
export const IMAGENET_PCA_LIGHTING: LightingOptions = Object.freeze({
  alphaStd: 0.1,
  eigenvalues: [0.2175, 0.0188, 0.0045] as const,
  eigenvectors: [
    [-0.5675, 0.7192, 0.4009] as const,
    [-0.5808, -0.0045, -0.814] as const,
    [-0.5836, -0.6948, 0.4203] as const,
  ],
});

/** CIFAR-10's per-channel RGB mean on the 0 … 1 scale. */
export const CIFAR10_MEAN: readonly [number, number, number] = [0.4914, 0.4822, 0.4465];
/** CIFAR-10's per-channel RGB standard deviation on the 0 … 1 scale. */
export const CIFAR10_STD: readonly [number, number, number] = [0.247, 0.2435, 0.2616];

/** Normalisation options shared by the paper-style presets (0 … 255 scale). */
export interface PaperNormalizationOptions {
  /**
   * Mean to subtract: per-channel `[r, g, b]` on the 0 … 255 scale or a
   * per-pixel {@link MeanImage} computed from the training set
   * ({@link computeMean}), as the papers do.
   *
   * @defaultValue {@link IMAGENET_MEAN_255}
   */
  mean?: readonly [number, number, number] | MeanImage;
  /**
   * Also divide by a per-channel std (0 … 255 scale), e.g. `IMAGENET_STD.map((s) => s * 255)`.
   *
   * @defaultValue `undefined` (no division)
   */
  std?: readonly [number, number, number];
}

/** Options of {@link resnetPaperTrain}. */
export interface ResnetPaperTrainOptions extends PaperNormalizationOptions {
  /**
   * Range of the random shorter side S, both inclusive.
   *
   * @defaultValue [256, 480]
   */
  scale?: readonly [number, number];
  /**
   * Crop size.
   *
   * @defaultValue 224
   */
  size?: number;
  /**
   * AlexNet PCA lighting; `false` to turn it off.
   *
   * @defaultValue {@link IMAGENET_PCA_LIGHTING}
   */
  lighting?: LightingOptions | false;
}

/** The one declaration of {@link PaperNormalizationOptions}. */
const PAPER_NORMALIZATION_SPEC = {
  mean: withDefault(
    unchecked<readonly [number, number, number] | MeanImage>(), // checked by compose()
    IMAGENET_MEAN_255,
  ),
  std: optional((where, option, value) => checkRgb(where, option, value, true)),
} satisfies OptionSpec<PaperNormalizationOptions>;

/** AlexNet PCA lighting, `false` for none; checked by compose() as `normalization.lighting`. */
const LIGHTING_OPTION = withDefault(
  unchecked<LightingOptions | false>(),
  IMAGENET_PCA_LIGHTING,
) satisfies Check<ResnetPaperTrainOptions['lighting']>;

/** A `[min, max]` pair of positive integers. */
const checkPositiveIntRange: Check<[number, number]> = (where, option, value) =>
  checkRange(where, option, value, checkPositiveInt);

/** The paper presets' normalisation from their checked options (0 … 255 scale). */
function paperNormalization(
  { mean, std }: Resolved<typeof PAPER_NORMALIZATION_SPEC>,
  lighting: LightingOptions | false,
): Normalization {
  const n: Normalization = { scale: 1, mean };
  if (std !== undefined) n.std = std;
  if (lighting !== false) n.lighting = lighting;
  return n;
}

/** The one declaration of {@link ResnetPaperTrainOptions}. */
const RESNET_PAPER_TRAIN_SPEC = {
  scale: withDefault<readonly [number, number]>(checkPositiveIntRange, [256, 480]),
  size: withDefault(checkPositiveInt, 224),
  lighting: LIGHTING_OPTION,
  ...PAPER_NORMALIZATION_SPEC,
} satisfies OptionSpec<ResnetPaperTrainOptions>;

/**
 * The ResNet paper's training augmentation (He et al. 2015, §3.4): shorter
 * side resized to a random S ∈ [256, 480], a random 224×224 crop, horizontal
 * flip with p = 0.5, mean subtraction and the standard colour augmentation
 * (AlexNet's PCA lighting). Values stay on the 0 … 255 scale minus the mean.
 *
 * @example
 * ```ts
 * const train = await imageFolder('/data/imagenet/train');
 * const loader = createLoader(train, { transform: resnetPaperTrain(), batchSize: 256, seed: 1 });
 * const noLighting = resnetPaperTrain({ lighting: false, scale: [256, 320] });
 * ```
 * @param options - Scale range, crop size, lighting and normalisation
 *   (default `{}`: S ∈ [256, 480], 224 crop, {@link IMAGENET_PCA_LIGHTING},
 *   {@link IMAGENET_MEAN_255} subtracted, no std division).
 * @returns A training transform with a 224×224 (or `size`) output.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer).
 *   Loading an image whose resized shorter side is below `size` throws too.
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 * @see [Krizhevsky et al. 2012, §4.1 (PCA lighting)](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 */
export function resnetPaperTrain(options: ResnetPaperTrainOptions = {}): Transform {
  const where = 'resnetPaperTrain';
  const { scale, size, lighting, ...normalization } = checkOptions(
    where,
    options,
    RESNET_PAPER_TRAIN_SPEC,
  );
  return compose([resizeShorterSide(scale), randomCrop(size), randomHorizontalFlip(0.5)], {
    name: where,
    normalization: paperNormalization(normalization, lighting),
  });
}

/** Options of the single- and ten-crop evaluation presets. */
export interface EvalOptions extends PaperNormalizationOptions {
  /**
   * Shorter side before cropping.
   *
   * @defaultValue 256
   */
  resize?: number;
  /**
   * Crop size.
   *
   * @defaultValue 224
   */
  size?: number;
}

/** The one declaration of {@link EvalOptions}. */
const EVAL_SPEC = {
  resize: withDefault(checkPositiveInt, 256),
  size: withDefault(checkPositiveInt, 224),
  ...PAPER_NORMALIZATION_SPEC,
} satisfies OptionSpec<EvalOptions>;

/** The paper-style evaluation presets: shorter side `resize`, then `crop(size)`, mean subtracted. */
function paperEval(
  where: string,
  options: EvalOptions,
  crop: (size: number) => TransformStep,
): Transform {
  const { resize, size, ...normalization } = checkOptions(where, options, EVAL_SPEC);
  return compose([resizeShorterSide(resize), crop(size)], {
    name: where,
    training: false,
    normalization: paperNormalization(normalization, false),
  });
}

/**
 * Standard single-crop evaluation with paper-style normalisation: shorter
 * side resized to 256, central 224×224 crop, mean subtracted (0 … 255 scale).
 *
 * @example
 * ```ts
 * const val = await imagenetValidation('/data/imagenet/val', { devkit: '/data/ILSVRC2012_devkit_t12' });
 * const loader = createLoader(val, { transform: resnetPaperEval(), batchSize: 50 });
 * ```
 * @param options - Resize, crop size and normalisation (default `{}`:
 *   shorter side 256, 224 crop, {@link IMAGENET_MEAN_255} subtracted).
 * @returns An evaluation (non-random) transform.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer).
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function resnetPaperEval(options: EvalOptions = {}): Transform {
  return paperEval('resnetPaperEval', options, centerCrop);
}

/**
 * 10-crop testing (AlexNet §4.1; ResNet §3.4 "standard 10-crop testing"):
 * shorter side 256, the four corner and the centre 224×224 crops, and their
 * mirrors; average the ten predictions. Batches hold 10 views per image.
 *
 * @example
 * ```ts
 * const loader = createLoader(val, { transform: tenCrop(), batchSize: 10 });
 * for await (const { images, labels } of loader) {
 *   // images: [100, 224, 224, 3]; average each image's 10 consecutive predictions
 *   const probs = tf.tidy(() => tf.mean(tf.reshape(model.predict(images) as tf.Tensor2D, [-1, 10, 1000]), 1));
 *   tf.dispose([images, labels, probs]);
 * }
 * ```
 * @param options - Resize, crop size and normalisation (default `{}`:
 *   shorter side 256, 224 crops, {@link IMAGENET_MEAN_255} subtracted).
 * @returns An evaluation transform with 10 views per image.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer).
 * @see [Krizhevsky et al. 2012, §4.1](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function tenCrop(options: EvalOptions = {}): Transform {
  return paperEval('tenCrop', options, tenCropViews);
}

/** Options of {@link multiScaleEval}. */
export interface MultiScaleEvalOptions extends PaperNormalizationOptions {
  /**
   * Shorter sides to evaluate at (ResNet §3.4).
   *
   * @defaultValue [224, 256, 384, 480, 640]
   */
  scales?: readonly number[];
  /**
   * Add each scale's mirror (VGG §3.2).
   *
   * @defaultValue false
   */
  flip?: boolean;
}

/**
 * Fully-convolutional multi-scale evaluation (VGG §3.2, ResNet §3.4): the
 * whole image at several shorter sides, one view each; average the
 * class-score maps. Views differ in size, so use {@link transformImage}
 * (one image at a time), not the batched loader.
 *
 * @example
 * ```ts
 * const views = await transformImage('photo.JPEG', multiScaleEval({ flip: true }));
 * for (const { data, height, width } of views) {
 *   // a different size per scale: run the fully convolutional model on each
 *   const image = tf.tensor4d(data, [1, height, width, 3]);
 *   image.dispose();
 * }
 * ```
 * @param options - Scales, flip and normalisation (default `{}`: shorter
 *   sides 224, 256, 384, 480, 640, no flip, {@link IMAGENET_MEAN_255} subtracted).
 * @returns An evaluation transform whose output size varies per image.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer).
 * @see [Simonyan & Zisserman 2014, §3.2](https://arxiv.org/abs/1409.1556)
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export function multiScaleEval(options: MultiScaleEvalOptions = {}): Transform {
  const where = 'multiScaleEval';
  const { scales, flip, ...normalization } = checkOptions(where, options, MULTI_SCALE_EVAL_SPEC);
  return compose([multiScaleViews(scales, { flip })], {
    name: where,
    training: false,
    normalization: paperNormalization(normalization, false),
  });
}

/** The one declaration of {@link MultiScaleEvalOptions}. */
const MULTI_SCALE_EVAL_SPEC = {
  // Checked by multiScaleViews().
  scales: withDefault(unchecked<readonly number[]>(), [224, 256, 384, 480, 640]),
  flip: withDefault(unchecked<boolean>(), false),
  ...PAPER_NORMALIZATION_SPEC,
} satisfies OptionSpec<MultiScaleEvalOptions>;

/** Options of {@link vggPaperTrain}. */
export interface VggPaperTrainOptions extends PaperNormalizationOptions {
  /**
   * Training scale S: fixed 256 or 384, or a `[min, max]` range for
   * multi-scale training (`[256, 512]`). Must be at least `size`.
   *
   * @defaultValue 256
   */
  scale?: number | readonly [number, number];
  /**
   * Crop size.
   *
   * @defaultValue 224
   */
  size?: number;
  /**
   * Random RGB colour shift (AlexNet's PCA lighting, VGG §3.1); `false` to turn off.
   *
   * @defaultValue {@link IMAGENET_PCA_LIGHTING}
   */
  lighting?: LightingOptions | false;
}

/**
 * The VGG paper's training augmentation (Simonyan & Zisserman 2014, §3.1):
 * shorter side S fixed (256 or 384) or sampled from [256, 512]
 * (multi-scale), a random 224×224 crop, random horizontal flip, random RGB
 * colour shift, mean subtraction.
 *
 * @example
 * ```ts
 * const single = vggPaperTrain({ scale: 256 });
 * const multiScale = vggPaperTrain({ scale: [256, 512] });
 * const loader = createLoader(train, { transform: multiScale, batchSize: 256, seed: 1 });
 * ```
 * @param options - Scale, crop size, lighting and normalisation (default
 *   `{}`: S = 256, 224 crop, {@link IMAGENET_PCA_LIGHTING},
 *   {@link IMAGENET_MEAN_255} subtracted).
 * @returns A training transform with a 224×224 (or `size`) output.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer). Also when `scale` (or its minimum) is below `size`.
 * @see [Simonyan & Zisserman 2014, "Very Deep Convolutional Networks for Large-Scale Image Recognition", §3.1](https://arxiv.org/abs/1409.1556)
 */
export function vggPaperTrain(options: VggPaperTrainOptions = {}): Transform {
  const where = 'vggPaperTrain';
  const { scale, size, lighting, ...normalization } = checkOptions(
    where,
    options,
    VGG_PAPER_TRAIN_SPEC,
  );
  if (Math.min(...(typeof scale === 'number' ? [scale] : scale)) < size) {
    fail(where, 'scale', scale, `at least the crop size (${size})`);
  }
  return compose([resizeShorterSide(scale), randomCrop(size), randomHorizontalFlip(0.5)], {
    name: where,
    normalization: paperNormalization(normalization, lighting),
  });
}

/** VGG's training scale: a fixed shorter side or a `[min, max]` range. */
function checkVggScale(
  where: string,
  option: string,
  value: unknown,
): number | readonly [number, number] {
  if (typeof value === 'number') return checkPositiveInt(where, option, value);
  if (Array.isArray(value)) return checkPositiveIntRange(where, option, value);
  return fail(
    where,
    option,
    value,
    'a positive integer (256, 384) or a [min, max] range ([256, 512])',
  );
}

/** The one declaration of {@link VggPaperTrainOptions}. */
const VGG_PAPER_TRAIN_SPEC = {
  scale: withDefault(checkVggScale, 256),
  size: withDefault(checkPositiveInt, 224),
  lighting: LIGHTING_OPTION,
  ...PAPER_NORMALIZATION_SPEC,
} satisfies OptionSpec<VggPaperTrainOptions>;
