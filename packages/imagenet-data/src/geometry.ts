// The geometry of a view: one crop, resize, crop, padding and mirror, planned
// by the transforms. Pure arithmetic, no pixels: it runs in a browser too.

/** A rectangle in pixels. */
export interface Rect {
  /** Column of the left edge. */
  left: number;
  /** Row of the top edge. */
  top: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** Padding in pixels on each side. */
export interface Padding {
  /** Rows added above. */
  top: number;
  /** Rows added below. */
  bottom: number;
  /** Columns added on the left. */
  left: number;
  /** Columns added on the right. */
  right: number;
}

/**
 * The geometry of one view of an image, as the transforms build it: every
 * resize, crop, pad and flip collapses into at most one crop of the source,
 * one resize, one crop of the resized image, one padding and one mirror, so
 * that the whole view is produced in one pass: by the JPEG addon, by a
 * single sharp pipeline (which decodes JPEGs at a reduced scale when it can,
 * the main reason sharp is fast), or, for pixels in memory, by one resample
 * and byte copies ({@link transformPixels}).
 *
 * Coordinates are those of the unflipped image; `flip` is applied last.
 */
export interface ViewGeometry {
  /** Size of the decoded source (after EXIF orientation when applied). */
  readonly sourceWidth: number;
  /** Size of the decoded source (after EXIF orientation when applied). */
  readonly sourceHeight: number;
  /**
   * Crop of the source, before any resize.
   *
   * @defaultValue `undefined` (no crop: the whole source)
   */
  preCrop?: Rect;
  /**
   * Resize of the (cropped) source.
   *
   * @defaultValue `undefined` (no resize)
   */
  resize?: {
    /** Width after the resize, in pixels. */
    width: number;
    /** Height after the resize, in pixels. */
    height: number;
  };
  /**
   * Crop of the resized image.
   *
   * @defaultValue `undefined` (no crop after the resize)
   */
  postCrop?: Rect;
  /**
   * Zero padding, added after the crops.
   *
   * @defaultValue `undefined` (no padding)
   */
  pad?: Padding;
  /** Mirror left–right, last. */
  flip: boolean;
  /** Current width of the view. */
  width: number;
  /** Current height of the view. */
  height: number;
}

/** The geometry of an image before any transform: the whole source. */
export function initialGeometry(width: number, height: number): ViewGeometry {
  return { sourceWidth: width, sourceHeight: height, flip: false, width, height };
}

/** A copy, so that multi-view steps can branch. */
export function cloneGeometry(g: ViewGeometry): ViewGeometry {
  return {
    ...g,
    preCrop: g.preCrop && { ...g.preCrop },
    resize: g.resize && { ...g.resize },
    postCrop: g.postCrop && { ...g.postCrop },
    pad: g.pad && { ...g.pad },
  };
}

/** Resizes the current view to `width × height`. */
export function resizeGeometry(g: ViewGeometry, width: number, height: number): void {
  if (g.postCrop || g.pad) {
    throw new Error(
      'resize after a crop or pad of a resized image cannot run in one pass; resize first, then crop, pad and flip.',
    );
  }
  g.resize = { width, height };
  g.width = width;
  g.height = height;
}

/** Mirrors the current view left–right. */
export function flipGeometry(g: ViewGeometry): void {
  g.flip = !g.flip;
}

/** Pads the current view with `amount` zero pixels on every side. */
export function padGeometry(g: ViewGeometry, amount: number): void {
  const pad = g.pad ?? { top: 0, bottom: 0, left: 0, right: 0 };
  g.pad = {
    top: pad.top + amount,
    bottom: pad.bottom + amount,
    left: pad.left + amount,
    right: pad.right + amount,
  };
  g.width += 2 * amount;
  g.height += 2 * amount;
}

/** Crops the current view (coordinates as the view looks now, flipped or not). */
export function cropGeometry(g: ViewGeometry, rect: Rect): void {
  const { left, top, width, height } = rect;
  if (
    left < 0 ||
    top < 0 ||
    width < 1 ||
    height < 1 ||
    left + width > g.width ||
    top + height > g.height
  ) {
    throw new Error(
      `crop ${width}×${height} at (${left}, ${top}) does not fit in a ${g.width}×${g.height} image.`,
    );
  }
  // Into unflipped coordinates: the flip is applied last.
  let r: Rect = { left: g.flip ? g.width - left - width : left, top, width, height };
  if (g.pad) {
    const p = g.pad;
    const innerW = g.width - p.left - p.right;
    const innerH = g.height - p.top - p.bottom;
    const x0 = Math.max(r.left, p.left);
    const y0 = Math.max(r.top, p.top);
    const x1 = Math.min(r.left + r.width, p.left + innerW);
    const y1 = Math.min(r.top + r.height, p.top + innerH);
    if (x1 <= x0 || y1 <= y0)
      throw new Error('a crop that lies entirely in the padding is not supported.');
    const pad = {
      left: x0 - r.left,
      top: y0 - r.top,
      right: r.left + r.width - x1,
      bottom: r.top + r.height - y1,
    };
    g.pad = pad.left || pad.top || pad.right || pad.bottom ? pad : undefined;
    r = { left: x0 - p.left, top: y0 - p.top, width: x1 - x0, height: y1 - y0 };
  }
  // A crop after a resize composes with the post-resize crop, else with the pre-resize one.
  const stage = g.resize ? 'postCrop' : 'preCrop';
  const base = g[stage] ?? { left: 0, top: 0 };
  g[stage] = { left: base.left + r.left, top: base.top + r.top, width: r.width, height: r.height };
  g.width = rect.width;
  g.height = rect.height;
}

/** Resampling kernel for resizes (sharp's names). */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
