import { constants } from 'node:buffer';
import { constants as fsConstants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { loadAddon } from './addon';
import { jpegFrame, jpegScanCount, MAX_JPEG_SCANS } from './jpeg-markers';
import {
  checkBoolean,
  checkOptions,
  checkPositiveInt,
  checkRgb,
  oneOf,
  withDefault,
  type Check,
  type OptionSpec,
} from '@convnets/validate';

export { jpegFrame, jpegScanCount, MAX_JPEG_SCANS } from './jpeg-markers';

/**
 * How images are read. The defaults suit ImageNet: EXIF orientation and
 * embedded ICC profiles are ignored (as TensorFlow's and torchvision's
 * ImageNet pipelines do, and as the published accuracies assume), truncated
 * files fail, and anything larger than 64 megapixels or 64 MiB is refused
 * before it is decoded, as is a JPEG with more than 500 scans (libjpeg-turbo's
 * scan limit). Whichever decoder reads a JPEG, the 100th decoder warning
 * fails it (libvips' rule, which the JPEG addon follows).
 */
export interface DecodeOptions {
  /**
   * Refuse images with more pixels than this (width × height, read from the
   * header before decoding), so a decompression bomb fails with an error
   * instead of exhausting memory (ImageNet's largest photos have about 20
   * megapixels).
   *
   * @defaultValue 64_000_000
   */
  limitInputPixels?: number;
  /**
   * Refuse files larger than this many bytes, before reading them.
   *
   * @defaultValue 67_108_864 (64 MiB)
   */
  maxFileBytes?: number;
  /**
   * Rotate/flip according to the EXIF orientation tag. Off by default, the
   * policy of TensorFlow's and torchvision's ImageNet pipelines (about 0.1% of
   * ImageNet photos carry a tag; models were trained on the stored pixels).
   *
   * @defaultValue false
   */
  applyExifOrientation?: boolean;
  /**
   * Convert the pixels through the file's embedded ICC profile into sRGB.
   * Default `false`: the stored RGB values are used as they are, which is
   * what PIL (torchvision) and TensorFlow's JPEG decoders return and what
   * published ImageNet models were trained on. With an sRGB profile the two
   * agree; with another profile they do not (on an ImageNet photo with an
   * Adobe RGB profile the blue channel's mean moves by 5 levels and single
   * pixels by up to 119). Converting costs about 7 ms of CPU per photo that
   * carries a profile, more than decoding it (`npm run bench` prints the
   * stages). CMYK images are converted either way (through their embedded
   * profile, or a generic CMYK profile), since their stored values are not RGB.
   *
   * @defaultValue false
   */
  applyIccProfile?: boolean;
  /**
   * Colour that transparent pixels are flattened onto, `[r, g, b]` in 0 … 255.
   *
   * @defaultValue [255, 255, 255] (white)
   */
  alphaBackground?: readonly [number, number, number];
  /**
   * Which decoder complaints make an image bad (libvips' `fail_on`):
   * `'truncated'` (truncated files fail, harmless warnings such as a few
   * extraneous bytes in some ImageNet JPEGs pass), `'error'`, `'warning'`,
   * `'none'`.
   *
   * @defaultValue 'truncated'
   */
  failOn?: 'none' | 'truncated' | 'error' | 'warning';
  /**
   * Who renders a transform's view of a JPEG. `'auto'`: the package's own
   * libjpeg-turbo addon (prebuilt for linux-x64) when it loaded and the
   * view is one it renders, sharp otherwise; `'sharp'`: always sharp.
   *
   * The addon decodes only the rows and columns the view needs, and resizes
   * with Pillow's antialiased bilinear filter in Pillow's own fixed-point
   * arithmetic, so its pixels equal torchvision's (PIL backend) exactly. It
   * renders YCbCr, RGB and grey JPEGs with the `'linear'` kernel and the
   * default decode options (ten-crop and multi-scale views too); everything
   * else (other formats, CMYK, files that do not end with the JPEG end
   * marker, padded views, other kernels, EXIF orientation or ICC profiles
   * applied, other `failOn` levels) goes to sharp, whose `'linear'` resize differs from Pillow's by
   * a level or two in places. {@link jpegFastPath} says whether the addon
   * loaded.
   *
   * @defaultValue 'auto'
   */
  decoder?: 'auto' | 'sharp';
}

/** Decode options with every default filled in. */
export type ResolvedDecodeOptions = Required<DecodeOptions>;

/** A decoded image: 8-bit RGB, row-major `[height, width, 3]`. */
export interface DecodedImage {
  /** `height × width × 3` bytes, RGB, row-major. */
  readonly data: Uint8Array;
  /** Height in pixels. */
  readonly height: number;
  /** Width in pixels. */
  readonly width: number;
  /** Always 3. */
  readonly channels: 3;
}

/**
 * Thrown (in strict mode) or recorded (when skipping) for an image that cannot be read.
 *
 * @example
 * ```ts
 * import { decodeImage, ImageDecodeError } from '@convnets/imagenet-data';
 *
 * try {
 *   await decodeImage('damaged.JPEG');
 * } catch (error) {
 *   if (error instanceof ImageDecodeError) console.warn(`skipping ${error.path}: ${error.reason}`);
 *   else throw error;
 * }
 * ```
 */
export class ImageDecodeError extends Error {
  /** The file, or `"<buffer>"` for in-memory input. */
  readonly path: string;
  /** What went wrong, without the path. */
  readonly reason: string;

  /**
   * Creates the error; its message is `cannot decode <path>: <reason>`.
   *
   * @param path - The file, or `"<buffer>"` for in-memory input.
   * @param reason - What went wrong, without the path.
   * @throws Nothing.
   */
  constructor(path: string, reason: string) {
    super(`cannot decode ${path}: ${reason}`);
    this.name = 'ImageDecodeError';
    this.path = path;
    this.reason = reason;
  }
}

const WHERE = 'decodeImage';
const { MAX_LENGTH } = constants;

/** The one declaration of {@link DecodeOptions}: its keys, checks and defaults. */
const DECODE_SPEC = {
  limitInputPixels: withDefault(checkPositiveInt, 64_000_000),
  maxFileBytes: withDefault(checkPositiveInt, 64 * 1024 * 1024),
  applyExifOrientation: withDefault(checkBoolean, false),
  applyIccProfile: withDefault(checkBoolean, false),
  alphaBackground: withDefault<readonly [number, number, number]>(checkRgb, [255, 255, 255]),
  failOn: withDefault(oneOf(['none', 'truncated', 'error', 'warning'] as const), 'truncated'),
  decoder: withDefault(oneOf(['auto', 'sharp'] as const), 'auto'),
} satisfies OptionSpec<DecodeOptions>;

/** Validates decode options and fills in the defaults. */
export function resolveDecodeOptions(
  where: string,
  options: DecodeOptions = {},
): ResolvedDecodeOptions {
  return checkOptions(where, options, DECODE_SPEC);
}

/**
 * The check of a `decode` option nested in another function's options: the
 * decode options resolved, their errors naming the outer function.
 */
export const checkDecodeOption: Check<ResolvedDecodeOptions> = (where, _option, value) =>
  resolveDecodeOptions(where, value as DecodeOptions | undefined);

/** What a file that is not a regular file is, for an error message. */
function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/**
 * Reads a file after checking that it is a regular file (a FIFO, socket,
 * device or folder fails at once, naming what it is) and its size, so a huge
 * or empty file fails before anything is allocated. With the addon loaded, the common case is one
 * thread-pool job instead of fs's four; anything unusual is read again here
 * so that Node's fs names the problem.
 */
export async function readImageFile(path: string, maxFileBytes: number): Promise<Buffer> {
  const fast = await loadAddon().addon?.readFile(path, Math.min(maxFileBytes, MAX_LENGTH));
  if (fast) return fast;
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw new ImageDecodeError(path, (error as Error).message);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new ImageDecodeError(
        path,
        `it is ${fileKind(stats)}, not a regular file; only regular files are read`,
      );
    }
    const { size } = stats;
    if (size === 0) throw new ImageDecodeError(path, 'the file is empty (0 bytes)');
    if (size > maxFileBytes) {
      throw new ImageDecodeError(
        path,
        `the file has ${size} bytes, more than maxFileBytes (${maxFileBytes})`,
      );
    }
    try {
      return await handle.readFile();
    } catch (error) {
      throw new ImageDecodeError(path, (error as Error).message);
    }
  } finally {
    await handle.close();
  }
}

