import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ImageDecodeError, type DecodedImage, type ResolvedDecodeOptions } from './decode';
import type { EncodedImage, ResizeKernel, ViewGeometry } from './geometry';

/** The functions of the JPEG addon (see `native/jpeg.c`). */
interface JpegAddon {
  /**
   * Renders one view of a JPEG into `output`. Resolves with 0 when written,
   * 1 when the JPEG is not one this path decodes (CMYK, YCCK); rejects with
   * the decoder's message for a damaged file.
   */
  renderJpeg(input: Uint8Array, output: Uint8Array, params: number[]): Promise<number>;
  /** `out[offset + i] = pixels[i] · a[i mod 3] + b[i mod 3]` as float32; `ab` is `[a0, a1, a2, b0, b1, b2]`. */
  normalize(out: Float32Array, offset: number, pixels: Uint8Array, ab: number[]): void;
  info(): { libjpegTurbo: string };
}

/** Whether the JPEG addon loaded, and from where or why not. */
export interface JpegAddonStatus {
  /** The libjpeg-turbo version inside the addon, when it loaded. */
  readonly libjpegTurbo?: string;
  /** The file that loaded. */
  readonly path?: string;
  /** One line per candidate file that did not load. */
  readonly errors: readonly string[];
}

const fileName = 'convnets_jpeg.node';
let loaded: { addon?: JpegAddon; status: JpegAddonStatus } | undefined;

function load(): { addon?: JpegAddon; status: JpegAddonStatus } {
  if (loaded) return loaded;
  // `src/` and `dist/` both sit one level below the package root.
  const root = fileURLToPath(new URL('..', import.meta.url));
  const candidates = [
    process.env.CONVNETS_JPEG_ADDON,
    `${root}prebuilds/${process.platform}-${process.arch}/${fileName}`,
  ].filter((p): p is string => typeof p === 'string' && p.length > 0);
  const errors: string[] = [];
  const require = createRequire(import.meta.url);
  for (const path of candidates) {
    if (!existsSync(path)) {
      errors.push(`${path}: not found`);
      continue;
    }
    try {
      const addon = require(path) as JpegAddon;
      const { libjpegTurbo } = addon.info();
      loaded = { addon, status: { libjpegTurbo, path, errors } };
      return loaded;
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message}`);
    }
  }
  loaded = { status: { errors } };
  return loaded;
}

/**
 * Whether the JPEG fast path is available in this process: the prebuilt
 * addon (libjpeg-turbo 2.1.5 linked in, shipped for linux-x64) loaded, or
 * where it was looked for. Without it every image is decoded by sharp.
 *
 * @returns The libjpeg-turbo version and the addon's path, or the reasons
 *   each candidate file did not load.
 * @throws Nothing.
 */
export function jpegFastPath(): JpegAddonStatus {
  return load().status;
}

/**
 * Writes `pixels[i] · a[c] + b[c]` (c = i mod 3, computed in double and
 * rounded to float32, exactly as the JavaScript loop does) into `out` at
 * `offset` with the addon, which is several times faster than the loop.
 * Returns `false` without writing anything when the addon did not load.
 */
export function normalizeWithAddon(
  out: Float32Array,
  offset: number,
  pixels: Uint8Array,
  ab: [number, number, number, number, number, number],
): boolean {
  const { addon } = load();
  if (!addon) return false;
  addon.normalize(out, offset, pixels, ab);
  return true;
}

/** JPEG's end-of-image marker, FF D9. */
const endsWithEoi = (b: Uint8Array) =>
  b.length >= 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;

/**
 * Renders one view of a JPEG with the addon, or returns `null` when the view
 * is not one it renders so that the caller uses sharp: anything but a
 * YCbCr, RGB or grey JPEG; a file that does not end with its end-of-image
 * marker (truncated, or with trailing bytes: sharp judges those); EXIF
 * orientation or ICC profiles applied; a `failOn` other than the default;
 * a kernel other than `'linear'`; padding; `decoder: 'sharp'`.
 *
 * The pixels equal Pillow's (torchvision's): the same libjpeg-turbo decode,
 * then Pillow's antialiased bilinear resampling in its fixed-point
 * arithmetic, computed only for the view's own pixels.
 */
export async function renderJpegView(
  source: EncodedImage,
  g: ViewGeometry,
  path: string,
  options: ResolvedDecodeOptions,
  kernel: ResizeKernel,
): Promise<DecodedImage | null> {
  const { buffer, header } = source;
  if (
    options.decoder !== 'auto' ||
    header.format !== 'jpeg' ||
    header.space === 'cmyk' ||
    options.applyExifOrientation ||
    options.applyIccProfile ||
    options.failOn !== 'truncated' ||
    kernel !== 'linear' ||
    g.pad ||
    !endsWithEoi(buffer)
  ) {
    return null;
  }
  const { addon } = load();
  if (!addon) return null;
  const pre = g.preCrop ?? { left: 0, top: 0, width: g.sourceWidth, height: g.sourceHeight };
  const resize = g.resize ?? { width: pre.width, height: pre.height };
  const post = g.postCrop ?? { left: 0, top: 0, width: resize.width, height: resize.height };
  const data = new Uint8Array(post.width * post.height * 3);
  // prettier-ignore
  const params = [
    options.limitInputPixels,
    pre.left, pre.top, pre.width, pre.height,
    resize.width, resize.height,
    post.left, post.top, post.width, post.height,
    g.flip ? 1 : 0,
  ];
  let status;
  try {
    status = await addon.renderJpeg(buffer, data, params);
  } catch (error) {
    throw new ImageDecodeError(path, (error as Error).message);
  }
  if (status !== 0) return null;
  return { data, width: post.width, height: post.height, channels: 3 };
}
