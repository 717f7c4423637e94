// Views of images already in memory: the byte copies (crop, padding, mirror)
// of every path, the grouping of a sample's views by their resampling, and
// transformPixels. Browser-safe: no Node module, no sharp.
import type { Padding, Rect, ViewGeometry } from './geometry';
import { resampleBilinear } from './resample';
import type { Random } from './rng';
import type { Transform } from './transforms';

/**
 * An image already in memory: `height × width × channels` values, row-major
 * (HWC); `T` is the element type (bytes or floats).
 */
export interface PixelImage<T extends Uint8Array | Float32Array = Uint8Array | Float32Array> {
  /** The values: 8-bit pixels or floats (already normalised, say). */
  readonly data: T;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Values per pixel (3 for RGB). */
  readonly channels: number;
}

/**
 * A labelled dataset held in memory: `count` images of one shape, HWC, in
 * one array (CIFAR's archives read by {@link cifar10} and {@link cifar100}).
 * The trainer's `arrayTrainingData` and `arrayEvaluationData` take it as it
 * is; {@link holdOutPerClass} and {@link computeMean} take it as they take
 * an image folder.
 */
export interface PixelDataset {
  /** Class names; `labels` index into this list. */
  readonly classes: readonly string[];
  /** `count × height × width × channels` values, image after image, each row-major HWC. */
  readonly images: Uint8Array | Float32Array;
  /** `[height, width, channels]` of every image. */
  readonly imageShape: readonly [number, number, number];
  /** `count` class indices. */
  readonly labels: Int32Array;
  /** Number of images. */
  readonly count: number;
}

/** What {@link transformPixels} returns: the views of one image and the lighting to add when normalising. */
export interface TransformedPixels<
  T extends Uint8Array | Float32Array = Uint8Array | Float32Array,
