import * as tf from '@tensorflow/tfjs-core';
import { generator, type Dataset } from '@tensorflow/tfjs-data';
import { availableParallelism } from 'node:os';
import { checkDecodeOption, ImageDecodeError, type ResolvedDecodeOptions } from './decode';
import type { ImageDataset } from './folder';
import { produce, type Outcome, type ProducerContext } from './loader-producer';
import { ReadyQueue, type Marker, type PreparedBatch } from './loader-queue';
import type {
  Batch,
  LoaderOptions,
  LoaderPosition,
  LoaderState,
  LoaderStats,
  SkippedImage,
} from './loader-types';
import { renderSample } from './pipeline';
import { epochPermutation, sampleRandom } from './rng';
import type { Transform } from './transforms';
import {
  checkBoolean,
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  fail,
  oneOf,
  optional,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

const WHERE = 'createLoader';

/** A transform the loader can batch: one with a fixed output size. */
type BatchableTransform = Transform & { readonly outputSize: readonly [number, number] };

function checkTransform(where: string, option: string, transform: unknown): BatchableTransform {
  if (!transform || typeof (transform as Transform).plan !== 'function') {
    fail(
      where,
      option,
      transform,
      'a Transform (a preset such as resnetPaperTrain() or compose([...]))',
    );
  }
  const t = transform as Transform;
  if (!t.outputSize) {
    throw new Error(
      `${where}: transform "${t.name}" produces views of varying size, which cannot be batched; use transformImage() one image at a time.`,
    );
  }
  return t as BatchableTransform;
}

function checkResume(where: string, option: string, value: unknown): LoaderState {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(where, option, value, 'a position saved from loader.state');
  }
  return value as LoaderState;
}

/**
 * The one declaration of {@link LoaderOptions}. The defaults that depend on
 * the transform or the dataset (`shuffle`, `dropLast`, `strict`,
 * `concurrency`, `numClasses`) are filled in by the constructor.
 */
const LOADER_SPEC = {
  transform: checkTransform,
  batchSize: checkPositiveInt,
  shuffle: optional(checkBoolean),
  seed: withDefault(checkNonNegativeInt, 0),
  epochs: withDefault(checkPositiveInt, 1),
  dropLast: optional(checkBoolean),
  rank: withDefault(checkNonNegativeInt, 0),
  worldSize: withDefault(checkPositiveInt, 1),
  prefetch: withDefault(checkPositiveInt, 2),
  concurrency: optional(checkPositiveInt),
  labels: withDefault(oneOf(['index', 'oneHot'] as const), 'index'),
  numClasses: optional(checkPositiveInt),
  strict: optional(checkBoolean),
  decode: checkDecodeOption,
  resume: optional(checkResume), // its fields are checked against the loader in restore()
} satisfies OptionSpec<LoaderOptions>;

/** Checks the dataset: it has samples, and `samples` and `classes` arrays. */
function checkDataset(dataset: ImageDataset): void {
  if (!dataset || !Array.isArray(dataset.samples) || !Array.isArray(dataset.classes)) {
    throw new Error(
      `${WHERE}: the dataset must have "samples" and "classes" arrays (see imageFolder()).`,
    );
  }
  if (dataset.samples.length === 0) throw new Error(`${WHERE}: the dataset has no samples.`);
}

/**
 * A batched, shuffled, sharded, prefetching, resumable image loader. Iterate
 * it with `for await`, or turn it into a `tf.data.Dataset` with
 * {@link ImageLoader.toDataset}. Create one with {@link createLoader}.
 *
 * Every random choice is a pure function of `(seed, epoch, sample)`: the
 * order of an epoch is a Fisher–Yates permutation seeded by `(seed, epoch)`,
 * and an image's augmentation is seeded by `(seed, epoch, index)`. So the
 * batches do not depend on decode timing or concurrency, and the position
 * ({@link ImageLoader.state}) is all a resumed run needs.
 *
 * @example
 * ```ts
 * import { createLoader, imageFolder, torchvisionEval } from '@convnets/imagenet-data';
 *
 * const val = await imageFolder('/data/imagenet/val');
 * const loader = createLoader(val, { transform: torchvisionEval(), batchSize: 50 });
 * console.log(`${loader.batchesPerEpoch} batches`);
 * for await (const { images, labels } of loader) {
 *   // … evaluate …
 *   images.dispose();
 *   labels.dispose();
 * }
 * console.log(loader.stats.seen, 'images');
 * ```
 */
