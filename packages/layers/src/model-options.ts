import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { bool, fail, nonEmptyString, oneOf, positiveInt } from './validate';

/** Options every classification network of the convnets packages shares, as in Keras applications. */
export interface ClassifierOptions {
  /** Input shape `[height, width, channels]`; height and width may be `null` without the top. Default `[224, 224, 3]`. */
  inputShape?: [number | null, number | null, number];
  /** Whether to include the classifier. Default true. */
  includeTop?: boolean;
  /** Number of classes of the classifier. Default 1000. */
  classes?: number;
  /** Without the top: `'avg'` or `'max'` global pooling, or none (the last feature map). Default none. */
  pooling?: 'avg' | 'max';
  /** Activation of the classifier: `'softmax'`, or `null` for logits. Default `'softmax'`. */
  classifierActivation?: 'softmax' | null;
  /** Model name. Default the architecture's name, e.g. `resnet50`. */
  name?: string;
  /**
   * Fill the weights with zeros instead of drawing random initial values: for
   * a model that is about to receive loaded weights, or is only summarised.
   * Drawing VGG-16's 138M random values takes seconds. BN scales stay 1.
   * Default false.
   */
  skipInit?: boolean;
}

/** The {@link ClassifierOptions} keys, for option checking. */
export const CLASSIFIER_OPTION_KEYS = [
  'inputShape',
  'includeTop',
  'classes',
  'pooling',
  'classifierActivation',
  'name',
  'skipInit',
] as const;

/** {@link ClassifierOptions} with defaults applied and values checked. */
export interface ResolvedClassifierOptions {
  /** Input shape. */
  inputShape: [number | null, number | null, number];
  /** Whether the classifier is built. */
  includeTop: boolean;
  /** Classes of the classifier. */
  classes: number;
  /** Global pooling without the top. */
  pooling: 'avg' | 'max' | undefined;
  /** Classifier activation (`'linear'` for logits). */
  classifierActivation: 'softmax' | 'linear';
  /** Model name. */
  name: string;
  /** Whether weights are zero-filled instead of randomly initialised. */
  skipInit: boolean;
}

/**
 * Checks the shared classifier options of a network whose feature maps shrink
 * by `totalStride`, before any layer is built: an input smaller than the total
 * stride, zero classes or an unknown pooling are rejected with the value
 * received and what is allowed.
 */
export function resolveClassifierOptions(
  where: string,
  opts: ClassifierOptions,
  defaults: { name: string; totalStride: number; inputShape?: [number, number, number] },
): ResolvedClassifierOptions {
  const includeTop =
    opts.includeTop === undefined ? true : bool(where, 'includeTop', opts.includeTop);
  const classes = opts.classes === undefined ? 1000 : positiveInt(where, 'classes', opts.classes);
  const pooling =
    opts.pooling === undefined
      ? undefined
      : oneOf(where, 'pooling', opts.pooling, ['avg', 'max'] as const);
  if (includeTop && pooling !== undefined) {
    throw new Error(
      `${where}: option "pooling" applies only with includeTop: false; received "${pooling}".`,
    );
  }
  const activation =
    opts.classifierActivation === undefined
      ? 'softmax'
      : oneOf(where, 'classifierActivation', opts.classifierActivation, ['softmax', null] as const);
  const name = opts.name === undefined ? defaults.name : nonEmptyString(where, 'name', opts.name);
  const skipInit = opts.skipInit === undefined ? false : bool(where, 'skipInit', opts.skipInit);
  const inputShape = opts.inputShape ?? defaults.inputShape ?? [224, 224, 3];
  if (
    !Array.isArray(inputShape) ||
    inputShape.length !== 3 ||
    !inputShape.every((d, i) => (d === null && i < 2) || (Number.isInteger(d) && (d as number) > 0))
  ) {
    fail(
      where,
      'inputShape',
      inputShape,
      '[height, width, channels] with positive integers (height and width may be null)',
    );
  }
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
    inputShape: [...inputShape] as [number | null, number | null, number],
    includeTop,
    classes,
    pooling,
    classifierActivation: activation === null ? 'linear' : 'softmax',
    name,
    skipInit,
  };
}

/** Global pooling without the top, named `avg_pool` or `max_pool` as in Keras. */
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
