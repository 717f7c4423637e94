import {
  ImageDecodeError,
  readHeader,
  readImageFile,
  checkDecodeOption,
  toRgb,
  openImage,
  type DecodeOptions,
  type DecodedImage,
  type ResolvedDecodeOptions,
} from './decode';
import { normalizeWithAddon, renderJpegView } from './fast-jpeg';
import type { ViewGeometry } from './geometry';
import { renderView, type EncodedImage } from './sharp-view';
import { groupByResampling, restOfView } from './pixels';
import { Random } from './rng';
import { normalizeViews, type TransformedView } from './normalization';
import type { Transform } from './transforms';
import { PREPROCESS_SPEC, type PreprocessOptions } from './preprocess';
import { checkOptions, type OptionSpec } from '@convnets/validate';

/** The 8-bit views of one image and the colour shift to apply when normalising. */
export interface RenderedSample {
  /** One image per view. */
  readonly views: DecodedImage[];
  /** Lighting offset, in scaled units. */
  readonly rgbOffset: readonly [number, number, number];
}

/** Renders each distinct resampling of one sample's views, by key. */
async function renderGroups(
  encoded: EncodedImage,
  groups: Map<string, ViewGeometry>,
  path: string,
  decode: ResolvedDecodeOptions,
  transform: Transform,
): Promise<Map<string, DecodedImage>> {
  const bases = new Map<string, DecodedImage>();
  const [[firstKey, firstGroup], ...rest] = groups;
  const first = await renderJpegView(encoded, firstGroup, path, decode, transform.kernel);
  if (first) {
    // The addon renders every group from the encoded file (it decodes only
    // what each needs); it takes all groups or none, since it decides by the
    // file and the options alone.
    bases.set(firstKey, first);
    await Promise.all(
      rest.map(async ([key, g]) =>
        bases.set(
          key,
          (await renderJpegView(encoded, g, path, decode, transform.kernel)) ??
            (await renderView(encoded, g, path, decode, transform.kernel)),
        ),
      ),
    );
  } else {
    const source =
      groups.size === 1
        ? encoded
        : await toRgb(openImage(encoded.buffer, decode, encoded.header), path, decode);
    await Promise.all(
      [...groups].map(async ([key, g]) =>
        bases.set(key, await renderView(source, g, path, decode, transform.kernel)),
      ),
    );
  }
  return bases;
}

/**
 * Reads one image and renders its views: header first (pixel limit), then
 * the transform's plan, then the pixels. A single view of a JPEG goes to the
 * libjpeg-turbo addon when it can render it (see `DecodeOptions.decoder`);
 * so do the resampled groups of several views, below. Any other single view is one sharp pipeline from the encoded file (JPEG
 * shrink-on-load, and decoding stops at the crop's last row). Several views are grouped by their resampling (source crop and
 * resize): each group is resampled once by sharp — from the encoded file
 * when there is one group (ten-crop), from one shared decode otherwise
 * (multi-scale) — and its views' crops, padding and mirrors are byte copies.
 */
export async function renderSample(
  input: string | Buffer,
  transform: Transform,
  rng: Random,
  decode: ResolvedDecodeOptions,
): Promise<RenderedSample> {
  const path = typeof input === 'string' ? input : '<buffer>';
  const buffer =
    typeof input === 'string' ? await readImageFile(input, decode.maxFileBytes) : input;
  if (buffer.length === 0) throw new ImageDecodeError(path, 'the input is empty (0 bytes)');
  const header = await readHeader(buffer, path, decode);
  let plan;
  try {
    plan = transform.plan(header.width, header.height, rng);
  } catch (error) {
    throw new ImageDecodeError(path, `${transform.name}: ${(error as Error).message}`);
  }
  const encoded = { buffer, header };
  if (plan.views.length === 1) {
    const g = plan.views[0];
    const view =
      (await renderJpegView(encoded, g, path, decode, transform.kernel)) ??
      (await renderView(encoded, g, path, decode, transform.kernel));
    return { views: [view], rgbOffset: plan.rgbOffset };
  }
  const { groups, keys } = groupByResampling(plan.views);
  const bases = await renderGroups(encoded, groups, path, decode, transform);
  const views = plan.views.map((g, i): DecodedImage => ({
    ...restOfView(bases.get(keys[i])!, g, 3),
    channels: 3,
  }));
  return { views, rgbOffset: plan.rgbOffset };
}

/** Options of {@link transformImage}. */
export interface TransformImageOptions extends PreprocessOptions {
  /**
   * How the image is decoded.
   *
   * @defaultValue `{}` (every {@link DecodeOptions} default)
   */
  decode?: DecodeOptions;
}

/** The one declaration of {@link TransformImageOptions}. */
const TRANSFORM_IMAGE_SPEC = {
  ...PREPROCESS_SPEC,
  decode: checkDecodeOption,
} satisfies OptionSpec<TransformImageOptions>;

/**
 * Applies a transform to one image and returns its float32 views: the way to
 * use {@link multiScaleEval} (views of varying size) or to inspect a preset.
 *
 * @example
 * ```ts
 * const views = await transformImage('photo.JPEG', multiScaleEval());
 * for (const v of views) console.log(v.height, v.width); // shorter side 224, 256, 384, 480, 640
 * ```
 * @param input - A file path or the file's bytes.
 * @param transform - The transform, e.g. a preset or {@link compose}d steps.
 * @param options - Seed and decode options (default `{}`: seed 0, default decoding).
 * @returns One normalised float32 view per transform view (10 for
 *   {@link tenCrop}), in the transform's view order.
 * @throws {@link ImageDecodeError} naming the file when it cannot be read or
 *   decoded.
 * @throws Error when an option is unknown or invalid, or when the transform
 *   cannot apply to this image (e.g. a crop larger than the image).
 */
export async function transformImage(
  input: string | Buffer,
  transform: Transform,
  options: TransformImageOptions = {},
): Promise<TransformedView[]> {
  const where = 'transformImage';
  const { seed, decode } = checkOptions(where, options, TRANSFORM_IMAGE_SPEC);
  const sample = await renderSample(input, transform, new Random(seed), decode);
  return normalizeViews(
    sample.views,
    transform.normalization,
    sample.rgbOffset,
    normalizeWithAddon,
  );
}