export class ImageLoader implements AsyncIterable<Batch> {
  /** The dataset being loaded. */
  readonly dataset: ImageDataset;
  /** The transform applied to every image. */
  readonly transform: Transform;
  /** Images per batch. */
  readonly batchSize: number;
  /** Number of epochs after which iteration stops. */
  readonly epochs: number;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private readonly rank: number;
  private readonly worldSize: number;
  private readonly prefetch: number;
  private readonly concurrency: number;
  private readonly oneHot: boolean;
  private readonly numClasses: number;
  private readonly strict: boolean;
  private readonly decode: ResolvedDecodeOptions;
  private readonly height: number;
  private readonly width: number;
  private position: LoaderPosition;
  private counters = { seen: 0, skipped: [] as SkippedImage[], dropped: 0, decodesStarted: 0 };
  private iterating = false;

  /**
   * Creates a loader; prefer {@link createLoader}, which does the same.
   *
   * @param dataset - The samples and class names, e.g. from {@link imageFolder}.
   * @param options - The transform, batch size and the options of
   *   {@link LoaderOptions} (each optional field has its default there).
   * @throws Error naming the option when an option is unknown or out of range, the
   *   dataset has no samples or lacks `samples`/`classes` arrays, `transform` is
   *   not a transform or has no fixed output size (multi-scale evaluation), `rank`
   *   is not below `worldSize`, or `resume` was saved with a different seed,
   *   sharding or dataset size.
   */
  constructor(dataset: ImageDataset, options: LoaderOptions) {
    const o = checkOptions(WHERE, options, LOADER_SPEC);
    checkDataset(dataset);
    if (o.rank >= o.worldSize) fail(WHERE, 'rank', o.rank, `less than worldSize (${o.worldSize})`);
    const { transform } = o;
    this.dataset = dataset;
    this.transform = transform;
    [this.height, this.width] = transform.outputSize;
    this.batchSize = o.batchSize;
    this.shuffle = o.shuffle ?? transform.training;
    this.seed = o.seed;
    this.epochs = o.epochs;
    this.dropLast = o.dropLast ?? transform.training;
    this.worldSize = o.worldSize;
    this.rank = o.rank;
    this.prefetch = o.prefetch;
    this.concurrency = o.concurrency ?? 4 * availableParallelism();
    this.oneHot = o.labels === 'oneHot';
    this.numClasses = o.numClasses ?? dataset.classes.length;
    this.strict = o.strict ?? !transform.training;
    this.decode = o.decode;
    this.position = { epoch: 0, position: 0 };
    if (o.resume !== undefined) this.restore(o.resume);
  }

  private restore(state: LoaderState): void {
    const expected: Record<string, number> = {
      seed: this.seed,
      rank: this.rank,
      worldSize: this.worldSize,
      samples: this.dataset.samples.length,
    };
    for (const [key, value] of Object.entries(expected)) {
      if ((state as unknown as Record<string, unknown>)[key] !== value) {
        throw new Error(
          `${WHERE}: option "resume" was saved with ${key} = ${String((state as unknown as Record<string, unknown>)[key])}, but this loader has ${key} = ${value}; a resumed run must use the same dataset, seed and sharding.`,
        );
      }
    }
    const epoch = checkNonNegativeInt(WHERE, 'resume.epoch', state.epoch);
    const position = checkNonNegativeInt(WHERE, 'resume.position', state.position);
    if (position > this.shardLength())
      fail(WHERE, 'resume.position', position, `at most ${this.shardLength()}`);
    this.position = { epoch, position };
  }

  /**
   * Samples this rank reads per epoch: `floor(n / worldSize)` when shuffling
   * (equal shards), otherwise every sample, shards differing by at most one.
   *
   * @returns The number of samples in this rank's shard of an epoch.
   * @throws Nothing.
   */
  shardLength(): number {
    const n = this.dataset.samples.length;
    // Training shards are equal (the tail of the shuffled order is left out);
    // evaluation shards cover every sample, so they may differ by one.
    if (this.shuffle) return Math.floor(n / this.worldSize);
    return Math.floor(n / this.worldSize) + (this.rank < n % this.worldSize ? 1 : 0);
  }

