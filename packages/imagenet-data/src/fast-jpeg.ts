import { loadAddon } from './addon';
import { ImageDecodeError, type DecodedImage, type ResolvedDecodeOptions } from './decode';
import type { ResizeKernel, ViewGeometry } from './geometry';
import type { EncodedImage } from './sharp-view';
import { cropPadFlip } from './pixels';

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
  const { addon } = loadAddon();
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
 * a kernel other than `'linear'`; `decoder: 'sharp'`. Zero padding (CIFAR's
 * pad-and-crop) and the mirror after it are byte copies here.
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
    !endsWithEoi(buffer)
  ) {
    return null;
  }
  const { addon } = loadAddon();
  if (!addon) return null;
  const pre = g.preCrop ?? { left: 0, top: 0, width: g.sourceWidth, height: g.sourceHeight };
  const resize = g.resize ?? { width: pre.width, height: pre.height };
  const post = g.postCrop ?? { left: 0, top: 0, width: resize.width, height: resize.height };
  const data = new Uint8Array(post.width * post.height * 3);
  // Padded views: the addon renders the crop unmirrored, then the padding and mirror are copies.
  const flip = g.pad ? false : g.flip;
  // prettier-ignore
  const params = [
    options.limitInputPixels,
    pre.left, pre.top, pre.width, pre.height,
    resize.width, resize.height,
    post.left, post.top, post.width, post.height,
    flip ? 1 : 0,
  ];
  let status;
  try {
    status = await addon.renderJpeg(buffer, data, params);
  } catch (error) {
    throw new ImageDecodeError(path, (error as Error).message);
  }
  if (status !== 0) return null;
  if (!g.pad) return { data, width: post.width, height: post.height, channels: 3 };
  const crop = { left: 0, top: 0, width: post.width, height: post.height };
  const padded = cropPadFlip(data, post.width, 3, { ...g, crop });
  return { data: padded, width: g.width, height: g.height, channels: 3 };
}
