// Checking a transform's normalisation (scale, mean, std, PCA lighting).
import type {
  LightingOptions,
  MeanImage,
  Normalization,
  ResolvedNormalization,
} from './transforms';
import {
  checkFiniteNumber,
  checkOptions,
  checkPositiveInt,
  checkPositiveNumber,
  checkRgb,
  fail,
  optional,
  withDefault,
  type Check,
  type OptionSpec,
} from '@convnets/validate';

/** Whether a normalisation's mean is a per-pixel mean image (not an RGB triple). */
export function isMeanImage(mean: unknown): mean is MeanImage {
  return mean !== null && typeof mean === 'object' && !Array.isArray(mean) && 'data' in mean;
}

/** `spec` with each option named `<prefix>.<key>` in its errors, e.g. `normalization.std`. */
function nested<S extends Record<string, Check<unknown>>>(prefix: string, spec: S): S {
  return Object.fromEntries(
    Object.entries(spec).map(([key, check]) => [
      key,
      (where: string, option: string, value: unknown) => check(where, `${prefix}.${option}`, value),
    ]),
  ) as S;
}

/** A normalisation's mean: an RGB triple or a {@link MeanImage} of consistent size. */
function checkMean(
  where: string,
  option: string,
  value: unknown,
): readonly [number, number, number] | MeanImage {
  if (!isMeanImage(value)) return checkRgb(where, option, value);
  const height = checkPositiveInt(where, `${option}.height`, value.height);
  const width = checkPositiveInt(where, `${option}.width`, value.width);
  if (!(value.data instanceof Float32Array) || value.data.length !== height * width * 3) {
    fail(
      where,
      `${option}.data`,
      value.data,
      `a Float32Array of height × width × 3 = ${height * width * 3} values`,
    );
  }
  return value;
}

/** Three rows of three finite numbers. */
function checkEigenvectors(
  where: string,
  option: string,
  value: unknown,
): [number, number, number][] {
  if (!Array.isArray(value) || value.length !== 3) {
    fail(where, option, value, 'a 3×3 matrix (three rows of three numbers)');
  }
  return value.map((row) => checkRgb(where, option, row));
}

/** The one declaration of {@link LightingOptions}. */
const LIGHTING_SPEC = nested('normalization.lighting', {
  alphaStd: checkFiniteNumber,
  eigenvalues: checkRgb,
  eigenvectors: checkEigenvectors,
}) satisfies OptionSpec<LightingOptions>;

const checkLighting: Check<LightingOptions> = (where, _option, value) =>
  checkOptions(where, value, LIGHTING_SPEC);

/** The one declaration of {@link Normalization}, with its defaults (the identity). */
const NORMALIZATION_SPEC = nested('normalization', {
  scale: withDefault(checkPositiveNumber, 1),
  mean: withDefault(checkMean, [0, 0, 0]),
  std: withDefault<readonly [number, number, number]>(
    (where, option, value) => checkRgb(where, option, value, true),
    [1, 1, 1],
  ),
  lighting: optional(checkLighting),
}) satisfies OptionSpec<Normalization>;

/** Checks a normalisation and fills in defaults. */
export function resolveNormalization(where: string, n: Normalization = {}): ResolvedNormalization {
  const { scale, mean, std, lighting } = checkOptions(where, n, NORMALIZATION_SPEC);
  return { scale, mean, std, lighting: lighting ?? null };
}

/**
 * A faster `out[offset + i] = pixels[i] · a[i mod 3] + b[i mod 3]` (`ab` is
 * `[a0, a1, a2, b0, b1, b2]`, computed in double and rounded to float32, as
 * the loop in {@link normalizeInto} does); returns `false`, writing nothing,
 * when it is not available. The JPEG addon's, in Node.
 */
export type AffineKernel = (
  out: Float32Array,
  offset: number,
  pixels: Uint8Array,
  ab: [number, number, number, number, number, number],
) => boolean;

/**
 * Writes `(pixel · scale + offset − mean) / std` for one `[h, w, 3]` view into
 * `out` at `offset`. Plain typed-array arithmetic: per image this is far
 * cheaper than creating and combining tfjs tensors. `affine`, when given,
 * computes the per-channel case instead of the loop, with the same result.
 */
export function normalizeInto(
  out: Float32Array,
  offset: number,
  pixels: Uint8Array,
  n: ResolvedNormalization,
  rgbOffset: readonly [number, number, number],
  affine?: AffineKernel,
): void {
  const length = pixels.length;
  const [s0, s1, s2] = n.std;
  if (Array.isArray(n.mean)) {
    const m = n.mean as readonly number[];
    const a0 = n.scale / s0;
    const a1 = n.scale / s1;
    const a2 = n.scale / s2;
    const b0 = (rgbOffset[0] - m[0]) / s0;
    const b1 = (rgbOffset[1] - m[1]) / s1;
    const b2 = (rgbOffset[2] - m[2]) / s2;
    if (affine?.(out, offset, pixels, [a0, a1, a2, b0, b1, b2])) return;
    for (let i = 0; i < length; i += 3) {
      out[offset + i] = pixels[i] * a0 + b0;
      out[offset + i + 1] = pixels[i + 1] * a1 + b1;
      out[offset + i + 2] = pixels[i + 2] * a2 + b2;
    }
    return;
  }
  const mean = (n.mean as { data: Float32Array }).data;
  if (mean.length !== length) {
    throw new Error(`the mean image has ${mean.length} values but the view has ${length}.`);
  }
  const scale = n.scale;
  for (let i = 0; i < length; i += 3) {
    out[offset + i] = (pixels[i] * scale + rgbOffset[0] - mean[i]) / s0;
    out[offset + i + 1] = (pixels[i + 1] * scale + rgbOffset[1] - mean[i + 1]) / s1;
    out[offset + i + 2] = (pixels[i + 2] * scale + rgbOffset[2] - mean[i + 2]) / s2;
  }
}

/** One transformed view: float32 `[height, width, 3]`. */
export interface TransformedView {
  /** `height × width × 3` values, RGB, row-major. */
  readonly data: Float32Array;
  /** Height in pixels. */
  readonly height: number;
  /** Width in pixels. */
  readonly width: number;
}

/** Each 8-bit RGB view normalised into its own float32 array (see {@link normalizeInto}). */
export function normalizeViews(
  views: readonly { readonly data: Uint8Array; readonly width: number; readonly height: number }[],
  n: ResolvedNormalization,
  rgbOffset: readonly [number, number, number],
  affine?: AffineKernel,
): TransformedView[] {
  return views.map((v) => {
    const data = new Float32Array(v.data.length);
    normalizeInto(data, 0, v.data, n, rgbOffset, affine);
    return { data, height: v.height, width: v.width };
  });
}
