import type { MeanImage } from '@convnets/imagenet-data';

/**
 * How a checkpoint's inputs are preprocessed, beyond its architecture's
 * default: `convnets train --pixel-mean` records it in every checkpoint's
 * state.json (`metadata.preprocessing`), so that eval and predict need no flag.
 */
export interface CheckpointPreprocessing {
  readonly kind: 'pixel-mean';
  /** The mean image's height. */
  readonly height: number;
  /** The mean image's width. */
  readonly width: number;
  /** `height × width × 3` values on the 0 … 255 scale, RGB, row-major. */
  readonly mean: readonly number[];
}

/** The record of a per-pixel mean image, for a checkpoint's metadata. */
export function pixelMeanRecord(mean: MeanImage): CheckpointPreprocessing {
  return {
    kind: 'pixel-mean',
    height: mean.height,
    width: mean.width,
    mean: Array.from(mean.data),
  };
}

/**
 * The per-pixel mean image a checkpoint's metadata records, `undefined` when it
 * records none; `problem` is called (and must throw) with what is wrong in a
 * record that does not hold a `size`×`size` mean image.
 */
export function recordedPixelMean(
  metadata: Readonly<Record<string, unknown>> | undefined,
  size: number,
  problem: (what: string) => never,
): MeanImage | undefined {
  const record = metadata?.preprocessing as Partial<CheckpointPreprocessing> | undefined;
  if (record === undefined) return undefined;
  if (record.kind !== 'pixel-mean')
    problem(`metadata.preprocessing.kind is ${JSON.stringify(record.kind)}; expected "pixel-mean"`);
  const { height, width, mean } = record;
  if (height !== size || width !== size)
    problem(
      `its per-pixel mean image is ${String(height)}×${String(width)}; this evaluation's image size is ${size}`,
    );
  if (
    !Array.isArray(mean) ||
    mean.length !== size * size * 3 ||
    !mean.every((v) => typeof v === 'number' && Number.isFinite(v))
  )
    problem(`metadata.preprocessing.mean is not ${size * size * 3} finite numbers`);
  return { height: size, width: size, data: Float32Array.from(mean) };
}
