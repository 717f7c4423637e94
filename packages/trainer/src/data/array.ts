import * as tf from '@tensorflow/tfjs-core';
import {
  compose,
  epochPermutation,
  pad,
  randomCrop,
  randomHorizontalFlip,
  sampleRandom,
  transformPixels,
  transformPixelsInto,
  type Transform,
} from '@convnets/imagenet-data';
import {
  checkBoolean,
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import type { EvaluationData, TrainingData } from './types';

/**
 * Images and labels held in memory, NHWC. A `PixelDataset` of
 * `@convnets/imagenet-data` (`cifar10()`, `cifar100()`, `holdOutPerClass()`)
 * is one.
 */
export interface ArrayDataset {
  /** `n · height · width · channels` values, NHWC: floats, or 8-bit pixels (needed by the `transform` option). */
  readonly images: Float32Array | Uint8Array;
  /** `[height, width, channels]` of one image. */
  readonly imageShape: readonly [number, number, number];
  /** `n` class indices. */
  readonly labels: Int32Array | readonly number[];
  /** Class names. */
  readonly classes: readonly string[];
}

/** Options of {@link arrayTrainingData}. */
export interface ArrayTrainingOptions {
  /** Images per (micro-)batch. The last incomplete batch of an epoch is dropped. */
  batchSize: number;
  /**
   * Seed of the shuffling and augmentation.
   * @defaultValue 0
   */
  seed?: number;
  /**
   * Reshuffle every epoch (else the arrays' order).
   * @defaultValue true
   */
  shuffle?: boolean;
  /**
   * The CIFAR augmentation: zero-pad this many pixels and crop back at random
   * (0: off), as `@convnets/imagenet-data`'s `pad` and `randomCrop` do.
   * @defaultValue 0
   */
  padCrop?: number;
  /**
   * Random horizontal flips (after the crop, as `randomHorizontalFlip(0.5)`).
   * @defaultValue false
   */
  flip?: boolean;
  /**
   * A transform of `@convnets/imagenet-data` applied to 8-bit images as its
   * loader applies it to image files, with the same random draws: its
   * geometry (crops, padding, flips, resizes), then its normalisation.
   * `cifarTrain()` is the ResNet paper's CIFAR recipe (pad 4, random 32×32
   * crop, flip; CIFAR-10 mean and std); `cifarTrain({ normalization: { scale: 1 / 255, mean: meanImage } })`
   * subtracts a per-pixel mean. Replaces `padCrop` and `flip`.
   * @defaultValue none: the values as they are, augmented by `padCrop` and `flip`
   */
  transform?: Transform;
}

function checkDataset(where: string, data: ArrayDataset): number {
  const [h, w, c] = data.imageShape;
  const size = h * w * c;
  const n = data.labels.length;
  if (data.images.length !== n * size)
    throw new Error(
      `${where}: ${n} labels need ${n * size} image values (${n} × ${h}×${w}×${c}); received ${data.images.length}.`,
    );
  for (const label of data.labels)
    if (!Number.isInteger(label) || label < 0 || label >= data.classes.length)
      throw new Error(
        `${where}: label ${label} is not a class index 0 … ${data.classes.length - 1}.`,
      );
  return n;
}

/**
 * The augmentation as an imagenet-data transform (`cifarTrain()`'s steps,
 * without its normalisation), or undefined when there is none.
 */
function augmentation(
  where: string,
  [h, w]: ArrayDataset['imageShape'],
  padCrop: number,
  flip: boolean,
): Transform | undefined {
  if (padCrop >= Math.min(h, w))
    throw new Error(
      `${where}: option "padCrop" must be less than the image's height and width (${h}×${w}); received ${padCrop}.`,
    );
  const steps = [
    ...(padCrop > 0 ? [pad(padCrop), randomCrop([h, w])] : []),
    ...(flip ? [randomHorizontalFlip(0.5)] : []),
  ];
  return steps.length > 0 ? compose(steps) : undefined;
}

/** How the images become batch values: the views' shape, views per image, and the writer of one image's views. */
interface Rendering {
  readonly shape: readonly [number, number, number];
  readonly views: number;
  /** Writes image `index`, as epoch `epoch` sees it, into `out` at image `k` (its views consecutive). */
  render(out: Float32Array, k: number, index: number, epoch: number): void;
}

/** The values as they are, cropped, padded and flipped by `geometry` if any (the `padCrop`/`flip` path). */
function rawRendering(
  data: ArrayDataset,
  seed: number,
  geometry: Transform | undefined,
): Rendering {
  const [height, width, channels] = data.imageShape;
  const size = height * width * channels;
  return {
    shape: data.imageShape,
    views: 1,
    render(out, k, index, epoch) {
      const image = data.images.subarray(index * size, (index + 1) * size);
      const pixels = { data: image, width, height, channels };
      const rng = sampleRandom(seed, epoch, index);
      out.set(geometry ? transformPixels(pixels, geometry, rng).views[0].data : image, k * size);
    },
  };
}

/** 8-bit images through an imagenet-data transform (geometry and normalisation), as its loader renders files. */
function transformRendering(
  where: string,
  data: ArrayDataset,
  seed: number,
  transform: Transform,
): Rendering {
  const [height, width, channels] = data.imageShape;
  if (!(data.images instanceof Uint8Array) || channels !== 3)
    throw new Error(
      `${where}: option "transform" needs 8-bit RGB images (a Uint8Array, 3 channels); received a ${data.images.constructor.name} of ${channels} channels.`,
    );
  if (typeof transform?.plan !== 'function' || !transform.outputSize)
    throw new Error(
      `${where}: option "transform" must be a transform of @convnets/imagenet-data (e.g. cifarTrain()) whose views have a fixed size.`,
    );
  const size = height * width * channels;
  const [h, w] = transform.outputSize;
  const shape = [h, w, 3] as const;
  const views = transform.views;
  const bytes = data.images;
  return {
    shape,
    views,
    render(out, k, index, epoch) {
      const pixels = {
        data: bytes.subarray(index * size, (index + 1) * size),
        width,
        height,
        channels,
      };
      transformPixelsInto(
        pixels,
        transform,
        sampleRandom(seed, epoch, index),
        out,
        k * views * h * w * 3,
      );
    },
  };
}

/**
 * The training rendering of the options: `transform`'s, or the values as they
 * are augmented by `padCrop` and `flip`; and the name of what augments them.
 */
function trainingRendering(
  where: string,
  data: ArrayDataset,
  seed: number,
  padCrop: number,
  flip: boolean,
  transform: Transform | undefined,
): Rendering & { name: string | undefined } {
  if (transform && (padCrop > 0 || flip))
    throw new Error(
      `${where}: option "transform" replaces options "padCrop" and "flip" (the transform does the augmentation); give one or the other.`,
    );
  const geometry = augmentation(where, data.imageShape, padCrop, flip);
  const rendering = transform
    ? transformRendering(where, data, seed, transform)
    : rawRendering(data, seed, geometry);
  if (rendering.views !== 1)
    throw new Error(
      `${where}: option "transform" gives ${rendering.views} views per image; training takes one.`,
    );
  const name = transform ? transform.name : padCrop > 0 ? geometry!.name : undefined;
  return { ...rendering, name };
}

/** The one declaration of {@link ArrayTrainingOptions}: its keys and their checks. */
const ARRAY_TRAINING_SPEC = {
  batchSize: checkPositiveInt,
  seed: withDefault(checkNonNegativeInt, 0),
  shuffle: withDefault(checkBoolean, true),
  padCrop: withDefault(checkNonNegativeInt, 0),
  flip: withDefault(checkBoolean, false),
  transform: unchecked<Transform | undefined>(), // checked by checkTransform
} satisfies OptionSpec<ArrayTrainingOptions>;

/** Options of {@link arrayEvaluationData}. */
export interface ArrayEvaluationOptions {
  /**
   * Images per batch (each with the transform's views).
   * @defaultValue 64
   */
  batchSize?: number;
  /**
   * A transform of `@convnets/imagenet-data` for 8-bit images, as the loader
   * applies it (e.g. `cifarEval()`: the image as it is, normalised; or a
   * multi-view transform such as `tenCrop()`).
   * @defaultValue none: the values as they are
   */
  transform?: Transform;
}

/** The one declaration of {@link ArrayEvaluationOptions}. */
const ARRAY_EVALUATION_SPEC = {
  batchSize: withDefault(checkPositiveInt, 64),
  transform: unchecked<Transform | undefined>(), // checked by checkTransform
} satisfies OptionSpec<ArrayEvaluationOptions>;

/**
 * Training data from arrays in memory, shuffled and (optionally) augmented
 * with the CIFAR padding-crop-flip. The order and every random choice are
 * those `createLoader` of `@convnets/imagenet-data` makes for a folder of the
 * same images with the same seed (`epochPermutation`, `sampleRandom`,
 * `transformPixels`): seeded by (seed, epoch, image).
 *
 * @param data - Images (NHWC), labels and class names.
 * @param options - Batch size, seed, shuffling and augmentation; see {@link ArrayTrainingOptions}.
 * @returns Training data for {@link train}.
 * @throws Error when the image array's length does not match the labels and
 * image shape, a label is not a class index, there are fewer images than one
 * batch, or an option is unknown or out of range.
 * @example
 * ```ts
 * import { CIFAR10_CLASSES } from '@convnets/imagenet-data';
 *
 * const data = arrayTrainingData(
 *   { images, imageShape: [32, 32, 3], labels, classes: CIFAR10_CLASSES },
 *   { batchSize: 128, padCrop: 4, flip: true, seed: 1 },
 * );
 * ```
 * @see He et al., arXiv 1512.03385, §4.2 (4-pixel padding, 32×32 crop, flip).
 */
export function arrayTrainingData(data: ArrayDataset, options: ArrayTrainingOptions): TrainingData {
  const where = 'arrayTrainingData';
  const { batchSize, seed, shuffle, padCrop, flip, transform } = checkOptions(
    where,
    options,
    ARRAY_TRAINING_SPEC,
  );
  const n = checkDataset(where, data);
  const batchesPerEpoch = Math.floor(n / batchSize);
  if (batchesPerEpoch === 0)
    throw new Error(`${where}: ${n} images are fewer than one batch of ${batchSize}.`);
  const { shape, render, name } = trainingRendering(where, data, seed, padCrop, flip, transform);
  const [h, w, c] = shape;
  const fingerprint: Record<string, string | number> = {
    kind: 'array',
    samples: n,
    seed,
    shuffle: String(shuffle),
    padCrop,
    flip: String(flip),
  };
  // Crops follow imagenet-data's draws since this key exists; a checkpoint without it had others.
  if (name !== undefined) fingerprint.transform = name;
  return {
    classes: data.classes,
    batchSize,
    batchesPerEpoch,
    fingerprint,
    async *batches(epoch: number, position: number) {
      const order = shuffle
        ? epochPermutation(n, seed, epoch)
        : Uint32Array.from({ length: n }, (_, i) => i);
      for (let start = position; start + batchSize <= batchesPerEpoch * batchSize;) {
        const images = new Float32Array(batchSize * h * w * c);
        const labels = new Int32Array(batchSize);
        for (let k = 0; k < batchSize; k++) {
          labels[k] = data.labels[order[start + k]];
          render(images, k, order[start + k], epoch);
        }
        start += batchSize;
        yield {
          images: tf.tensor4d(images, [batchSize, h, w, c]),
          labels: tf.tensor1d(labels, 'int32'),
          next: { epoch, position: start },
        };
      }
    },
  };
}

/**
 * Evaluation data from arrays in memory: every image once, in order, with
 * the transform's views if one is given (normalised as the loader does).
 *
 * @param data - Images (NHWC), labels and class names.
 * @param options - Batch size and transform; see {@link ArrayEvaluationOptions} (default `{}`).
 * @returns Evaluation data for {@link evaluate} and the trainer's `validation`.
 * @throws Error when the arrays do not match, a label is not a class index,
 *   an option is unknown or out of range, or a transform is given for images
 *   that are not 8-bit RGB.
 * @example
 * ```ts
 * const test = await cifar10({ archive: 'cifar-10-python.tar.gz', split: 'test' });
 * const validation = arrayEvaluationData(test, { transform: cifarEval(), batchSize: 100 });
 * const { top1Error } = await evaluate(model, validation);
 * ```
 */
export function arrayEvaluationData(
  data: ArrayDataset,
  options: ArrayEvaluationOptions = {},
): EvaluationData {
  const where = 'arrayEvaluationData';
  const { batchSize, transform } = checkOptions(where, options, ARRAY_EVALUATION_SPEC);
  const n = checkDataset(where, data);
  const { shape, views, render } = transform
    ? transformRendering(where, data, 0, transform)
    : rawRendering(data, 0, undefined);
  const [h, w, c] = shape;
  return {
    classes: data.classes,
    views,
    async *batches() {
      for (let start = 0; start < n; start += batchSize) {
        const count = Math.min(batchSize, n - start);
        const images = new Float32Array(count * views * h * w * c);
        for (let k = 0; k < count; k++) render(images, k, start + k, 0);
        yield {
          images: tf.tensor4d(images, [count * views, h, w, c]),
          labels: tf.tensor1d(Int32Array.from(data.labels.slice(start, start + count)), 'int32'),
        };
      }
    },
  };
}
