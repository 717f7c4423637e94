import { constants } from 'node:buffer';
import { constants as fsConstants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { loadAddon } from './addon';
import { bool, checkKnownOptions, oneOf, positiveInt, rgb } from './validate';

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

/** Validates decode options and fills in the defaults. */
export function resolveDecodeOptions(
  where: string,
  options: DecodeOptions = {},
): ResolvedDecodeOptions {
  checkKnownOptions(where, options, [
    'limitInputPixels',
    'maxFileBytes',
    'applyExifOrientation',
    'applyIccProfile',
    'alphaBackground',
    'failOn',
    'decoder',
  ]);
  return {
    limitInputPixels: positiveInt(
      where,
      'limitInputPixels',
      options.limitInputPixels ?? 64_000_000,
    ),
    maxFileBytes: positiveInt(where, 'maxFileBytes', options.maxFileBytes ?? 64 * 1024 * 1024),
    applyExifOrientation: bool(
      where,
      'applyExifOrientation',
      options.applyExifOrientation ?? false,
    ),
    applyIccProfile: bool(where, 'applyIccProfile', options.applyIccProfile ?? false),
    alphaBackground: rgb(where, 'alphaBackground', options.alphaBackground ?? [255, 255, 255]),
    failOn: oneOf(where, 'failOn', options.failOn ?? 'truncated', [
      'none',
      'truncated',
      'error',
      'warning',
    ]),
    decoder: oneOf(where, 'decoder', options.decoder ?? 'auto', ['auto', 'sharp']),
  };
}

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

/** A JPEG's frame header: size and number of colour components. */
interface JpegFrame {
  width: number;
  height: number;
  components: number;
}

/** JPEG start-of-frame markers (SOF0 … SOF15 except DHT, JPG and DAC). */
const isStartOfFrame = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/**
 * Reads the frame header of a JPEG by walking its marker segments, a few
 * bytes per segment, so that the common case needs no libvips call (about
 * 0.3 ms of CPU each). Returns `null` for anything unusual (not a JPEG, a
 * segment running past the end, a height defined later by a DNL marker): the
 * caller then asks libvips, which also produces the proper error message.
 */
export function jpegFrame(input: Uint8Array): JpegFrame | null {
  // libvips recognises a JPEG by FF D8 FF.
  if (input.length < 4 || input[0] !== 0xff || input[1] !== 0xd8 || input[2] !== 0xff) return null;
  let i = 2;
  while (i + 4 <= input.length) {
    if (input[i] !== 0xff) return null;
    const marker = input[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    i += 2;
    // Markers without a segment: TEM, RSTn, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    // Scan data or the end before any frame header.
    if (marker === 0xda || marker === 0xd9) return null;
    const length = (input[i] << 8) | input[i + 1];
    if (length < 2 || i + length > input.length) return null;
    if (isStartOfFrame(marker)) {
      if (length < 8) return null;
      const height = (input[i + 3] << 8) | input[i + 4];
      const width = (input[i + 5] << 8) | input[i + 6];
      const components = input[i + 7];
      if (width === 0 || height === 0 || ![1, 3, 4].includes(components)) return null;
      return { width, height, components };
    }
    i += length;
  }
  return null;
}

/**
 * The most scans a JPEG may have: libjpeg-turbo's scan limit (its TurboJPEG
 * API's, which djpeg's `-maxscans` also offers). Each scan is a pass over
 * every block of the image, so a small file with one scan repeated thousands
 * of times costs seconds to decode; encoders write one scan, or about ten
 * for a progressive file (libjpeg's and mozjpeg's scripts write 10 for a
 * colour image). libvips has no such limit (it stops at the 100th decoder warning, which
 * repeated refinement scans reach, but not repeated first scans), so the
 * limit is applied here, to the file, before sharp or the JPEG addon decodes
 * it: the checker and the loader refuse the same files. The addon applies
 * it again as libjpeg-turbo does, with a progress monitor.
 */
export const MAX_JPEG_SCANS = 500;

/**
 * Counts the scans (SOS markers) of a JPEG as libjpeg reads them: segment
 * by segment, skipping each scan's data to the next marker that is not a
 * stuffed `FF 00` or a restart marker, up to the end-of-image marker. Stops
 * counting at `limit + 1`.
 */
export function jpegScanCount(input: Buffer, limit: number): number {
  let scans = 0;
  let i = 2;
  while (i + 1 < input.length) {
    if (input[i] !== 0xff) {
      // Stray bytes between segments: libjpeg skips them (with a warning).
      i = input.indexOf(0xff, i);
      if (i < 0) break;
      continue;
    }
    const marker = input[i + 1];
    if (marker === 0xd9) break;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // Markers without a segment: TEM, RSTn, SOI (and a stray FF 00).
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    if (i + 3 >= input.length) break;
    i += 2 + ((input[i + 2] << 8) | input[i + 3]);
    if (marker !== 0xda) continue;
    if (++scans > limit) break;
    // The scan's data, to the next marker.
    for (;;) {
      const ff = input.indexOf(0xff, i);
      if (ff < 0 || ff + 1 >= input.length) return scans;
      const next = input[ff + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) i = ff + 2;
      else if (next === 0xff) i = ff + 1;
      else {
        i = ff;
        break;
      }
    }
  }
  return scans;
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
