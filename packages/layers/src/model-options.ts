import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import {
  checkBoolean,
  checkName,
  checkNonNegativeInt,
  checkPositiveInt,
  fail,
  oneOf,
  optional,
  optionKeys,
  resolveOptions,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/** Options every classification network of the convnets packages shares, as in Keras applications. */
export interface ClassifierOptions {
  /**
   * Input shape `[height, width, channels]`, NHWC without the batch; height
   * and width may be `null` (any size) without the top, and must be at least
   * the network's total stride (32 for ImageNet ResNets and VGG).
   *
   * @defaultValue `[224, 224, 3]` (`[32, 32, 3]` for the CIFAR ResNets)
   */
  inputShape?: [number | null, number | null, number];
  /**
   * Whether to include the classifier (global pooling and the fully connected
   * layers).
   *
   * @defaultValue `true`
   */
  includeTop?: boolean;
  /**
   * Number of classes of the classifier, a positive integer.
   *
   * @defaultValue `1000` (`10` for the CIFAR ResNets)
   */
  classes?: number;
  /**
   * Without the top: `'avg'` or `'max'` global pooling (layer `avg_pool` or
   * `max_pool`), or none (the model outputs the last feature map). Only valid
   * with `includeTop: false`.
   *
   * @defaultValue `undefined` (no pooling)
   */
  pooling?: 'avg' | 'max';
  /**
   * Activation of the classifier: `'softmax'` for probabilities, or `null` for
   * logits (what the trainer and a cross-entropy loss on logits want).
   *
   * @defaultValue `'softmax'`
   */
  classifierActivation?: 'softmax' | null;
  /**
   * Model name: a non-empty string without spaces or `/`.
   *
   * @defaultValue the architecture's name, e.g. `'resnet50'` or `'vgg16_bn'`
   */
  name?: string;
  /**
   * Fill the weights with zeros instead of drawing random initial values: for
   * a model that is about to receive loaded weights, or is only summarised.
   * Drawing VGG-16's 138M random values takes seconds. BN scales stay 1.
   *
   * @defaultValue `false`
   */
  skipInit?: boolean;
  /**
   * Seed of the random initial weights, a non-negative integer: the same seed
   * gives bitwise the same weights, different seeds different ones. Each layer
   * draws with {@link "@convnets/layers"!layerSeed | layerSeed}`(seed, its name)`. No effect with `skipInit`.
   *
   * @defaultValue none: every build draws different weights
   */
  seed?: number;
}

function checkInputShape(
  where: string,
  option: string,
  value: unknown,
): [number | null, number | null, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((d, i) => (d === null && i < 2) || (Number.isInteger(d) && (d as number) > 0))
  ) {
    fail(
      where,
      option,
      value,
      '[height, width, channels] with positive integers (height and width may be null)',
    );
  }
  return [...value] as [number | null, number | null, number];
}

/**
 * The one declaration of {@link ClassifierOptions}: its keys and their checks,
 * in the order the errors come. The architecture-dependent defaults (`name`,
 * `inputShape`) are applied by {@link resolveClassifierOptions}.
 */
const CLASSIFIER_OPTION_SPEC = {
  includeTop: withDefault(checkBoolean, true),
  classes: withDefault(checkPositiveInt, 1000),
  pooling: optional(oneOf(['avg', 'max'] as const)),
  classifierActivation: withDefault(oneOf(['softmax', null] as const), 'softmax'),
  name: optional(checkName),
  skipInit: withDefault(checkBoolean, false),
  seed: optional(checkNonNegativeInt),
  inputShape: optional(checkInputShape),
} satisfies OptionSpec<ClassifierOptions>;

/**
 * The {@link ClassifierOptions} keys, for {@link checkKnownOptions} in a model
 * factory; derived from the options' one declaration, so never out of date.
 */
export const CLASSIFIER_OPTION_KEYS: readonly (keyof ClassifierOptions)[] =
  optionKeys(CLASSIFIER_OPTION_SPEC);

