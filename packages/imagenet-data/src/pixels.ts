import type { Padding, Rect, ViewGeometry } from './geometry';
import type { Random } from './rng';
import type { Transform } from './transforms';

/** An image already in memory: `height × width × channels` values, row-major (HWC). */
export interface PixelImage {
  /** The values: 8-bit pixels or floats (already normalised, say). */
  readonly data: Uint8Array | Float32Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Values per pixel (3 for RGB). */
  readonly channels: number;
}

/** What {@link transformPixels} returns: the views of one image and the lighting to add when normalising. */
export interface TransformedPixels {
  /** One image per view, of the same element type as the input. */
  readonly views: PixelImage[];
  /** The transform's lighting offset for this image (zeros without lighting), in its normalisation's scaled units. */
  readonly rgbOffset: readonly [number, number, number];
}

/**
 * Copies the crop `crop` of `src` (`srcWidth` pixels wide), padded by `pad`
 * zeros and then mirrored when `flip`, into a new `width × height` image:
 * the part of a view's geometry that needs no resampling.
 */
export function cropPadFlip<T extends Uint8Array | Float32Array>(
  src: T,
  srcWidth: number,
  channels: number,
  view: { crop: Rect; pad?: Padding; flip: boolean; width: number; height: number },
): T {
  const c = view.crop;
  const p = view.pad ?? { top: 0, bottom: 0, left: 0, right: 0 };
  const { width, height } = view;
  if (c.width + p.left + p.right !== width || c.height + p.top + p.bottom !== height) {
    throw new Error(
      `view geometry is inconsistent: a ${c.width}×${c.height} crop padded by ${JSON.stringify(p)} is not ${width}×${height}.`,
    );
  }
  const size = width * height * channels;
  // Not src.constructor: a Node Buffer is a Uint8Array whose constructor is deprecated.
  const out = (src instanceof Float32Array ? new Float32Array(size) : new Uint8Array(size)) as T;
  for (let y = 0; y < c.height; y++) {
    const from = ((c.top + y) * srcWidth + c.left) * channels;
    const row = (p.top + y) * width;
    if (!view.flip) {
      out.set(src.subarray(from, from + c.width * channels), (row + p.left) * channels);
      continue;
    }
    for (let x = 0; x < c.width; x++) {
      const to = (row + width - 1 - (p.left + x)) * channels;
      for (let ch = 0; ch < channels; ch++) out[to + ch] = src[from + x * channels + ch];
    }
  }
  return out;
}

/**
 * Applies a transform's geometry to an image already in memory, drawing
 * exactly what the loader draws for a file of that size: with
 * `sampleRandom(seed, epoch, index)` as `rng`, a dataset held in arrays gets
 * the same crops and flips as a folder of the same images. The transform may
 * crop, pad and flip (`pad`, `randomCrop`, `centerCrop`,
 * `randomHorizontalFlip`, `tenCropViews`, e.g. {@link cifarTrain}); it may not
 * resize. Its normalisation is not applied: the values are copied as they are.
 *
 * @param image - The image, any number of channels, bytes or floats.
 * @param transform - The transform whose plan to follow.
 * @param rng - The generator of this image's random choices (see {@link sampleRandom}).
 * @returns The views (same element type as `image.data`) and the lighting offset.
 * @throws Error when `image.data` does not hold `width × height × channels`
 *   values, or a step does not apply (a crop larger than the image) or
 *   resizes (resampling needs the loader's sharp pipeline).
 * @example
 * ```ts
 * import { cifarTrain, sampleRandom, transformPixels } from '@convnets/imagenet-data';
 * const image = { data: pixels, width: 32, height: 32, channels: 3 };
 * const [view] = transformPixels(image, cifarTrain(), sampleRandom(seed, epoch, index)).views;
 * ```
 */
export function transformPixels(
  image: PixelImage,
  transform: Transform,
  rng: Random,
): TransformedPixels {
  const { data, width, height, channels } = image;
  if (data.length !== width * height * channels)
    throw new Error(
      `transformPixels: a ${height}×${width}×${channels} image needs ${width * height * channels} values; received ${data.length}.`,
    );
  const plan = transform.plan(width, height, rng);
  const views = plan.views.map((g: ViewGeometry): PixelImage => {
    if (g.resize)
      throw new Error(
        `transformPixels: transform "${transform.name}" resizes; images in memory can only be cropped, padded and flipped.`,
      );
    const crop = g.preCrop ?? { left: 0, top: 0, width, height };
    return {
      data: cropPadFlip(data, width, channels, { ...g, crop }),
      width: g.width,
      height: g.height,
      channels,
    };
  });
  return { views, rgbOffset: plan.rgbOffset };
}
