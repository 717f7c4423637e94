import * as tf from '@tensorflow/tfjs-core';
import { createLoader, type ImageDataset, type Transform } from '@convnets/imagenet-data';
import {
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import type { EvaluationData, TrainingData } from './types';

/** Options of {@link folderTrainingData}. */
export interface FolderTrainingOptions {
  /** Training transform, e.g. `cifarTrain()` or `resnetPaperTrain()` from `@convnets/imagenet-data`. */
  transform: Transform;
  /** Images per (micro-)batch. The last incomplete batch of an epoch is dropped. */
  batchSize: number;
  /**
   * Seed of shuffling and augmentation.
   * @defaultValue 0
   */
  seed?: number;
  /**
   * Images decoded at once (passed to `createLoader` of `@convnets/imagenet-data`).
   * @defaultValue the loader's: twice the number of cores (at least 2)
   */
  concurrency?: number;
}

/** The one declaration of {@link FolderTrainingOptions}: its keys and their checks. */
const FOLDER_TRAINING_SPEC = {
  transform: unchecked<FolderTrainingOptions['transform']>(),
  batchSize: checkPositiveInt,
  seed: withDefault(checkNonNegativeInt, 0),
  concurrency: unchecked<FolderTrainingOptions['concurrency']>(),
} satisfies OptionSpec<FolderTrainingOptions>;

/** The one declaration of {@link FolderEvaluationOptions}: its keys and their checks. */
const FOLDER_EVALUATION_SPEC = {
  transform: unchecked<FolderEvaluationOptions['transform']>(),
  batchSize: withDefault(checkPositiveInt, 32),
} satisfies OptionSpec<FolderEvaluationOptions>;

/**
 * Training data from an image dataset (`imageFolder()` of
 * `@convnets/imagenet-data`) through its seeded, resumable loader: shuffled
 * every epoch, last incomplete batch dropped, every random choice a function
 * of (seed, epoch, image).
 *
 * @param dataset - The images and their classes.
 * @param options - Transform, batch size, seed; see {@link FolderTrainingOptions}.
 * @returns Training data for {@link train}.
 * @throws Error when there are fewer images than one batch, or an option is unknown or out of range.
 * @example
 * ```ts
 * const data = folderTrainingData(await imageFolder('imagenet/train'), {
 *   transform: resnetPaperTrain(),
 *   batchSize: 64,
 * });
 * ```
 */
export function folderTrainingData(
  dataset: ImageDataset,
  options: FolderTrainingOptions,
): TrainingData {
  const where = 'folderTrainingData';
  const { batchSize, seed } = checkOptions(where, options, FOLDER_TRAINING_SPEC);
  const samples = dataset.samples.length;
  const batchesPerEpoch = Math.floor(samples / batchSize);
  if (batchesPerEpoch === 0)
    throw new Error(
      `${where}: the dataset has ${samples} images, fewer than one batch of ${batchSize}.`,
    );
  return {
    classes: dataset.classes,
    batchSize,
    batchesPerEpoch,
    fingerprint: { kind: 'folder', samples, seed, transform: options.transform.name },
    async *batches(epoch: number, position: number) {
      const loader = createLoader(dataset, {
        transform: options.transform,
        batchSize,
        seed,
        epochs: epoch + 1,
        shuffle: true,
        dropLast: true,
        concurrency: options.concurrency,
        resume: { seed, epoch, position, rank: 0, worldSize: 1, samples },
      });
      for await (const batch of loader) {
        yield {
          images: batch.images,
          labels: batch.labels as tf.Tensor1D,
          next: { epoch, position: loader.state.epoch === epoch ? loader.state.position : samples },
        };
      }
    },
  };
}

/** Options of {@link folderEvaluationData}. */
export interface FolderEvaluationOptions {
  /** Evaluation transform, e.g. `cifarEval()`, `resnetPaperEval()` or `tenCrop()`. */
  transform: Transform;
  /**
   * Images per batch (each with the transform's views).
   * @defaultValue 32
   */
  batchSize?: number;
}

/**
 * Evaluation data from an image dataset: every image once, in order, with the
 * transform's views (10 for `tenCrop()`, averaged by {@link evaluate}).
 *
 * @param dataset - The images and their classes.
 * @param options - Transform and batch size; see {@link FolderEvaluationOptions}.
 * @returns Evaluation data for {@link evaluate} and the trainer's `validation`.
 * @throws Error when an option is unknown or out of range; unreadable images fail the evaluation naming the file.
 * @example
 * ```ts
 * const val = folderEvaluationData(await imageFolder('imagenet/val'), { transform: tenCrop() });
 * const { top1Error, top5Error } = await evaluate(model, val);
 * ```
 */
export function folderEvaluationData(
  dataset: ImageDataset,
  options: FolderEvaluationOptions,
): EvaluationData {
  const where = 'folderEvaluationData';
  const { batchSize } = checkOptions(where, options, FOLDER_EVALUATION_SPEC);
  return {
    classes: dataset.classes,
    views: options.transform.views,
    async *batches() {
      const loader = createLoader(dataset, {
        transform: options.transform,
        batchSize,
        shuffle: false,
        dropLast: false,
        strict: true,
      });
      for await (const batch of loader)
        yield { images: batch.images, labels: batch.labels as tf.Tensor1D };
    },
  };
}
