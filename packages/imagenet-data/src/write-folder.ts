import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  checkOptions,
  checkPositiveInt,
  fail,
  optional,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import type { PixelDataset } from './pixels';

/** Options of {@link writeImageFolder}. */
export interface WriteImageFolderOptions {
  /**
   * Called after each image written, with the images written so far and the total.
   *
   * @defaultValue none
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Images encoded at once.
   *
   * @defaultValue 8
   */
  concurrency?: number;
}

/** The one declaration of {@link WriteImageFolderOptions}. */
const WRITE_FOLDER_SPEC = {
  onProgress: optional((where, option, value) =>
    typeof value === 'function'
      ? (value as (done: number, total: number) => void)
      : fail(where, option, value, 'a function'),
  ),
  concurrency: withDefault(checkPositiveInt, 8),
} satisfies OptionSpec<WriteImageFolderOptions>;

const WHERE = 'writeImageFolder';

/** A class or split name that is one plain, visible path component. */
function checkComponent(what: string, name: string): void {
  if (!/^[^/\\\0]+$/.test(name) || name.startsWith('.'))
    throw new Error(
      `${WHERE}: the ${what} ${JSON.stringify(name)} cannot be a folder name (empty, hidden, or with a path separator).`,
    );
}

/** Whether `path` exists (as anything). */
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Writes one split's images as PNGs into `root/<class>/<index>.png`. */
async function writeSplit(
  root: string,
  dataset: PixelDataset,
  concurrency: number,
  written: () => void,
): Promise<void> {
  const [height, width, channels] = dataset.imageShape;
  const size = height * width * channels;
  const digits = Math.max(5, String(dataset.count - 1).length);
  // Every class gets its folder, so that the folder's sorted class list is the dataset's.
  for (const name of dataset.classes) await mkdir(join(root, name), { recursive: true });
  let next = 0;
  // The first failure stops every worker; all have settled when it is thrown (so the caller can clean up).
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < dataset.count && !failure) {
      const i = next++;
      const pixels = dataset.images.subarray(i * size, (i + 1) * size);
      const name = `${String(i).padStart(digits, '0')}.png`;
      try {
        await sharp(pixels, { raw: { width, height, channels: channels as 3 } })
          .png()
          .toFile(join(root, dataset.classes[dataset.labels[i]], name));
        written();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure) throw failure.error;
}

/**
 * Writes datasets held in memory (e.g. {@link cifar10}'s splits) as an image
 * folder that {@link imageFolder} and `convnets train --data` read:
 * `dir/<split>/<class>/<index>.png`, lossless PNGs named by the image's index
 * in the dataset (zero-padded, so that sorted file names keep the dataset's
 * order and {@link holdOutPerClass} holds out the same images from the
 * folder as from the dataset). Nothing half-written is left under a final
 * name: the images go into a hidden `dir/.tmp-…` folder first, and each
 * split is renamed into place once every image is written (an interrupted
 * run leaves only that hidden folder, which can be deleted). Every class
 * gets a folder, even one without images in a split. For CIFAR-10 and
 * CIFAR-100 the class names are in sorted order already, so the folder's
 * class indices are the archive's.
 *
 * @example
 * ```ts
 * const archive = 'cifar-10-python.tar.gz';
 * const { train, test } = await readCifarArchive(archive);
 * await writeImageFolder('data/cifar10', { train: train!, test: test! });
 * const folder = await imageFolder('data/cifar10/train'); // 50,000 images, 10 classes
 * ```
 * @param dir - The folder to write into (created if needed).
 * @param splits - The datasets by split name (8-bit images, 1, 3 or 4 channels).
 * @param options - Progress callback and concurrency (default `{}`).
 * @returns The folder of each split.
 * @throws Error when a split's folder exists already, a split or class name
 *   cannot be a folder name, the images are not 8-bit, or a file cannot be
 *   written (the temporary folder is removed then).
 */
export async function writeImageFolder(
  dir: string,
  splits: Readonly<Record<string, PixelDataset>>,
  options: WriteImageFolderOptions = {},
): Promise<Record<string, string>> {
  const { onProgress, concurrency } = checkOptions(WHERE, options, WRITE_FOLDER_SPEC);
  const entries = Object.entries(splits);
  for (const [split, dataset] of entries) {
    checkComponent('split', split);
    dataset.classes.forEach((c) => checkComponent('class', c));
    if (!(dataset.images instanceof Uint8Array))
      throw new Error(
        `${WHERE}: split "${split}" holds ${dataset.images.constructor.name} images; PNGs need 8-bit pixels.`,
      );
    if (await exists(join(dir, split)))
      throw new Error(
        `${WHERE}: ${join(dir, split)} exists already; remove it or write elsewhere.`,
      );
  }
  await mkdir(dir, { recursive: true });
  const temp = await mkdtemp(join(dir, '.tmp-'));
  const total = entries.reduce((n, [, d]) => n + d.count, 0);
  let done = 0;
  try {
    for (const [split, dataset] of entries)
      await writeSplit(join(temp, split), dataset, concurrency, () => onProgress?.(++done, total));
    for (const [split] of entries) await rename(join(temp, split), join(dir, split));
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return Object.fromEntries(entries.map(([split]) => [split, join(dir, split)]));
}
