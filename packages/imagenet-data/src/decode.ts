import { open } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { bool, checkKnownOptions, oneOf, positiveInt, rgb } from './validate';

/**
 * How images are read. The defaults suit ImageNet: EXIF orientation is
 * ignored (as TensorFlow's and torchvision's ImageNet pipelines do, and as the
 * published accuracies assume), truncated files fail, and anything larger
 * than 64 megapixels or 64 MiB is refused before it is decoded.
 */
export interface DecodeOptions {
  /**
   * Refuse images with more pixels than this (width × height, read from the
   * header before decoding), so a decompression bomb fails with an error
   * instead of exhausting memory. Default 64 megapixels (ImageNet's largest
   * photos have about 20).
   */
  limitInputPixels?: number;
  /** Refuse files larger than this many bytes, before reading them. Default 64 MiB. */
  maxFileBytes?: number;
  /**
   * Rotate/flip according to the EXIF orientation tag. Default `false`, the
   * policy of TensorFlow's and torchvision's ImageNet pipelines (about 0.1% of
   * ImageNet photos carry a tag; models were trained on the stored pixels).
   */
  applyExifOrientation?: boolean;
  /** Colour that transparent pixels are flattened onto, `[r, g, b]` in 0 … 255. Default white. */
  alphaBackground?: readonly [number, number, number];
  /**
   * Which decoder complaints make an image bad (libvips' `fail_on`): `'truncated'`
   * (default: truncated files fail, harmless warnings such as a few
   * extraneous bytes in some ImageNet JPEGs pass), `'error'`, `'warning'`, `'none'`.
   */
  failOn?: 'none' | 'truncated' | 'error' | 'warning';
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

/** Thrown (in strict mode) or recorded (when skipping) for an image that cannot be read. */
export class ImageDecodeError extends Error {
  /** The file, or `"<buffer>"` for in-memory input. */
  readonly path: string;
  /** What went wrong, without the path. */
  readonly reason: string;

  /** @param path - the file; @param reason - what went wrong. */
  constructor(path: string, reason: string) {
    super(`cannot decode ${path}: ${reason}`);
    this.name = 'ImageDecodeError';
    this.path = path;
    this.reason = reason;
  }
}

const WHERE = 'decodeImage';

/** Validates decode options and fills in the defaults. */
export function resolveDecodeOptions(
  where: string,
  options: DecodeOptions = {},
): ResolvedDecodeOptions {
  checkKnownOptions(where, options, [
    'limitInputPixels',
    'maxFileBytes',
    'applyExifOrientation',
    'alphaBackground',
    'failOn',
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
    alphaBackground: rgb(where, 'alphaBackground', options.alphaBackground ?? [255, 255, 255]),
    failOn: oneOf(where, 'failOn', options.failOn ?? 'truncated', [
      'none',
      'truncated',
      'error',
      'warning',
    ]),
  };
}

/** Reads a file after checking its size, so a huge or empty file fails before anything is allocated. */
export async function readImageFile(path: string, maxFileBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ImageDecodeError(path, (error as Error).message);
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new ImageDecodeError(path, 'the file is empty (0 bytes)');
    if (size > maxFileBytes) {
      throw new ImageDecodeError(
        path,
        `the file has ${size} bytes, more than maxFileBytes (${maxFileBytes})`,
      );
    }
    return await handle.readFile();
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

/** Reads and checks an image's header; throws {@link ImageDecodeError}. */
export async function readHeader(
  input: Buffer,
  path: string,
  options: ResolvedDecodeOptions,
): Promise<ImageHeader> {
  let meta;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ImageDecodeError(path, (error as Error).message);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageDecodeError(path, 'the header gives no image size');
  if (width * height > options.limitInputPixels) {
    throw new ImageDecodeError(
      path,
      `${width}×${height} = ${width * height} pixels exceeds limitInputPixels (${options.limitInputPixels})`,
    );
  }
  const swap = options.applyExifOrientation && (meta.orientation ?? 1) >= 5;
  return {
    width: swap ? height : width,
    height: swap ? width : height,
    format: meta.format ?? 'unknown',
    space: meta.space ?? 'unknown',
  };
}

/**
 * Starts a sharp pipeline that will output 8-bit sRGB with 3 channels:
 * CMYK (with or without Adobe's inverted encoding) goes through libvips'
 * colour management, grey is expanded, 16 bits are reduced to 8, and alpha is
 * flattened onto `alphaBackground`.
 */
export function openImage(input: Buffer, options: ResolvedDecodeOptions): Sharp {
  const image = sharp(input, {
    limitInputPixels: options.limitInputPixels,
    failOn: options.failOn,
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
 * AVIF…), colour space (grey, CMYK, 16-bit) or alpha.
 *
 * @example
 * ```ts
 * const { data, height, width } = await decodeImage('photo.JPEG');
 * const image = tf.tensor3d(data, [height, width, 3], 'int32');
 * ```
 * @throws {@link ImageDecodeError} naming the file for an empty, truncated,
 *   oversized or unreadable file.
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
  await readHeader(buffer, path, resolved);
  return toRgb(openImage(buffer, resolved), path, resolved);
}
