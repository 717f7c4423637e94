// A transform applied to pixels already in memory (a tf.Tensor3D from
// tf.browser.fromPixels, a browser ImageData, decoded RGB bytes): the same
// views and floats as transformImage gives for a file of those pixels.
// Browser-safe: no Node module, no sharp.
import { Tensor, tensor4d, type Tensor3D, type Tensor4D } from '@tensorflow/tfjs-core';
import { normalizeInto, normalizeViews, type TransformedView } from './normalization';
import { renderPixels, type PixelImage } from './pixels';
import { Random } from './rng';
import type { Transform } from './transforms';
import {
  checkFiniteNumber,
  checkOptions,
  checkPositiveInt,
  fail,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/**
 * 8-bit pixels in memory, row-major `[height, width, channels]`: a browser
 * `ImageData` (RGBA), a canvas's bytes, a decoded image
 * ({@link decodeImage}'s result is one).
 */
export interface RgbPixels {
  /** `height × width × channels` values, 0 … 255, RGB or RGBA. */
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /**
   * 3 (RGB) or 4 (RGBA; the alpha channel is ignored, as
   * `tf.browser.fromPixels(image, 3)` ignores it).
   *
   * @defaultValue `data.length / (width × height)` (so an `ImageData` reads as RGBA)
   */
  readonly channels?: 3 | 4;
}

/** Options of {@link preprocess} and {@link preprocessViews}. */
export interface PreprocessOptions {
  /**
   * Seed of the random choices (crop positions, flips, lighting) of a
   * training transform: {@link transformImage} and {@link preprocess} draw
   * the same for the same seed and image size.
   *
   * @defaultValue 0
   */
  seed?: number;
}

/** The one declaration of {@link PreprocessOptions}. */
export const PREPROCESS_SPEC = {
  seed: withDefault(checkFiniteNumber, 0),
} satisfies OptionSpec<PreprocessOptions>;

const EXPECTED_PIXELS =
  'a tf.Tensor3D [height, width, 3] (or 4 channels, RGBA) of int32 or float32 values in 0 … 255, or { data: Uint8Array | Uint8ClampedArray, width, height, channels?: 3 | 4 }';

/**
 * The first three of each `channels` values of an image `width` pixels wide
 * as RGB bytes; with `check`, each must be an integer in 0 … 255 (floats are
 * never rounded silently).
 */
function rgbBytes(
  where: string,
  values: ArrayLike<number>,
  width: number,
  channels: number,
  check: boolean,
): Uint8Array {
  const out = new Uint8Array((values.length / channels) * 3);
  for (let i = 0, j = 0; i < values.length; i += channels, j += 3) {
    for (let c = 0; c < 3; c++) {
      const v = values[i + c];
      if (check && !(v >= 0 && v <= 255 && Number.isInteger(v))) {
        const pixel = j / 3;
        throw new Error(
          `${where}: pixel values must be integers in 0 … 255 (as tf.browser.fromPixels gives); found ${v} at [${Math.floor(pixel / width)}, ${pixel % width}, ${c}]. Round and clip them first, e.g. pixels.round().clipByValue(0, 255).`,
        );
      }
      out[j + c] = v;
    }
  }
  return out;
}

/** A `tf.Tensor3D` of pixels as RGB bytes; refuses other ranks, channel counts and dtypes. */
function tensorPixels(where: string, t: Tensor): PixelImage<Uint8Array> {
  if (t.isDisposed) throw new Error(`${where}: the pixels tensor has already been disposed.`);
  const [height, width, channels] = t.shape;
  if (t.rank !== 3 || (channels !== 3 && channels !== 4) || !height || !width)
    fail(where, 'pixels', t, EXPECTED_PIXELS);
  if (t.dtype !== 'int32' && t.dtype !== 'float32')
    throw new Error(
      `${where}: a tensor of dtype "${t.dtype}" cannot hold pixels; expected int32 or float32 values in 0 … 255 (as tf.browser.fromPixels gives).`,
    );
  const data = rgbBytes(where, t.dataSync() as Int32Array | Float32Array, width, channels, true);
  return { data, width, height, channels: 3 };
}

/** `{ data, width, height, channels? }` bytes as an RGB image, checked; no copy for RGB bytes. */
function bytePixels(where: string, p: RgbPixels): PixelImage<Uint8Array> {
  if (p === null || typeof p !== 'object') fail(where, 'pixels', p, EXPECTED_PIXELS);
  const { data } = p;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray))
    fail(
      where,
      'pixels.data',
      data,
      'a Uint8Array or Uint8ClampedArray (for floats, pass a tensor)',
    );
  const width = checkPositiveInt(where, 'pixels.width', p.width);
  const height = checkPositiveInt(where, 'pixels.height', p.height);
  const channels = p.channels ?? data.length / (width * height);
  if (p.channels !== undefined && channels !== 3 && channels !== 4)
    fail(where, 'pixels.channels', p.channels, '3 (RGB) or 4 (RGBA)');
  if (data.length !== width * height * channels || (channels !== 3 && channels !== 4)) {
    const sizes = p.channels
      ? `${width * height * channels}`
      : `${width * height * 3} (RGB) or ${width * height * 4} (RGBA)`;
    throw new Error(
      `${where}: a ${height}×${width} (height×width) image needs ${sizes} values in pixels.data; it holds ${data.length}.`,
    );
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return {
    data: channels === 3 ? bytes : rgbBytes(where, bytes, width, 4, false),
    width,
    height,
    channels: 3,
  };
}