/** The header of an image: its size after the orientation policy, checked against the pixel limit. */
export interface ImageHeader {
  /** Width in pixels, after EXIF orientation when that is applied. */
  readonly width: number;
  /** Height in pixels, after EXIF orientation when that is applied. */
  readonly height: number;
  /** The format sharp detected from the content (`"jpeg"`, `"png"`, …), whatever the extension says. */
  readonly format: string;
  /** The stored colour space (`"srgb"`, `"b-w"`, `"cmyk"`, …). */
  readonly space: string;
}

/** libvips' colour-space names for a JPEG's component count (YCbCr and RGB both read as sRGB). */
const JPEG_SPACES: Record<number, string> = { 1: 'b-w', 3: 'srgb', 4: 'cmyk' };

function checkedHeader(
  path: string,
  options: ResolvedDecodeOptions,
  header: ImageHeader,
): ImageHeader {
  const { width, height } = header;
  if (width * height > options.limitInputPixels) {
    throw new ImageDecodeError(
      path,
      `${width}×${height} = ${width * height} pixels exceeds limitInputPixels (${options.limitInputPixels})`,
    );
  }
  return header;
}

/**
 * Reads and checks an image's header; throws {@link ImageDecodeError}. A
 * JPEG with more than {@link MAX_JPEG_SCANS} scans is refused. A JPEG's size
 * is read from its frame header directly when EXIF orientation is not
 * applied; any other input (and any JPEG whose header is unusual) goes
 * through sharp's `metadata()`.
 */
