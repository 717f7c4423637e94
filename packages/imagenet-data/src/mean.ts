import { checkDecodeOption, type DecodeOptions } from './decode';
import type { ImageDataset } from './folder';
import { renderSample } from './pipeline';
import { transformPixels, type PixelDataset } from './pixels';
import { Random } from './rng';
import { centerCrop, resizeShorterSide } from './transform-steps';
import { compose, type MeanImage, type Transform } from './transforms';
import {
  checkOptions,
  checkPositiveInt,
  optional,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/** Options of {@link computeMean}. */
export interface ComputeMeanOptions {
  /**
   * The geometry the mean is taken over (its normalisation is ignored). It
   * must give one view of a fixed size.
   *
   * @defaultValue shorter side 256, centre crop 224, matching the ResNet presets
   */
  transform?: Transform;
  /**
   * Use at most this many images, spread evenly over the dataset.
   *
   * @defaultValue all of them, `dataset.samples.length`
   */
  limit?: number;
  /**
   * Images decoded at once.
   *
   * @defaultValue 8
   */
  concurrency?: number;
  /**
   * Decode options.
   *
   * @defaultValue `{}` (every {@link DecodeOptions} default)
   */
  decode?: DecodeOptions;
}

/** The one declaration of {@link ComputeMeanOptions}. */
const COMPUTE_MEAN_SPEC = {
  transform: unchecked<Transform | undefined>(), // its output size is checked below
  limit: optional(checkPositiveInt),
  concurrency: withDefault(checkPositiveInt, 8),
  decode: checkDecodeOption,
} satisfies OptionSpec<ComputeMeanOptions>;

/** Adds the first view of image `index` of a dataset in memory, framed by `transform`, to `sum`. */
function addInMemory(
  dataset: PixelDataset,
  index: number,
  transform: Transform,
  k: number,
  sum: Float64Array,
): void {
  const [height, width, channels] = dataset.imageShape;
  const size = height * width * channels;
  const data = dataset.images.subarray(index * size, (index + 1) * size);
  const image = { data, width, height, channels };
  const pixels = transformPixels(image, transform, new Random(0, k)).views[0].data;
  if (pixels.length !== sum.length)
    throw new Error(
      `computeMean: the transform frames ${pixels.length / 3} pixels; its output size says ${sum.length / 3}.`,
    );
  for (let i = 0; i < pixels.length; i++) sum[i] += pixels[i];
}

/** The training set's mean, per pixel and per channel, on the 0 … 255 scale. */
export interface DatasetMean {
  /** Per-pixel mean image (for `mean` in the paper presets). */
  readonly image: MeanImage;
  /** Per-channel mean `[r, g, b]`. */
  readonly channel: readonly [number, number, number];
  /** Images averaged (unreadable ones are left out). */
  readonly count: number;
}

/**
 * Computes the mean image and the per-channel mean of a dataset, as AlexNet,
 * VGG and ResNet subtract them ("the per-pixel mean subtracted", ResNet §3.4).
 *
 * @example
 * ```ts
 * const { image } = await computeMean(train, { limit: 10_000 });
 * const transform = resnetPaperTrain({ mean: image });
 * ```
 * @param dataset - The training set: an image folder ({@link imageFolder}) or
 *   a dataset in memory ({@link cifar10}), whose images the transform frames
 *   without resampling (for a dataset in memory, `concurrency` and `decode`
 *   do not apply).
 * @param options - Geometry, image limit, concurrency and decode options
 *   (default `{}`: every image, shorter side 256 and centre crop 224, 8 at once).
 * @returns The per-pixel mean image (the transform's output size), the
 *   per-channel mean, both on the 0 … 255 scale, and the number of images
 *   averaged (unreadable ones are left out).
 * @throws Error when an option is unknown or invalid, the transform does not
 *   give one view of a fixed size, or none of the images can be read.
 * @see [He et al. 2015, "Deep Residual Learning for Image Recognition", §3.4](https://arxiv.org/abs/1512.03385)
 */
export async function computeMean(
  dataset: ImageDataset | PixelDataset,
  options: ComputeMeanOptions = {},
): Promise<DatasetMean> {
  const where = 'computeMean';
  const checked = checkOptions(where, options, COMPUTE_MEAN_SPEC);
  const transform =
    checked.transform ?? compose([resizeShorterSide(256), centerCrop(224)], { training: false });
  if (!transform.outputSize || transform.views !== 1) {
    throw new Error(
      `${where}: the transform must give one view of a fixed size; "${transform.name}" does not.`,
    );
  }
  const total = 'samples' in dataset ? dataset.samples.length : dataset.count;
  const limit = Math.min(total, checked.limit ?? total);
  const { concurrency, decode } = checked;
  const [height, width] = transform.outputSize;
  const sum = new Float64Array(height * width * 3);
  let count = 0;
  let next = 0;
  const worker = async () => {
    while (next < limit) {
      const k = next++;
      const index = Math.floor((k * total) / limit);
      if (!('samples' in dataset)) {
        addInMemory(dataset, index, transform, k, sum);
        count++;
        continue;
      }
      const { path } = dataset.samples[index];
      try {
        const { views } = await renderSample(path, transform, new Random(0, k), decode);
        const pixels = views[0].data;
        for (let i = 0; i < pixels.length; i++) sum[i] += pixels[i];
        count++;
      } catch {
        // Unreadable images are left out of the mean.
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (count === 0) throw new Error(`${where}: none of the ${limit} images could be read.`);
  const data = new Float32Array(sum.length);
  const channel = [0, 0, 0];
  for (let i = 0; i < sum.length; i++) {
    data[i] = sum[i] / count;
    channel[i % 3] += sum[i] / count / (height * width);
  }
  return { image: { height, width, data }, channel: channel as [number, number, number], count };
}
