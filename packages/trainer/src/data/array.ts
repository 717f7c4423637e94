import * as tf from '@tensorflow/tfjs-core';
import {
  compose,
  epochPermutation,
  pad,
  randomCrop,
  randomHorizontalFlip,
  sampleRandom,
  transformPixels,
  type Transform,
} from '@convnets/imagenet-data';
import {
  checkBoolean,
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import type { EvaluationData, TrainingData } from './types';

/** Images and labels held in memory, NHWC. */
export interface ArrayDataset {
  /** `n · height · width · channels` values, NHWC. */
  readonly images: Float32Array;
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

/** Writes image `index`, as epoch `epoch` sees it (augmented by `transform`), into `out` at image `k`. */
function renderer(data: ArrayDataset, seed: number, transform: Transform | undefined) {
  const [height, width, channels] = data.imageShape;
  const size = height * width * channels;
  return (out: Float32Array, k: number, index: number, epoch: number): void => {
    const image = data.images.subarray(index * size, (index + 1) * size);
    const pixels = { data: image, width, height, channels };
    const rng = sampleRandom(seed, epoch, index);
    out.set(transform ? transformPixels(pixels, transform, rng).views[0].data : image, k * size);
  };
}

/** The one declaration of {@link ArrayTrainingOptions}: its keys and their checks. */
const ARRAY_TRAINING_SPEC = {
  batchSize: checkPositiveInt,
  seed: withDefault(checkNonNegativeInt, 0),
  shuffle: withDefault(checkBoolean, true),
  padCrop: withDefault(checkNonNegativeInt, 0),
  flip: withDefault(checkBoolean, false),
} satisfies OptionSpec<ArrayTrainingOptions>;

/** The options of {@link arrayEvaluationData}. */
const ARRAY_EVALUATION_SPEC = {
  batchSize: withDefault(checkPositiveInt, 64),
} satisfies OptionSpec<{ batchSize?: number }>;

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
 * const data = arrayTrainingData(
 *   { images, imageShape: [32, 32, 3], labels, classes: CIFAR10_CLASSES },
 *   { batchSize: 128, padCrop: 4, flip: true, seed: 1 },
 * );
 * ```
 * @see He et al., arXiv 1512.03385, §4.2 (4-pixel padding, 32×32 crop, flip).
 */
export function arrayTrainingData(data: ArrayDataset, options: ArrayTrainingOptions): TrainingData {
  const where = 'arrayTrainingData';
  const { batchSize, seed, shuffle, padCrop, flip } = checkOptions(
    where,
    options,
    ARRAY_TRAINING_SPEC,
  );
  const n = checkDataset(where, data);
  const batchesPerEpoch = Math.floor(n / batchSize);
  if (batchesPerEpoch === 0)
    throw new Error(`${where}: ${n} images are fewer than one batch of ${batchSize}.`);
  const [h, w, c] = data.imageShape;
  const transform = augmentation(where, data.imageShape, padCrop, flip);
  const render = renderer(data, seed, transform);
  const fingerprint: Record<string, string | number> = {
    kind: 'array',
    samples: n,
    seed,
    shuffle: String(shuffle),
    padCrop,
    flip: String(flip),
  };
  // Crops follow imagenet-data's draws since this key exists; a checkpoint without it had others.
  if (padCrop > 0) fingerprint.transform = transform!.name;
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
 * Evaluation data from arrays in memory: every image once, in order, one view each.
 *
 * @param data - Images (NHWC), labels and class names.
 * @param options - `batchSize`, images per batch (default 64); default `{}`.
 * @returns Evaluation data for {@link evaluate} and the trainer's `validation`.
 * @throws Error when the arrays do not match, a label is not a class index, or an option is unknown or out of range.
 * @example
 * ```ts
 * const validation = arrayEvaluationData(
 *   { images, imageShape: [32, 32, 3], labels, classes: CIFAR10_CLASSES },
 *   { batchSize: 100 },
 * );
 * const { top1Error } = await evaluate(model, validation);
 * ```
 */
export function arrayEvaluationData(
  data: ArrayDataset,
  options: { batchSize?: number } = {},
): EvaluationData {
  const where = 'arrayEvaluationData';
  const { batchSize } = checkOptions(where, options, ARRAY_EVALUATION_SPEC);
  const n = checkDataset(where, data);
  const [h, w, c] = data.imageShape;
  const size = h * w * c;
  return {
    classes: data.classes,
    views: 1,
    async *batches() {
      for (let start = 0; start < n; start += batchSize) {
        const count = Math.min(batchSize, n - start);
        yield {
          images: tf.tensor4d(data.images.slice(start * size, (start + count) * size), [
            count,
            h,
            w,
            c,
          ]),
          labels: tf.tensor1d(Array.from(data.labels.slice(start, start + count)), 'int32'),
        };
      }
    },
  };
}
