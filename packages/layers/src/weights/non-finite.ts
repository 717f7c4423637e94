/** Tensors holding NaN or infinite values: counting them and reporting them to the user. */

/** A loaded tensor that holds NaN or infinite values (after conversion to float32). */
export interface NonFiniteTensor {
  /** Its state-dict key, e.g. `layer1.0.bn1.running_var`. */
  key: string;
  /** The weight of ours it was loaded into, `layer/weight`, e.g. `conv2_block1_1_bn/moving_variance`. */
  weight: string;
  /** How many values it has. */
  size: number;
  /** How many of them are NaN. */
  nan: number;
  /** How many are `+Infinity` or `-Infinity` (F64 values beyond float32's range included). */
  infinite: number;
}

/**
 * What loading weights found worth knowing without refusing the file, as
 * {@link importStateDict} and {@link loadSafetensorsWeights} return it.
 * PyTorch's `load_state_dict` loads such values silently; so do we, and report them.
 */
export interface LoadWeightsReport {
  /** The loaded tensors holding NaN or infinite values, in the model's weight order; empty when all are finite. */
  nonFinite: NonFiniteTensor[];
  /**
   * With `strict: false`, the model's weights the file has no tensor for, as
   * `layer/weight` (`conv1_conv/kernel`), left as they were; empty otherwise.
   */
  missing: string[];
  /** With `strict: false`, the file's keys no weight of the model uses, not loaded; empty otherwise. */
  unexpected: string[];
  /**
   * With `strict: false`, the weights whose tensor does not fit (shape or
   * dtype), left as they were; empty otherwise.
   */
  mismatched: MismatchedTensor[];
  /** The file's keys left out on request (`skip`, e.g. the classifier of a replaced head), in file order. */
  skipped: string[];
}

/** A tensor of the file that does not fit the weight it maps to. */
export interface MismatchedTensor {
  /** Its key in the file, e.g. `fc.weight`. */
  key: string;
  /** The weight of ours it maps to, `layer/weight`, e.g. `predictions/kernel`. */
  weight: string;
  /** What is wrong: `has shape [1000, 64], expected [10, 64]`, or its dtype. */
  reason: string;
}

/**
 * A warning passed to {@link LoadSafetensorsOptions.onWarning}. There is one
 * kind for now: some loaded tensors hold NaN or infinite values (they are
 * loaded as they are; a model with them predicts NaN).
 */
export interface WeightsWarning {
  /** What the warning is about. */
  kind: 'non-finite';
  /**
   * A message ready to print, naming the file (for a path) and each tensor
   * (up to 25, then a count), one per line, e.g.
   * `w.safetensors: 1 of 62 loaded tensors hold NaN or infinite values:\n  - "fc.bias" (fc/bias): 3 NaN of 1000 values`.
   */
  message: string;
  /** The file's path, when loading from a path. */
  path?: string;
  /** Every tensor with NaN or infinite values (not cut to 25). */
  nonFinite: NonFiniteTensor[];
}

/**
 * Counts the NaN and infinite values of a tensor's data.
 *
 * @param values - The data.
 * @returns How many values are NaN, and how many ±Infinity.
 * @example
 * ```ts
 * countNonFinite(new Float32Array([1, NaN, Infinity])); // { nan: 1, infinite: 1 }
 * ```
 */
export function countNonFinite(values: ArrayLike<number>): {
  /** NaN values. */
  nan: number;
  /** ±Infinity values. */
  infinite: number;
} {
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) {
      if (v !== v) nan++;
      else infinite++;
    }
  }
  return { nan, infinite };
}