export async function readHeader(
  input: Buffer,
  path: string,
  options: ResolvedDecodeOptions,
): Promise<ImageHeader> {
  // libvips recognises a JPEG by FF D8 FF.
  if (input.length >= 3 && input[0] === 0xff && input[1] === 0xd8 && input[2] === 0xff) {
    if (jpegScanCount(input, MAX_JPEG_SCANS) > MAX_JPEG_SCANS) {
      throw new ImageDecodeError(
        path,
        `the JPEG has more than ${MAX_JPEG_SCANS} scans (libjpeg-turbo's scan limit)`,
      );
    }
  }
  const frame = options.applyExifOrientation ? null : jpegFrame(input);
  if (frame) {
    return checkedHeader(path, options, {
      width: frame.width,
      height: frame.height,
      format: 'jpeg',
      space: JPEG_SPACES[frame.components],
    });
  }
  let meta;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageDecodeError(path, (error as Error).message);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageDecodeError(path, 'the header gives no image size');
  const swap = options.applyExifOrientation && (meta.orientation ?? 1) >= 5;
  return checkedHeader(path, options, {
    width: swap ? height : width,
    height: swap ? width : height,
    format: meta.format ?? 'unknown',
    space: meta.space ?? 'unknown',
  });
}

/**
 * Starts a sharp pipeline that will output 8-bit sRGB with 3 channels:
 * CMYK (with or without Adobe's inverted encoding) goes through libvips'
 * colour management, grey is expanded, 16 bits are reduced to 8, and alpha is
 * flattened onto `alphaBackground`. An embedded ICC profile is applied only
 * with `applyIccProfile` (or for CMYK, whose values are not RGB); `header` is
 * the image's {@link readHeader} result, which says whether it is CMYK.
 */
export function openImage(
  input: Buffer,
  options: ResolvedDecodeOptions,
  header: Pick<ImageHeader, 'space'>,
): Sharp {
  const image = sharp(input, {
    limitInputPixels: options.limitInputPixels,
    failOn: options.failOn,
    ignoreIcc: !options.applyIccProfile && header.space !== 'cmyk',
  });
  return options.applyExifOrientation ? image.rotate() : image;
}

/** Finishes a pipeline started by {@link openImage}: 8-bit RGB bytes. */
export async function toRgb(
  image: Sharp,
  path: string,
  options: ResolvedDecodeOptions,
): Promise<DecodedImage> {
  const [r, g, b] = options.alphaBackground;
  try {
    const { data, info } = await image
      .flatten({ background: { r, g, b } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3)
      throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: 3,
    };
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    throw new ImageDecodeError(path, (error as Error).message.split('\n')[0]);
  }
}

/**
 * Decodes an image file or buffer to 8-bit RGB `[height, width, 3]`, whatever
 * its format (sharp detects it from the content: JPEG, PNG, WebP, GIF, TIFF,
 * AVIF…), colour space (grey, CMYK, 16-bit) or alpha. By default the stored
 * values are returned as PIL returns them: EXIF orientation and embedded ICC
 * profiles are ignored (see {@link DecodeOptions}).
 *
 * @param input - a file path or the file's bytes.
 * @param options - size limits, orientation, colour management, alpha and
 *   damage policies; every field has a default (default `{}`).
 * @returns The decoded image, 8-bit RGB, row-major `[height, width, 3]`.
 *
 * @example
 * ```ts
 * const { data, height, width } = await decodeImage('photo.JPEG');
 * const image = tf.tensor3d(data, [height, width, 3], 'int32');
 * ```
 * @throws {@link ImageDecodeError} naming the file for an empty, truncated,
 *   oversized or unreadable file.
 * @throws Error naming the option for an unknown or invalid option.
 */
export async function decodeImage(
  input: string | Buffer,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const resolved = resolveDecodeOptions(WHERE, options);
  const path = typeof input === 'string' ? input : '<buffer>';
  const buffer =
    typeof input === 'string' ? await readImageFile(input, resolved.maxFileBytes) : input;
  if (buffer.length === 0) throw new ImageDecodeError(path, 'the input is empty (0 bytes)');
  const header = await readHeader(buffer, path, resolved);
  return toRgb(openImage(buffer, resolved, header), path, resolved);
}