/** Checks the arguments and renders the 8-bit views. */
function render(
  where: string,
  pixels: Tensor3D | RgbPixels,
  transform: Transform,
  options: PreprocessOptions,
) {
  const { seed } = checkOptions(where, options, PREPROCESS_SPEC);
  if (typeof (transform as Partial<Transform> | null)?.plan !== 'function')
    fail(where, 'transform', transform, 'a transform (torchvisionEval(), compose([…]), …)');
  const image = pixels instanceof Tensor ? tensorPixels(where, pixels) : bytePixels(where, pixels);
  return renderPixels(where, image, transform, new Random(seed));
}

/**
 * Applies a transform to an image already in memory and returns its float32
 * views: the in-memory twin of {@link transformImage}, for transforms whose
 * views vary in size ({@link multiScaleEval}) or code that wants typed
 * arrays. See {@link preprocess} for what it accepts and computes.
 *
 * @example
 * ```ts
 * const views = preprocessViews(imageData, multiScaleEval());
 * for (const v of views) console.log(v.height, v.width); // shorter side 224, 256, 384, 480, 640
 * ```
 * @param pixels - A `tf.Tensor3D` `[height, width, 3 | 4]` (int32 or float32,
 *   integers in 0 … 255; not disposed), or 8-bit {@link RgbPixels}.
 * @param transform - The transform, e.g. {@link torchvisionEval}.
 * @param options - `seed` (default `{}`: seed 0).
 * @returns One normalised float32 `[height, width, 3]` view per transform
 *   view, in the transform's view order.
 * @throws Error naming what is wrong and what was expected, as {@link preprocess}.
 */
export function preprocessViews(
  pixels: Tensor3D | RgbPixels,
  transform: Transform,
  options: PreprocessOptions = {},
): TransformedView[] {
  const { views, rgbOffset } = render('preprocessViews', pixels, transform, options);
  return normalizeViews(views, transform.normalization, rgbOffset);
}

/**
 * Applies a transform (geometry and normalisation) to an image already in
 * memory: a tensor from `tf.browser.fromPixels`, a browser `ImageData`, or
 * decoded RGB bytes. The result is the float32 batch `[views, height, width,
 * 3]` that {@link transformImage} gives for a file holding the same pixels,
 * value for value: resizes are Pillow's antialiased bilinear filter in
 * Pillow's fixed-point arithmetic (so a view equals torchvision's `Resize` +
 * `CenterCrop` on a PIL image byte for byte before normalising), crops,
 * padding and mirrors are copies. Pure TypeScript: it runs in a browser;
 * import it from `@convnets/imagenet-data/browser` there, whose module graph
 * holds no Node module and no sharp.
 *
 * A browser decodes an `<img>` itself: its pixels may differ from PIL's
 * (colour management of embedded profiles, EXIF orientation, its own JPEG
 * decoder), which no preprocessing can undo.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { decodePredictions, preprocess, torchvisionEval } from '@convnets/imagenet-data/browser';
 *
 * const pixels = tf.browser.fromPixels(document.querySelector('img')!); // int32 [h, w, 3]
 * const batch = preprocess(pixels, torchvisionEval()); // float32 [1, 224, 224, 3]
 * const probs = model.predict(batch) as tf.Tensor2D;
 * console.log(decodePredictions(probs, 5));
 * tf.dispose([pixels, batch, probs]);
 * ```
 * @param pixels - A `tf.Tensor3D` `[height, width, 3]` (or `4`, RGBA: alpha
 *   ignored) of int32 or float32 integers in 0 … 255, which is read
 *   (`dataSync`) and left to the caller to dispose; or 8-bit
 *   {@link RgbPixels} such as an `ImageData`.
 * @param transform - The transform, e.g. {@link torchvisionEval}, {@link resnetPaperEval}, {@link cifarEval}.
 * @param options - `seed` of a training transform's draws (default `{}`: seed 0).
 * @returns A new float32 tensor `[views, height, width, 3]` (views: 1, or 10
 *   for {@link tenCrop}); the caller disposes it.
 * @throws Error naming what is wrong and what was expected: a tensor of
 *   another rank, channel count or dtype, or disposed; a value that is not
 *   an integer in 0 … 255; bytes whose length is not width × height × 3 or 4;
 *   a transform that does not apply (a crop larger than the image), resizes
 *   with a kernel other than `'linear'`, or gives views of different sizes
 *   (use {@link preprocessViews}); an unknown or invalid option.
 */
