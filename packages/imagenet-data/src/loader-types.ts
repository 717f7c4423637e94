// The loader's public types: its options, its position and state, and what
// each batch and the running counts hold.
import type * as tf from '@tensorflow/tfjs-core';
import type { DecodeOptions } from './decode';
import type { Transform } from './transforms';

/**
 * A position in a sequence of epochs: the epoch, and how many samples of its
 * order have been read. JSON-safe. The loader's {@link LoaderState} adds what
 * a resumed loader must match; data sources that are not loaders (arrays in
 * memory) use this alone.
 */
export interface LoaderPosition {
  /** The epoch the next sample comes from (0-based). */
  readonly epoch: number;
  /** Index, in this epoch's order (of this rank's samples), of the next sample to read. */
  readonly position: number;
}

/** Where a loader stands: enough to resume exactly where it stopped. */
export interface LoaderState extends LoaderPosition {
  /** The loader's seed (a resumed loader must use the same one). */
  readonly seed: number;
  /** This loader's shard. */
  readonly rank: number;
  /** Number of shards. */
  readonly worldSize: number;
  /** Number of samples in the dataset (checked on resume). */
  readonly samples: number;
}

/** An image that could not be read, with why. */
export interface SkippedImage {
  /** The file. */
  readonly path: string;
  /** What went wrong. */
  readonly reason: string;
  /** The epoch in which it was skipped. */
  readonly epoch: number;
}

/** One batch. The tensors belong to the caller, who disposes them. */
export interface Batch {
  /** `[n · views, height, width, 3]` float32, NHWC; the views of an image are consecutive. */
  readonly images: tf.Tensor4D;
  /** `[n]` int32 class indices, or `[n, numClasses]` float32 one-hot rows. */
  readonly labels: tf.Tensor1D | tf.Tensor2D;
  /** The files of the `n` images, in order. */
  readonly paths: readonly string[];
  /** Dataset indices of the `n` images. */
  readonly indices: readonly number[];
  /** The epoch this batch belongs to. */
  readonly epoch: number;
  /** Images skipped while this batch was assembled (training mode only). */
  readonly skipped: readonly SkippedImage[];
}

/** Running counts of a loader, over everything it has yielded. */
export interface LoaderStats {
  /** Images delivered in batches. */
  readonly seen: number;
  /** Images skipped as unreadable, with their paths. */
  readonly skipped: readonly SkippedImage[];
  /** Images left out because they fell in a dropped last batch. */
  readonly dropped: number;
  /** Decodes started so far (including prefetched ones), for checking the prefetch bound. */
  readonly decodesStarted: number;
}

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** The transform (a preset such as {@link resnetPaperTrain}, or {@link compose}d). It must have a fixed output size. */
  transform: Transform;
  /** Images per batch. */
  batchSize: number;
  /**
   * Reshuffle every epoch (otherwise samples are read in dataset order).
   *
   * @defaultValue `transform.training`
   */
  shuffle?: boolean;
  /**
   * Seed of the shuffling and the augmentation, a non-negative integer. Same
   * seed, same batches, on any machine.
   *
   * @defaultValue 0
   */
  seed?: number;
  /**
   * Iteration stops when this many epochs are complete.
   *
   * @defaultValue 1
   */
  epochs?: number;
  /**
   * Leave out an epoch's last, incomplete batch.
   *
   * @defaultValue `transform.training`
   */
  dropLast?: boolean;
  /**
   * This process's shard, 0 … worldSize − 1.
   *
   * @defaultValue 0
   */
  rank?: number;
  /**
   * Number of shards (data-parallel processes).
   *
   * @defaultValue 1
   */
  worldSize?: number;
  /**
   * Completed batches held ready ahead of the consumer. Bounds memory.
   *
   * @defaultValue 2
   */
  prefetch?: number;
  /**
   * Images in flight (read, decoded and transformed at once). Decodes run
   * on libuv's thread pool, one image per pool thread (plus the libvips
   * threads of `sharp.concurrency()` within it), so at most
   * `UV_THREADPOOL_SIZE` images (libuv's default: 4) decode at the same time:
   * on a machine with more cores, start Node with `UV_THREADPOOL_SIZE` set
   * to the number of cores (or more) to decode on all of them. The variable
   * must be in the environment before the process first uses the pool, so a
   * library cannot set it. Node's worker threads share the same pool and add
   * no decode threads. More images in flight than pool threads keep a
   * backlog in the pool, so that no thread waits while the main thread is
   * busy (garbage collection, batching). `npm run bench` in this package
   * shows the effect.
   *
   * @defaultValue four times the number of cores
   */
  concurrency?: number;
  /**
   * Labels as `'index'` (`[n]` int32) or `'oneHot'` (`[n, numClasses]` float32).
   *
   * @defaultValue 'index'
   */
  labels?: 'index' | 'oneHot';
  /**
   * Number of classes for one-hot labels.
   *
   * @defaultValue the dataset's class count, `dataset.classes.length`
   */
  numClasses?: number;
  /**
   * Fail on the first unreadable image, with an error naming it. Otherwise
   * such images are skipped, counted and reported with their paths.
   *
   * @defaultValue `!transform.training` (strict for evaluation)
   */
  strict?: boolean;
  /**
   * How images are decoded (pixel limit, EXIF orientation, …).
   *
   * @defaultValue `{}` (every {@link DecodeOptions} default)
   */
  decode?: DecodeOptions;
  /**
   * Continue from a saved {@link ImageLoader.state}.
   *
   * @defaultValue `undefined` (start at epoch 0, position 0)
   */
  resume?: LoaderState;
}
