import type { LoaderPosition } from '@convnets/imagenet-data';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * Where training data stands: the epoch, and the index of the next sample in
 * that epoch's order (JSON-safe). The same type as `LoaderPosition` of
 * `@convnets/imagenet-data`, whose loader's `state` extends it.
 */
export type DataPosition = LoaderPosition;

/** One training (micro-)batch. The tensors belong to the trainer, which disposes them. */
export interface TrainingBatch {
  /** `[n, height, width, channels]` float32 images. */
  readonly images: tf.Tensor4D;
  /** `[n]` int32 class indices. */
  readonly labels: tf.Tensor1D;
  /** The position right after this batch. */
  readonly next: DataPosition;
}

/**
 * Training data as the trainer reads it: a fixed class list and, for each
 * epoch, a deterministic sequence of batches that can start anywhere in the
 * epoch. Batches must depend only on (seed, epoch, position), which is what
 * makes exact resume possible. Use {@link folderTrainingData} for image
 * folders, {@link arrayTrainingData} for arrays in memory, or implement it.
 */
export interface TrainingData {
  /** Class names; labels index into this list. */
  readonly classes: readonly string[];
  /** Images per batch. */
  readonly batchSize: number;
  /** Full batches in one epoch. */
  readonly batchesPerEpoch: number;
  /** What a resumed run must match (seed, dataset size, …), saved in checkpoints. */
  readonly fingerprint: Readonly<Record<string, string | number>>;
  /**
   * The batches of `epoch` from `position` (samples already read in it) to the end of the epoch.
   *
   * @param epoch - The epoch (0-based); it seeds the shuffle order.
   * @param position - Samples of the epoch's order already read (0 to start the epoch; a {@link TrainingBatch.next} position to resume).
   * @returns The remaining full batches of the epoch; each batch's tensors go to the consumer, which disposes them.
   * @throws Error (when iterated) if an image cannot be read or decoded, for implementations that read files.
   */
  batches(epoch: number, position: number): AsyncIterable<TrainingBatch>;
}

/** One evaluation batch. The tensors belong to the caller of `batches()`, which disposes them. */
export interface EvaluationBatch {
  /** `[n · views, height, width, channels]` float32; the views of one image are consecutive. */
  readonly images: tf.Tensor4D;
  /** `[n]` int32 class indices. */
  readonly labels: tf.Tensor1D;
}

/** Evaluation data: one pass over a fixed set, possibly with several views (10-crop) per image. */
export interface EvaluationData {
  /** Class names; labels index into this list. */
  readonly classes: readonly string[];
  /** Views per image, averaged into one prediction (1, or 10 for 10-crop). */
  readonly views: number;
  /**
   * One pass over the whole set. May be called again for the next evaluation.
   *
   * @returns Every image once, in order, in batches the consumer disposes.
   * @throws Error (when iterated) if an image cannot be read or decoded, for implementations that read files.
   */
  batches(): AsyncIterable<EvaluationBatch>;
}
