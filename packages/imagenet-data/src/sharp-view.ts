// One view rendered by sharp: the pipeline for a view's geometry (Node only).
import sharp, { type Sharp } from 'sharp';
import {
  openImage,
  toRgb,
  type DecodedImage,
  type ImageHeader,
  type ResolvedDecodeOptions,
} from './decode';
import type { ResizeKernel, ViewGeometry } from './geometry';

/** An encoded image file and its header (from `readHeader`). */
export interface EncodedImage {
  /** The file's bytes. */
  readonly buffer: Buffer;
  /** Its header. */
  readonly header: ImageHeader;
}

/**
 * Runs one view's geometry as a single sharp pipeline and returns its RGB
 * bytes. `source` is an encoded file, or an already decoded image when
 * several views share one decode.
 */
export async function renderView(
  source: EncodedImage | DecodedImage,
  g: ViewGeometry,
  path: string,
  options: ResolvedDecodeOptions,
  kernel: ResizeKernel,
): Promise<DecodedImage> {
  let image: Sharp;
  if ('buffer' in source) {
    image = openImage(source.buffer, options, source.header);
  } else {
    image = sharp(source.data, {
      raw: { width: source.width, height: source.height, channels: 3 },
    });
  }
  if (g.preCrop) image = image.extract(g.preCrop);
  if (g.resize) image = image.resize(g.resize.width, g.resize.height, { fit: 'fill', kernel });
  // sharp mirrors after the resize but before the post-resize crop and the
  // padding; mirror those two so that the flip is, in effect, applied last.
  if (g.flip) image = image.flop();
  if (g.postCrop) {
    const c = g.postCrop;
    const w = g.resize ? g.resize.width : 0;
    image = image.extract(g.flip ? { ...c, left: w - c.left - c.width } : c);
  }
  if (g.pad) {
    const p = g.pad;
    image = image.extend({
      top: p.top,
      bottom: p.bottom,
      left: g.flip ? p.right : p.left,
      right: g.flip ? p.left : p.right,
      background: { r: 0, g: 0, b: 0 },
    });
  }
  return toRgb(image, path, options);
}