  /**
   * Batches per epoch for this rank (fewer if images are skipped), counting
   * a last, incomplete batch unless `dropLast`.
   */
  get batchesPerEpoch(): number {
    const n = this.shardLength();
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * This rank's dataset indices for `epoch`, in reading order: a seeded
   * permutation when shuffling, dataset order otherwise, then every
   * `worldSize`-th index from `rank`.
   *
   * @param epoch - The epoch (0-based); each epoch has its own permutation.
   * @returns `shardLength()` dataset indices.
   * @throws Nothing.
   */
  epochOrder(epoch: number): Uint32Array {
    const n = this.dataset.samples.length;
    const order = this.shuffle
      ? epochPermutation(n, this.seed, epoch)
      : Uint32Array.from({ length: n }, (_, i) => i);
    const length = this.shardLength();
    const shard = new Uint32Array(length);
    for (let k = 0; k < length; k++) shard[k] = order[this.rank + k * this.worldSize];
    return shard;
  }

  /**
   * The position after the last batch yielded; pass it as `resume` to
   * continue exactly there. A fresh copy on each read.
   */
  get state(): LoaderState {
    return {
      seed: this.seed,
      epoch: this.position.epoch,
      position: this.position.position,
      rank: this.rank,
      worldSize: this.worldSize,
      samples: this.dataset.samples.length,
    };
  }

  /** Counts over everything yielded so far (images seen, skipped, dropped; decodes started); a fresh copy on each read. */
  get stats(): LoaderStats {
    return { ...this.counters, skipped: [...this.counters.skipped] };
  }

  private stateAt(epoch: number, position: number): LoaderState {
    return { ...this.state, epoch, position };
  }

  private load(index: number, epoch: number): Promise<Outcome> {
    this.counters.decodesStarted++;
    const { path } = this.dataset.samples[index];
    return renderSample(
      path,
      this.transform,
      sampleRandom(this.seed, epoch, index),
      this.decode,
    ).then(
      (sample) => ({ ok: true as const, sample }),
      (error: Error) => ({
        ok: false as const,
        error:
          error instanceof ImageDecodeError ? error : new ImageDecodeError(path, error.message),
      }),
    );
  }

  /**
   * Iterates batches from the current position until `epochs` epochs are
   * complete. Leaving the loop early (`break`) stops the decoding and keeps
   * the position of the last batch yielded.
   *
   * @returns An async iterator of batches; the caller disposes each batch's tensors.
   * @throws Error when the loader is already being iterated. The iterator's
   *   `next()` rejects with an {@link ImageDecodeError} naming the file when an
   *   image cannot be read in strict mode, or with an Error when a view has the
   *   wrong size or a label is not below `numClasses` (one-hot labels).
   */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    if (this.iterating)
      throw new Error(
        'ImageLoader: this loader is already being iterated; finish or break that loop first.',
      );
    this.iterating = true;
    const queue = new ReadyQueue(this.prefetch);
    const producer = produce(this.producerContext(), queue, { ...this.position }).catch(
      (error: Error) => queue.pushFailure(error),
    );
    const finish = async () => {
      queue.stop();
      await producer;
      this.iterating = false;
    };
    return {
      next: () => this.nextBatch(queue, finish),
      return: async () => {
        if (this.iterating) await finish();
        return { done: true, value: undefined };
      },
    };
  }

  /** What the producer reads of this loader. */
  private producerContext(): ProducerContext {
    return {
      samples: this.dataset.samples,
      transform: this.transform,
      batchSize: this.batchSize,
      height: this.height,
      width: this.width,
      epochs: this.epochs,
      concurrency: this.concurrency,
      strict: this.strict,
      dropLast: this.dropLast,
      epochOrder: (epoch) => this.epochOrder(epoch),
      load: (index, epoch) => this.load(index, epoch),
      stateAt: (epoch, position) => this.stateAt(epoch, position),
    };
  }

