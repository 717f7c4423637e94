// The torchvision and CIFAR presets: (x / 255 − mean) / std normalisation.
import type { Normalization, Transform } from './transforms';
import {
  centerCrop,
  pad,
  randomCrop,
  randomHorizontalFlip,
  randomResizedCrop,
  resizeShorterSide,
} from './transform-steps';
import { compose } from './transforms';
import {
  checkOptions,
  checkPositiveInt,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import { CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD } from './presets';

/** Options of the torchvision presets. */
export interface TorchvisionOptions {
  /**
   * Output size.
   *
   * @defaultValue 224
   */
  size?: number;
  /**
   * Evaluation only: shorter side before the centre crop.
   *
   * @defaultValue 256
   */
  resize?: number;
  /**
   * Training only: area range of the random-resized crop.
   *
   * @defaultValue [0.08, 1]
   */
  scale?: readonly [number, number];
  /**
   * Training only: aspect-ratio range.
   *
   * @defaultValue [3/4, 4/3]
   */
  ratio?: readonly [number, number];
}

const TORCHVISION_NORMALIZATION: Normalization = {
  scale: 1 / 255,
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
};

/** The options of {@link torchvisionTrain}: {@link TorchvisionOptions} without `resize`. */
const TORCHVISION_TRAIN_SPEC = {
  size: withDefault(checkPositiveInt, 224),
  // Checked by randomResizedCrop(), which applies the defaults.
  scale: unchecked<readonly [number, number] | undefined>(),
  ratio: unchecked<readonly [number, number] | undefined>(),
} satisfies OptionSpec<Pick<TorchvisionOptions, 'size' | 'scale' | 'ratio'>>;

/**
 * The modern ImageNet training recipe, as torchvision's reference scripts:
 * Inception-style random-resized crop (area 8–100%, aspect 3/4–4/3) to 224,
 * horizontal flip, then `(x / 255 − mean) / std` per channel.
 *
 * @example
 * ```ts
 * const loader = createLoader(train, { transform: torchvisionTrain(), batchSize: 256, seed: 1 });
 * const bigger = torchvisionTrain({ size: 176, scale: [0.25, 1] });
 * ```
 * @param options - `size`, `scale` and `ratio` (default `{}`: 224, area
 *   `[0.08, 1]`, aspect `[3/4, 4/3]`); `resize` is not accepted.
 * @returns A training transform normalised with {@link IMAGENET_MEAN} and {@link IMAGENET_STD}.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer).
 * @see [Szegedy et al. 2015, "Going Deeper with Convolutions", §6](https://arxiv.org/abs/1409.4842)
 */
export function torchvisionTrain(options: TorchvisionOptions = {}): Transform {
  const where = 'torchvisionTrain';
  const { size, scale, ratio } = checkOptions(where, options, TORCHVISION_TRAIN_SPEC);
  return compose([randomResizedCrop(size, { scale, ratio }), randomHorizontalFlip(0.5)], {
    name: where,
    normalization: TORCHVISION_NORMALIZATION,
  });
}

/** The options of {@link torchvisionEval}: {@link TorchvisionOptions} without the crop's ranges. */
const TORCHVISION_EVAL_SPEC = {
  size: withDefault(checkPositiveInt, 224),
  resize: withDefault(checkPositiveInt, 256),
} satisfies OptionSpec<Pick<TorchvisionOptions, 'size' | 'resize'>>;

/**
 * torchvision's evaluation preset: shorter side 256, centre crop 224, `(x / 255 − mean) / std`.
 *
 * @example
 * ```ts
 * const [view] = await transformImage('photo.JPEG', torchvisionEval());
 * const image = tf.tensor4d(view.data, [1, view.height, view.width, 3]);
 * const probs = model.predict(image) as tf.Tensor2D;
 * const [[best]] = decodePredictions(probs, 1);
 * tf.dispose([image, probs]);
 * ```
 * @param options - `size` and `resize` (default `{}`: 224 and 256); `scale`
 *   and `ratio` are not accepted.
 * @returns An evaluation transform normalised with {@link IMAGENET_MEAN} and {@link IMAGENET_STD}.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer).
 */
export function torchvisionEval(options: TorchvisionOptions = {}): Transform {
  const where = 'torchvisionEval';
  const { size, resize } = checkOptions(where, options, TORCHVISION_EVAL_SPEC);
  return compose([resizeShorterSide(resize), centerCrop(size)], {
    name: where,
    training: false,
    normalization: TORCHVISION_NORMALIZATION,
  });
}

/** Options of {@link cifarTrain}. */
export interface CifarOptions {
  /**
   * Image size.
   *
   * @defaultValue 32
   */
  size?: number;
  /**
   * Zero padding on each side before the random crop ({@link cifarTrain} only).
   *
   * @defaultValue 4
   */
  padding?: number;
  /**
   * Normalisation.
   *
   * @defaultValue `x / 255` minus {@link CIFAR10_MEAN}, divided by {@link CIFAR10_STD}
   */
  normalization?: Normalization;
}

const CIFAR_NORMALIZATION: Normalization = { scale: 1 / 255, mean: CIFAR10_MEAN, std: CIFAR10_STD };

/** The options of {@link cifarEval}: {@link CifarOptions} without `padding`. */
const CIFAR_EVAL_SPEC = {
  size: withDefault(checkPositiveInt, 32),
  // Checked by compose().
  normalization: withDefault(unchecked<Normalization>(), CIFAR_NORMALIZATION),
} satisfies OptionSpec<Omit<CifarOptions, 'padding'>>;

/** The one declaration of {@link CifarOptions}. */
const CIFAR_TRAIN_SPEC = {
  size: CIFAR_EVAL_SPEC.size,
  padding: withDefault(unchecked<number>(), 4), // checked by pad()
  normalization: CIFAR_EVAL_SPEC.normalization,
} satisfies OptionSpec<CifarOptions>;

/**
 * The CIFAR augmentation of the ResNet paper (§4.2): 4 pixels of zero padding
 * on each side, a random 32×32 crop, a random horizontal flip.
 *
 * @example
 * ```ts
 * const train = await imageFolder('/data/cifar10/train');
 * const loader = createLoader(train, { transform: cifarTrain(), batchSize: 128, seed: 1 });
 * ```
 * @param options - Size, padding and normalisation (default `{}`: 32, 4,
 *   {@link CIFAR10_MEAN} / {@link CIFAR10_STD} on the 0 … 1 scale).
 * @returns A training transform with a `size`×`size` output.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer). Loading an image smaller than `size` − 2 · `padding` throws too.
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §4.2](https://arxiv.org/abs/1512.03385)
 */
export function cifarTrain(options: CifarOptions = {}): Transform {
  const where = 'cifarTrain';
  const { size, padding, normalization } = checkOptions(where, options, CIFAR_TRAIN_SPEC);
  return compose([pad(padding), randomCrop(size), randomHorizontalFlip(0.5)], {
    name: where,
    normalization,
  });
}

/**
 * CIFAR evaluation: the image as it is (a central `size` crop, a no-op for
 * 32×32 images), normalised like {@link cifarTrain}.
 *
 * @example
 * ```ts
 * const test = await imageFolder('/data/cifar10/test');
 * const loader = createLoader(test, { transform: cifarEval(), batchSize: 500 });
 * ```
 * @param options - Size and normalisation (default `{}`: 32,
 *   {@link CIFAR10_MEAN} / {@link CIFAR10_STD} on the 0 … 1 scale).
 * @returns An evaluation transform with a `size`×`size` output.
 * @throws Error naming the option when an option is unknown or invalid (e.g. not a positive integer). Loading an image smaller than `size` throws too.
 */
export function cifarEval(options: Omit<CifarOptions, 'padding'> = {}): Transform {
  const where = 'cifarEval';
  const { size, normalization } = checkOptions(where, options, CIFAR_EVAL_SPEC);
  return compose([centerCrop(size)], { name: where, training: false, normalization });
}