> {
  /** One image per view, of the same element type as the input. */
  readonly views: PixelImage<T>[];
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

/** The part of a view's geometry that needs resampling: its source crop and resize. */
export function resampling(g: ViewGeometry): ViewGeometry {
  const size = g.resize ?? g.preCrop ?? { width: g.sourceWidth, height: g.sourceHeight };
  return {
    sourceWidth: g.sourceWidth,
    sourceHeight: g.sourceHeight,
    preCrop: g.preCrop,
    resize: g.resize,
    flip: false,
    width: size.width,
    height: size.height,
  };
}

/**
 * A sample's views grouped by their resampling (source crop and resize):
 * each group is resampled once and its views cut from that by byte copies
 * ({@link restOfView}). `groups` maps a key to the group's resampling;
 * `keys[i]` is view i's group.
 */
export function groupByResampling(views: readonly ViewGeometry[]): {
  groups: Map<string, ViewGeometry>;
  keys: string[];
} {
  const groups = new Map<string, ViewGeometry>();
  const keys = views.map((g) => {
    const base = resampling(g);
    const key = JSON.stringify([base.preCrop ?? null, base.resize ?? null]);
    groups.set(key, base);
    return key;
  });
  return { groups, keys };
}

/**
 * The rest of a view, exactly, on bytes: the crop of the resampled image
 * (of which `base` holds the part `at`, the whole by default), the zero
 * padding, then the mirror (which the geometry applies last).
 */
export function restOfView<T extends Uint8Array | Float32Array>(
  base: { readonly data: T; readonly width: number; readonly height: number },
  g: ViewGeometry,
  channels: number,
  at: Rect = { left: 0, top: 0, width: base.width, height: base.height },
): { data: T; width: number; height: number } {
  const c = g.postCrop ?? at;
  const crop = { ...c, left: c.left - at.left, top: c.top - at.top };
  return { data: cropPadFlip(base.data, base.width, channels, { ...g, crop }), ...viewSize(g) };
}

const viewSize = (g: ViewGeometry) => ({ width: g.width, height: g.height });

/** The smallest rectangle holding the post-resize crops of `views` (all of one resampling). */
function boundingWindow(views: readonly ViewGeometry[], resized: Rect): Rect {
  const crops = views.map((g) => g.postCrop ?? resized);
  const left = Math.min(...crops.map((c) => c.left));
  const top = Math.min(...crops.map((c) => c.top));
  const right = Math.max(...crops.map((c) => c.left + c.width));
  const bottom = Math.max(...crops.map((c) => c.top + c.height));
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * Resamples one group of views (see {@link groupByResampling}) of an 8-bit
 * image: only the pixels their crops cover, with Pillow's bilinear filter.
 */
function resampleGroup(
  where: string,
  image: PixelImage,
  group: ViewGeometry,
  views: readonly ViewGeometry[],
  transform: Transform,
) {
  if (!(image.data instanceof Uint8Array))
    throw new Error(
      `${where}: transform "${transform.name}" resizes, which needs 8-bit pixels (a Uint8Array); this image holds a ${image.data.constructor.name}.`,
    );
  if (transform.kernel !== 'linear')
    throw new Error(
      `${where}: transform "${transform.name}" resizes with the '${transform.kernel}' kernel; images in memory are resized with 'linear' (Pillow's antialiased bilinear) only.`,
    );
  const resize = group.resize!;
  const source = group.preCrop ?? { left: 0, top: 0, width: image.width, height: image.height };
  const at = boundingWindow(views, { left: 0, top: 0, ...resize });
  const data = resampleBilinear({ ...image, data: image.data }, source, resize, at);
  return { data, width: at.width, height: at.height, at };
}

/**
 * Renders the views of one image in memory: views without a resize are
 * byte copies of the source; the views that share a resampling are
 * resampled once and cut from it.
 */
function renderViews<T extends Uint8Array | Float32Array>(
  where: string,
  image: PixelImage<T>,
  views: ViewGeometry[],
  transform: Transform,
): PixelImage<T>[] {
  const { data, width, height, channels } = image;
  const { groups, keys } = groupByResampling(views);
  const bases = new Map<string, ReturnType<typeof resampleGroup>>();
  for (const [key, group] of groups) {
    const members = views.filter((_, i) => keys[i] === key);
    if (group.resize) bases.set(key, resampleGroup(where, image, group, members, transform));
  }
  return views.map((g, i): PixelImage<T> => {
    const base = bases.get(keys[i]);
    // A resampled base exists only for bytes (resampleGroup refuses floats), so T is Uint8Array.
    if (base) return { ...restOfView(base, g, channels, base.at), channels } as PixelImage<T>;
    const crop = g.preCrop ?? { left: 0, top: 0, width, height };
    return { data: cropPadFlip(data, width, channels, { ...g, crop }), ...viewSize(g), channels };
  });
}

/**
 * Applies a transform's geometry to an image already in memory, drawing
 * exactly what the loader draws for a file of that size: with
 * `sampleRandom(seed, epoch, index)` as `rng`, a dataset held in arrays gets
 * the same crops and flips as a folder of the same images. Crops, padding
 * and mirrors are byte copies; resizes (8-bit images only) are Pillow's
 * antialiased bilinear filter in Pillow's fixed-point arithmetic, so a view
 * equals torchvision's on a PIL image holding the same pixels, byte for byte.
 * Runs anywhere (no Node module). Its normalisation is not applied: see
 * {@link preprocess} for the whole transform.
 *
 * @param image - The image: bytes (any number of channels, each resampled on
 *   its own), or floats when the transform does not resize.
 * @param transform - The transform whose plan to follow.
 * @param rng - The generator of this image's random choices (see {@link sampleRandom}).
 * @returns The views (same element type as `image.data`) and the lighting offset.
 * @throws Error when `image.data` does not hold `width × height × channels`
 *   values, a step does not apply (a crop larger than the image), or the
 *   transform resizes a Float32Array image or with a kernel other than
 *   `'linear'`.
 * @example
 * ```ts
 * import { cifarTrain, sampleRandom, transformPixels } from '@convnets/imagenet-data';
 * const image = { data: pixels, width: 32, height: 32, channels: 3 };
 * const [view] = transformPixels(image, cifarTrain(), sampleRandom(seed, epoch, index)).views;
 * ```
 */
export function transformPixels<T extends Uint8Array | Float32Array>(
  image: PixelImage<T>,
  transform: Transform,
  rng: Random,
): TransformedPixels<T> {
  return renderPixels('transformPixels', image, transform, rng);
}

/** {@link transformPixels}, its errors naming `where`. */
export function renderPixels<T extends Uint8Array | Float32Array>(
  where: string,
  image: PixelImage<T>,
  transform: Transform,
  rng: Random,
): TransformedPixels<T> {
  const { data, width, height, channels } = image;
  if (data.length !== width * height * channels)
    throw new Error(
      `${where}: a ${height}×${width}×${channels} image needs ${width * height * channels} values; received ${data.length}.`,
    );
  const plan = transform.plan(width, height, rng);
  return { views: renderViews(where, image, plan.views, transform), rgbOffset: plan.rgbOffset };
}