  /** The consumer: takes items until a batch (or the end, or an error) comes. */
  private async nextBatch(
    queue: ReadyQueue,
    finish: () => Promise<void>,
  ): Promise<IteratorResult<Batch>> {
    for (;;) {
      const item = queue.shift();
      if (!item) {
        if (!this.iterating) return { done: true, value: undefined };
        await queue.waitForItem();
        continue;
      }
      if (item.kind === 'end') {
        await finish();
        return { done: true, value: undefined };
      }
      if (item.kind === 'error') {
        await finish();
        throw item.error;
      }
      this.advance(item);
      if (item.kind === 'marker') continue;
      queue.batchTaken();
      return { done: false, value: this.toBatch(item) };
    }
  }

  /** Moves the position past a batch or an epoch's end, and counts what it carried. */
  private advance(item: PreparedBatch | Marker): void {
    this.position = { epoch: item.state.epoch, position: item.state.position };
    this.counters.skipped.push(...item.skipped);
    if (item.kind === 'marker') this.counters.dropped += item.dropped;
    else this.counters.seen += item.count;
  }

  private toBatch(item: PreparedBatch): Batch {
    const n = item.count;
    const images = tf.tensor4d(
      item.images,
      [n * this.transform.views, this.height, this.width, 3],
      'float32',
    );
    let labels: tf.Tensor1D | tf.Tensor2D;
    if (this.oneHot) {
      const values = new Float32Array(n * this.numClasses);
      item.labels.forEach((label, i) => {
        if (label >= this.numClasses)
          throw new Error(
            `${WHERE}: label ${label} of ${item.paths[i]} is not below numClasses (${this.numClasses}).`,
          );
        values[i * this.numClasses + label] = 1;
      });
      labels = tf.tensor2d(values, [n, this.numClasses], 'float32');
    } else {
      labels = tf.tensor1d(Int32Array.from(item.labels), 'int32');
    }
    return {
      images,
      labels,
      paths: item.paths,
      indices: item.indices,
      epoch: item.epoch,
      skipped: item.skipped,
    };
  }

  /**
   * The loader as a `tf.data.Dataset` of `{ xs, ys }` (images, labels), ready
   * for `model.fitDataset`. Each iteration of the dataset continues from the
   * loader's current position.
   *
   * @example
   * ```ts
   * await model.fitDataset(loader.toDataset(), { epochs: 1 });
   * ```
   * @returns A dataset of `{ xs, ys }` batches.
   * @throws Nothing when called; iterating the dataset fails as iterating the
   *   loader does (see `[Symbol.asyncIterator]`).
   */
  toDataset(): Dataset<{ xs: tf.Tensor4D; ys: tf.Tensor1D | tf.Tensor2D }> {
    const iterate = async function* (loader: ImageLoader) {
      for await (const batch of loader) yield { xs: batch.images, ys: batch.labels };
    };
    return generator(() => iterate(this));
  }
}

/**
 * Creates an {@link ImageLoader}: NHWC float32 batches (one tensor per batch,
 * normalised on typed arrays) and int32 or one-hot labels, with seeded
 * shuffling, epochs, drop-last, sharding, bounded prefetch, concurrent
 * decoding and exact resume.
 *
 * @example
 * ```ts
 * const train = await imageFolder('/data/imagenet/train');
 * const loader = createLoader(train, { transform: resnetPaperTrain(), batchSize: 256, seed: 1, epochs: 90 });
 * for await (const { images, labels } of loader) {
 *   await model.trainOnBatch(images, labels);
 *   tf.dispose([images, labels]);
 *   saveCheckpoint({ loader: loader.state });
 * }
 * ```
 * @param dataset - The samples and class names, e.g. from {@link imageFolder}
 *   or {@link imagenetValidation}.
 * @param options - `transform` and `batchSize` are required; every other
 *   field of {@link LoaderOptions} has a default (shuffle and drop-last for
 *   training transforms, seed 0, 1 epoch, 1 shard, prefetch 2).
 * @returns The loader, ready to iterate with `for await`.
 * @throws Error naming the option when an option is unknown or out of range, the
 *   dataset has no samples or lacks `samples`/`classes` arrays, `transform` is
 *   not a transform or has no fixed output size (multi-scale evaluation), `rank`
 *   is not below `worldSize`, or `resume` was saved with a different seed,
 *   sharding or dataset size.
 */
export function createLoader(dataset: ImageDataset, options: LoaderOptions): ImageLoader {
  return new ImageLoader(dataset, options);
}
