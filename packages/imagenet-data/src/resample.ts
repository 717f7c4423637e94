// Pillow's antialiased bilinear resize (libImaging/Resample.c, Pillow 9.4) on
// 8-bit pixels in plain TypeScript: the same weights, the same fixed-point
// sums and rounding, the horizontal pass first and its result rounded to
// bytes, so that its output equals Pillow's (torchvision's `Resize` on a PIL
// image) byte for byte. The JPEG addon's native/resample.c computes the same
// arithmetic in C for files; this is the browser-safe one, for pixels already
// in memory.
import type { Rect } from './geometry';

/** Pillow's fixed point: weights carry 22 fraction bits (`PRECISION_BITS`). */
const PRECISION_BITS = 32 - 8 - 2;
/** One half in that fixed point: every sum starts there, so the shift rounds. */
const HALF = 1 << (PRECISION_BITS - 1);
/** The first sum that clips to 255 (Pillow's `1 << PRECISION_BITS << 8`). */
const SATURATED = 2 ** (PRECISION_BITS + 8);
/** `1 << PRECISION_BITS`, the fixed-point one. */
const ONE = 2 ** PRECISION_BITS;

/**
 * One axis of a resize, for a run of output indices: where each output's
 * window starts in the input, how many inputs it reads, and their
 * fixed-point weights (`ksize` slots per output, zeros past `length`).
 */
export interface AxisWeights {
  /** First input index each output reads. */
  readonly first: Int32Array;
  /** Number of inputs each output reads. */
  readonly length: Int32Array;
  /** `ksize` weights per output, 22 fraction bits. */
  readonly weights: Int32Array;
  /** Weight slots per output. */
  readonly ksize: number;
  /** Inputs read by the run: `[lo, hi)`. */
  readonly lo: number;
  /** See `lo`. */
  readonly hi: number;
}

/** Pillow's bilinear (triangle) filter, support 1. */
function bilinear(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** C's cast of a double to int: truncation toward zero. */
const toInt = Math.trunc;

/**
 * Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` for the bilinear
 * filter, resizing `inSize` inputs to `outSize` outputs, for the outputs
 * `[from, from + count)`. The filter's support grows with the reduction
 * factor (antialiasing); weights are normalised to sum to one, then rounded
 * half away from zero to 22 fraction bits.
 */
export function axisWeights(
  inSize: number,
  outSize: number,
  from: number,
  count: number,
): AxisWeights {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = 1 * filterscale;
  const ss = 1 / filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(count);
  const length = new Int32Array(count);
  const weights = new Int32Array(count * ksize);
  const k = new Float64Array(ksize);
  let lo = inSize;
  let hi = 0;
  for (let i = 0; i < count; i++) {
    const center = (from + i + 0.5) * scale;
    const xmin = Math.max(toInt(center - support + 0.5), 0);
    const xmax = Math.min(toInt(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = bilinear((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      weights[i * ksize + x] = v < 0 ? toInt(-0.5 + v * ONE) : toInt(0.5 + v * ONE);
    }
    first[i] = xmin;
    length[i] = xmax;
    lo = Math.min(lo, xmin);
    hi = Math.max(hi, xmin + xmax);
  }
  return { first, length, weights, ksize, lo, hi };
}

/** Pillow's `clip8`: a fixed-point sum to a byte. */
function clip8(sum: number): number {
  if (sum >= SATURATED) return 255;
  if (sum <= 0) return 0;
  return sum >> PRECISION_BITS;
}

/** An 8-bit image in memory, `height × width × channels`, row-major. */
interface Bytes {
  readonly data: Uint8Array;
  /** Width of a row, in pixels. */
  readonly width: number;
  readonly channels: number;
}

/**
 * Pillow's `ResampleHorizontal_8bpc` over `rows` rows of `src` starting at
 * row `top`, reading columns from `left` on: each channel of each output is
 * `clip8(HALF + Σ pixel · weight)`.
 */
function horizontalPass(src: Bytes, left: number, top: number, rows: number, a: AxisWeights) {
  const { data, width, channels } = src;
  const count = a.first.length;
  const out = new Uint8Array(rows * count * channels);
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const row = ((top + y) * width + left) * channels;
    for (let i = 0; i < count; i++) {
      const start = row + a.first[i] * channels;
      const w = i * a.ksize;
      const taps = a.length[i];
      for (let c = 0; c < channels; c++) {
        let sum = HALF;
        for (let x = 0; x < taps; x++) sum += data[start + x * channels + c] * a.weights[w + x];
        out[o++] = clip8(sum);
      }
    }
  }
  return out;
}

/**
 * Pillow's `ResampleVertical_8bpc` from the horizontal pass's rows (which
 * start at input row `a.lo`, `rowLength` bytes each) into the output rows.
 */
function verticalPass(temp: Uint8Array, rowLength: number, a: AxisWeights): Uint8Array {
  const count = a.first.length;
  const out = new Uint8Array(count * rowLength);
  const sums = new Float64Array(rowLength);
  for (let j = 0; j < count; j++) {
    sums.fill(HALF);
    const w = j * a.ksize;
    for (let y = 0; y < a.length[j]; y++) {
      const weight = a.weights[w + y];
      const from = (a.first[j] - a.lo + y) * rowLength;
      for (let c = 0; c < rowLength; c++) sums[c] += temp[from + c] * weight;
    }
    for (let c = 0; c < rowLength; c++) out[j * rowLength + c] = clip8(sums[c]);
  }
  return out;
}

/**
 * Resizes the `crop` of an 8-bit image (any number of channels) to
 * `width × height` with Pillow's antialiased bilinear filter, as
 * torchvision's `Resize` does on a PIL image (after its crop, for
 * `RandomResizedCrop`), computing only the output pixels in `window`.
 *
 * @returns The `window.width × window.height` pixels, same channels as `src`.
 */
export function resampleBilinear(
  src: Bytes,
  crop: Rect,
  size: { readonly width: number; readonly height: number },
  window: Rect,
): Uint8Array {
  const across = axisWeights(crop.width, size.width, window.left, window.width);
  const down = axisWeights(crop.height, size.height, window.top, window.height);
  // Only the rows the vertical pass reads, as Pillow does.
  const temp = horizontalPass(src, crop.left, crop.top + down.lo, down.hi - down.lo, across);
  return verticalPass(temp, window.width * src.channels, down);
}