export function preprocess(
  pixels: Tensor3D | RgbPixels,
  transform: Transform,
  options: PreprocessOptions = {},
): Tensor4D {
  const where = 'preprocess';
  const { views, rgbOffset } = render(where, pixels, transform, options);
  const { width, height } = views[0];
  if (views.some((v) => v.width !== width || v.height !== height))
    throw new Error(
      `${where}: transform "${transform.name}" gives views of different sizes (${views.map((v) => `${v.height}×${v.width}`).join(', ')}), which one tensor cannot hold; use preprocessViews.`,
    );
  const size = height * width * 3;
  const data = new Float32Array(views.length * size);
  views.forEach((v, i) =>
    normalizeInto(data, i * size, v.data, transform.normalization, rgbOffset),
  );
  return tensor4d(data, [views.length, height, width, 3]);
}

/**
 * Renders an 8-bit RGB image held in memory as the loader renders an image
 * file, into a batch: the transform's views ({@link transformPixels},
 * drawing from `rng`), normalised (lighting included) into float32 values
 * written view after view into `out` from `offset`. With
 * `sampleRandom(seed, epoch, index)` as `rng`, a dataset in memory gets the
 * batches a folder of the same images gets (the trainer's
 * `arrayTrainingData` renders CIFAR this way).
 *
 * @example
 * ```ts
 * const out = new Float32Array(128 * 32 * 32 * 3);
 * const image = { data: pixels, width: 32, height: 32, channels: 3 };
 * transformPixelsInto(image, cifarTrain(), sampleRandom(1, epoch, index), out, k * 32 * 32 * 3);
 * ```
 * @param image - The image: 8-bit RGB, HWC.
 * @param transform - The transform.
 * @param rng - The generator of this image's random choices.
 * @param out - Where the views go.
 * @param offset - Index in `out` of the first view's first value (default 0).
 * @returns The views' size `[height, width]`.
 * @throws Error when the image is not 8-bit RGB or does not hold
 *   width × height × 3 bytes, the transform does not apply or gives views of
 *   different sizes, or `out` is too short.
 */
export function transformPixelsInto(
  image: PixelImage<Uint8Array>,
  transform: Transform,
  rng: Random,
  out: Float32Array,
  offset = 0,
): [number, number] {
  const where = 'transformPixelsInto';
  if (!(image.data instanceof Uint8Array) || image.channels !== 3)
    throw new Error(
      `${where}: expected 8-bit RGB pixels (a Uint8Array, 3 channels); received ${image.data?.constructor.name}, ${image.channels} channels.`,
    );
  const { views, rgbOffset } = renderPixels(where, image, transform, rng);
  const { width, height } = views[0];
  const size = height * width * 3;
  if (views.some((v) => v.width !== width || v.height !== height))
    throw new Error(`${where}: transform "${transform.name}" gives views of different sizes.`);
  if (offset + views.length * size > out.length)
    throw new Error(
      `${where}: ${views.length} views of ${size} values do not fit in the ${out.length - offset} left in out.`,
    );
  views.forEach((v, i) =>
    normalizeInto(out, offset + i * size, v.data, transform.normalization, rgbOffset),
  );
  return [height, width];
}
