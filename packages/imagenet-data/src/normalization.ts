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