/** {@link ClassifierOptions} with defaults applied and values checked. */
export interface ResolvedClassifierOptions {
  /** Input shape `[height, width, channels]`. */
  inputShape: [number | null, number | null, number];
  /** Whether the classifier is built. */
  includeTop: boolean;
  /** Classes of the classifier. */
  classes: number;
  /** Global pooling without the top (`undefined`: none). */
  pooling: 'avg' | 'max' | undefined;
  /** Classifier activation (`'linear'` for logits). */
  classifierActivation: 'softmax' | 'linear';
  /** Model name. */
  name: string;
  /** Whether weights are zero-filled instead of randomly initialised. */
  skipInit: boolean;
  /** Seed of the random initial weights (`undefined`: unseeded). */
  seed: number | undefined;
}

/**
 * Checks the shared classifier options of a network whose feature maps shrink
 * by `totalStride`, before any layer is built: an input smaller than the total
 * stride, zero classes or an unknown pooling are rejected with the value
 * received and what is allowed. For authors of new model factories.
 *
 * @param where - The factory's name for error messages, e.g. `resnet50`.
 * @param opts - The user's options (only the {@link ClassifierOptions} keys are read).
 * @param defaults - The architecture's default `name`, its `totalStride`, and
 *   optionally its default `inputShape` (otherwise `[224, 224, 3]`).
 * @returns The options with defaults applied; `classifierActivation: null` becomes `'linear'`.
 * @throws Error for `includeTop`/`skipInit` that are not booleans, `classes` that
 *   is not a positive integer, a `seed` that is not a non-negative integer, a `pooling` other than `'avg'`/`'max'` or given
 *   with the top, an unknown `classifierActivation`, an invalid `name`, a
 *   malformed `inputShape`, or an input smaller than `totalStride`.
 *
 * @example
 * ```ts
 * const top = resolveClassifierOptions('myNet', opts, { name: 'my_net', totalStride: 16 });
 * const x = tf.input({ shape: top.inputShape });
 * ```
 */
export function resolveClassifierOptions(
  where: string,
  opts: ClassifierOptions,
  defaults: { name: string; totalStride: number; inputShape?: [number, number, number] },
): ResolvedClassifierOptions {
  const checked = resolveOptions(where, opts, CLASSIFIER_OPTION_SPEC);
  const { includeTop, pooling } = checked;
  if (includeTop && pooling !== undefined) {
    throw new Error(
      `${where}: option "pooling" applies only with includeTop: false; received "${pooling}".`,
    );
  }
  const inputShape =
    checked.inputShape ??
    checkInputShape(where, 'inputShape', defaults.inputShape ?? [224, 224, 3]);
  for (const [axis, size] of [
    ['height', inputShape[0]],
    ['width', inputShape[1]],
  ] as const) {
    if (size !== null && size < defaults.totalStride) {
      throw new Error(
        `${where}: an input ${size} pixels in ${axis} is smaller than the network's total stride of ` +
          `${defaults.totalStride}; expected inputShape ${axis} ≥ ${defaults.totalStride}.`,
      );
    }
  }
  return {
    ...checked,
    inputShape,
    classifierActivation: checked.classifierActivation === null ? 'linear' : 'softmax',
    name: checked.name ?? defaults.name,
  };
}

/**
 * Global pooling without the top, named `avg_pool` or `max_pool` as in Keras;
 * `x` itself when `pooling` is `undefined`.
 *
 * @param x - The last feature map, `[batch, height, width, channels]`.
 * @param pooling - `'avg'`, `'max'`, or `undefined` for none.
 * @returns `[batch, channels]` after pooling, or `x` unchanged.
 * @throws Error from tfjs when `x` is not a rank-4 `SymbolicTensor`.
 *
 * @example
 * ```ts
 * const features = globalPooling(lastFeatureMap, top.pooling);
 * ```
 */
export function globalPooling(
  x: SymbolicTensor,
  pooling: 'avg' | 'max' | undefined,
): SymbolicTensor {
  if (pooling === 'avg') {
    return layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as SymbolicTensor;
  }
  if (pooling === 'max') {
    return layers.globalMaxPooling2d({ name: 'max_pool' }).apply(x) as SymbolicTensor;
  }
  return x;
}
