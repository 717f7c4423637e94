// Checking a transform's normalisation (scale, mean, std, PCA lighting).
import type {
  LightingOptions,
  MeanImage,
  Normalization,
  ResolvedNormalization,
} from './transforms';
import {
  checkKnownOptions,
  fail,
  finiteNumber,
  positiveInt,
  positiveNumber,
  rgb,
} from './validate';

/** Whether a normalisation's mean is a per-pixel mean image (not an RGB triple). */
export function isMeanImage(mean: unknown): mean is MeanImage {
  return mean !== null && typeof mean === 'object' && !Array.isArray(mean) && 'data' in mean;
}

/** Checks a normalisation and fills in defaults. */
export function resolveNormalization(where: string, n: Normalization = {}): ResolvedNormalization {
  checkKnownOptions(where, n, ['scale', 'mean', 'std', 'lighting']);
  const scale = positiveNumber(where, 'normalization.scale', n.scale ?? 1);
  let mean: ResolvedNormalization['mean'] = [0, 0, 0];
  if (isMeanImage(n.mean)) {
    const m = n.mean;
    positiveInt(where, 'normalization.mean.height', m.height);
    positiveInt(where, 'normalization.mean.width', m.width);
    if (!(m.data instanceof Float32Array) || m.data.length !== m.height * m.width * 3) {
      fail(
        where,
        'normalization.mean.data',
        m.data,
        `a Float32Array of height × width × 3 = ${m.height * m.width * 3} values`,
      );
    }
    mean = m;
  } else if (n.mean !== undefined) {
    mean = rgb(where, 'normalization.mean', n.mean);
  }
  const std =
    n.std === undefined ? ([1, 1, 1] as const) : rgb(where, 'normalization.std', n.std, true);
  let lighting: LightingOptions | null = null;
  if (n.lighting !== undefined) {
    const l = n.lighting;
    checkKnownOptions(where, l, ['alphaStd', 'eigenvalues', 'eigenvectors']);
    const alphaStd = finiteNumber(where, 'normalization.lighting.alphaStd', l.alphaStd);
    const eigenvalues = rgb(where, 'normalization.lighting.eigenvalues', l.eigenvalues);
    if (!Array.isArray(l.eigenvectors) || l.eigenvectors.length !== 3) {
      fail(
        where,
        'normalization.lighting.eigenvectors',
        l.eigenvectors,
        'a 3×3 matrix (three rows of three numbers)',
      );
    }
    const eigenvectors = l.eigenvectors.map((row) =>
      rgb(where, 'normalization.lighting.eigenvectors', row),
    );
    lighting = { alphaStd, eigenvalues, eigenvectors };
  }
  return { scale, mean, std, lighting };
}
