import type { ImageDataset, Sample } from './folder';
import type { PixelDataset } from './pixels';

/** The two parts of a dataset that {@link holdOutPerClass} returns, of the dataset's kind. */
export interface HeldOutSplit<D = ImageDataset> {
  /** Every sample but the held-out ones, in the dataset's order. */
  readonly train: D;
  /** The last `perClass` samples of each class, in the dataset's order. */
  readonly val: D;
}

/**
 * Which samples are held out: the last `perClass` of each class, in order.
 *
 * @throws Error when `perClass` is not a positive integer or a class has no more than `perClass` samples.
 */
function heldOut(
  classes: readonly string[],
  labels: ArrayLike<number>,
  perClass: number,
): Uint8Array {
  const where = 'holdOutPerClass';
  if (!Number.isInteger(perClass) || perClass < 1)
    throw new Error(`${where}: perClass must be a positive integer; received ${String(perClass)}.`);
  const counts = new Array<number>(classes.length).fill(0);
  for (let i = 0; i < labels.length; i++) {
    if (!(labels[i] >= 0 && labels[i] < classes.length))
      throw new Error(
        `${where}: label ${labels[i]} of sample ${i} is not a class index 0 … ${classes.length - 1}.`,
      );
    counts[labels[i]]++;
  }
  counts.forEach((count, label) => {
    if (count <= perClass)
      throw new Error(
        `${where}: class "${classes[label]}" has ${count} samples; holding out ${perClass} needs more than ${perClass}.`,
      );
  });
  const seen = new Array<number>(classes.length).fill(0);
  const val = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++)
    val[i] = seen[labels[i]]++ >= counts[labels[i]] - perClass ? 1 : 0;
  return val;
}

/** The images and labels of `dataset` whose `mask` entry is `keep`, in order (copies). */
function pick(dataset: PixelDataset, mask: Uint8Array, keep: 0 | 1): PixelDataset {
  const size = dataset.imageShape[0] * dataset.imageShape[1] * dataset.imageShape[2];
  const count = mask.reduce((n, m) => n + (m === keep ? 1 : 0), 0);
  const images =
    dataset.images instanceof Float32Array
      ? new Float32Array(count * size)
      : new Uint8Array(count * size);
  const labels = new Int32Array(count);
  for (let i = 0, k = 0; i < mask.length; i++) {
    if (mask[i] !== keep) continue;
    images.set(dataset.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k++] = dataset.labels[i];
  }
  return { classes: dataset.classes, images, imageShape: dataset.imageShape, labels, count };
}

/**
 * Holds out the last `perClass` samples of every class as a validation set,
 * as the ResNet paper splits CIFAR-10's training images 45k/5k (§4.2). The
 * order is the dataset's (for {@link imageFolder}, sorted file names; for
 * {@link cifar10}, the archive's batches in order), so the split is the same
 * on every machine. Works on an image folder (its samples are split) and on
 * a {@link PixelDataset} in memory (its images and labels are copied into
 * two new datasets).
 *
 * @example
 * ```ts
 * const all = await imageFolder('cifar10-jpeg/train');
 * const { train, val } = holdOutPerClass(all, 500); // 45,000 / 5,000
 * // The same from the official archive, in memory:
 * const split = holdOutPerClass(await cifar10({ archive: 'cifar-10-python.tar.gz' }), 500);
 * ```
 * @param dataset - The dataset to split (its class list is kept by both parts).
 * @param perClass - Samples of each class to hold out: a positive integer.
 * @returns The training part and the held-out part, of the dataset's kind.
 * @throws Error when `perClass` is not a positive integer, or a class has
 *   no more than `perClass` samples (it would have none left to train on),
 *   naming the class and its count.
 */
export function holdOutPerClass(dataset: ImageDataset, perClass: number): HeldOutSplit;
export function holdOutPerClass(
  dataset: PixelDataset,
  perClass: number,
): HeldOutSplit<PixelDataset>;
export function holdOutPerClass(
  dataset: ImageDataset | PixelDataset,
  perClass: number,
): HeldOutSplit<ImageDataset> | HeldOutSplit<PixelDataset>;
export function holdOutPerClass(
  dataset: ImageDataset | PixelDataset,
  perClass: number,
): HeldOutSplit<ImageDataset> | HeldOutSplit<PixelDataset> {
  if ('samples' in dataset) {
    const mask = heldOut(
      dataset.classes,
      dataset.samples.map((s) => s.label),
      perClass,
    );
    const part = (keep: 0 | 1): Sample[] => dataset.samples.filter((_, i) => mask[i] === keep);
    return {
      train: { classes: dataset.classes, samples: part(0) },
      val: { classes: dataset.classes, samples: part(1) },
    };
  }
  const mask = heldOut(dataset.classes, dataset.labels, perClass);
  return { train: pick(dataset, mask, 0), val: pick(dataset, mask, 1) };
}
