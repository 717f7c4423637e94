import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';

/** What must match for a checkpoint to be resumed. */
export interface ResumeKey {
  /** Hash of the model's architecture (layer classes, configs and weight shapes; names left out). */
  readonly architecture: string;
  /** A human-readable description of the architecture, named in errors. */
  readonly architectureName: string;
  /** The class list. */
  readonly classes: readonly string[];
  /** Images per micro-batch. */
  readonly batchSize: number;
  /** Micro-batches per update. */
  readonly accumulate: number;
  /** The training data's fingerprint (dataset size, seed, augmentation). */
  readonly data: Readonly<Record<string, string | number>>;
}

/**
 * The architecture hash of a model: layer classes, their configurations and
 * weight shapes, with names and seeds left out (tfjs numbers unnamed layers
 * per process, which must not make a resumed run look different).
 *
 * @param model - Any model.
 * @returns 16 hexadecimal digits of a SHA-256.
 * @throws Error from tfjs when a layer's `getConfig()` throws (a custom layer that does not implement it).
 * @example
 * ```ts
 * // Two builds of the same architecture hash alike, whatever tfjs named their layers.
 * architectureHash(cifarResNet(20)) === architectureHash(cifarResNet(20)); // true
 * ```
 */
export function architectureHash(model: LayersModel): string {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        if (k !== 'name' && k !== 'seed') out[k] = strip(v);
      return out;
    }
    return value;
  };
  const layers = model.layers.map((layer) => ({
    className: layer.getClassName(),
    config: strip(layer.getConfig()),
    weights: layer.weights.map((w) => w.shape),
  }));
  return createHash('sha256').update(JSON.stringify(layers)).digest('hex').slice(0, 16);
}

/**
 * Why a checkpoint cannot be resumed: every difference, named. The trainer
 * throws it when `resume` points at a checkpoint of another architecture,
 * class list, batch size, accumulation or data.
 *
 * @example
 * ```ts
 * try {
 *   await train({ model, data, steps: 1000, lr: 0.1, outDir: 'runs/a', resume: true });
 * } catch (error) {
 *   if (error instanceof ResumeMismatchError) console.error(error.differences.join('\n'));
 *   else throw error;
 * }
 * ```
 */
export class ResumeMismatchError extends Error {
  /** One line per difference. */
  readonly differences: readonly string[];
  /**
   * Creates the error; its message names the checkpoint and every difference.
   *
   * @param path - The checkpoint.
   * @param differences - What differs, in words (see {@link compareResumeKeys}).
   */
  constructor(path: string, differences: string[]) {
    super(`cannot resume from ${path}: ${differences.join('; ')}.`);
    this.name = 'ResumeMismatchError';
    this.differences = differences;
  }
}

/**
 * The differences between a checkpoint's resume key and this run's, in words.
 *
 * @param saved - The checkpoint's key.
 * @param current - This run's key.
 * @returns One phrase per difference, e.g. `the batch size differs (checkpoint: 8, this run: 4)`; empty when they match.
 * @throws TypeError when a key lacks `classes` or `data` (e.g. a hand-edited `state.json`).
 * @example
 * ```ts
 * const { state } = await readCheckpoint('runs/a/checkpoints/step-00001200');
 * const differences = compareResumeKeys(state.key, { ...state.key, batchSize: 4 });
 * // ['the batch size differs (checkpoint: 8, this run: 4)'] for a checkpoint taken at batch size 8
 * ```
 */
export function compareResumeKeys(saved: ResumeKey, current: ResumeKey): string[] {
  const out: string[] = [];
  if (saved.architecture !== current.architecture)
    out.push(
      `the architecture differs (checkpoint: ${saved.architectureName} [${saved.architecture}], this run: ${current.architectureName} [${current.architecture}])`,
    );
  if (saved.classes.length !== current.classes.length) {
    out.push(
      `the class list differs (checkpoint: ${saved.classes.length} classes, this run: ${current.classes.length})`,
    );
  } else {
    const i = saved.classes.findIndex((c, k) => c !== current.classes[k]);
    if (i >= 0)
      out.push(
        `the class list differs at index ${i} (checkpoint: "${saved.classes[i]}", this run: "${current.classes[i]}")`,
      );
  }
  if (saved.batchSize !== current.batchSize)
    out.push(
      `the batch size differs (checkpoint: ${saved.batchSize}, this run: ${current.batchSize})`,
    );
  if (saved.accumulate !== current.accumulate)
    out.push(
      `the gradient accumulation differs (checkpoint: ${saved.accumulate} micro-batches per step, this run: ${current.accumulate})`,
    );
  const keys = new Set([...Object.keys(saved.data), ...Object.keys(current.data)]);
  for (const k of keys)
    if (saved.data[k] !== current.data[k])
      out.push(
        `the training data's ${k} differs (checkpoint: ${String(saved.data[k])}, this run: ${String(current.data[k])})`,
      );
  return out;
}
