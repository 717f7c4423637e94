import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { kaimingNormalFanOut } from './initializers';
import {
  bool,
  checkKnownOptions,
  fail,
  nhwcChannels,
  nonEmptyString,
  nonNegativeInt,
  pair,
  positiveInt,
  positiveNumber,
  unitInterval,
} from './validate';

/** A kernel initializer as tfjs-layers accepts it: a built-in name or an instance. */
export type KernelInitializer = NonNullable<
  Parameters<typeof layers.conv2d>[0]['kernelInitializer']
>;

/**
 * How a convolution pads its input.
 *
 * - `'symmetric'` (default): `floor(kernelSize / 2)` zeros on every side, as
 *   PyTorch's `padding=k//2` does. Where the stride is above 1 this is an
 *   explicit `ZeroPadding2D` layer (`<name>_pad`) followed by a `'valid'`
 *   convolution; at stride 1 with an odd kernel, TensorFlow's `'same'` pads
 *   exactly so and is used directly.
 * - `'same'`: TensorFlow's `'same'`, which at stride 2 pads more at the bottom
 *   and right than at the top and left, so it does not match PyTorch weights.
 * - `'valid'`: no padding.
 * - a number or `[vertical, horizontal]`: that many zeros on both sides.
 */
export type Padding = 'symmetric' | 'same' | 'valid' | number | [number, number];

/** Batch-normalisation settings shared by every block. */
export interface BatchNormOptions {
  /**
   * Moving-average momentum in the Keras/tfjs convention:
   * `moving = momentum × moving + (1 − momentum) × batch`.
   * Default 0.9, which is PyTorch's `momentum=0.1` (tfjs' own default is 0.99).
   */
  bnMomentum?: number;
  /** Added to the variance before the square root. Default 1e-5, PyTorch's (tfjs' own default is 1e-3). */
  bnEpsilon?: number;
}

/** Options of {@link convBn} and {@link convBnRelu}. */
export interface ConvBnOptions extends BatchNormOptions {
  /**
   * Prefix of every layer name: the layers are `<name>_pad` (when padding is
   * explicit: strided convolutions), `<name>_conv`, `<name>_bn` and, for {@link convBnRelu},
   * `<name>_relu`. Names are public API: saved weights are keyed by them.
   */
  name: string;
  /** Number of output channels. */
  filters: number;
  /** Kernel size, one integer or `[height, width]`. Default 3. */
  kernelSize?: number | [number, number];
  /** Stride, one integer or `[vertical, horizontal]`. Default 1. */
  strides?: number | [number, number];
  /** Padding; see {@link Padding}. Default `'symmetric'`. */
  padding?: Padding;
  /** Whether the convolution has a bias. Default false: the BN's beta makes it redundant. */
  useBias?: boolean;
  /** Convolution kernel initializer. Default {@link kaimingNormalFanOut}. */
  kernelInitializer?: KernelInitializer;
  /**
   * Initialise the BN scale (gamma) to zero instead of one, so the unit starts
   * as the zero function. Default false.
   */
  zeroInitGamma?: boolean;
}

const CONV_BN_OPTIONS = [
  'name',
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'useBias',
  'kernelInitializer',
  'zeroInitGamma',
  'bnMomentum',
  'bnEpsilon',
] as const;

/** The BN keys, for functions that forward them. */
export const BATCH_NORM_OPTIONS = ['bnMomentum', 'bnEpsilon'] as const;

/** Resolves and validates the BN options. */
export function batchNormSettings(where: string, opts: BatchNormOptions) {
  return {
    momentum:
      opts.bnMomentum === undefined ? 0.9 : unitInterval(where, 'bnMomentum', opts.bnMomentum),
    epsilon:
      opts.bnEpsilon === undefined ? 1e-5 : positiveNumber(where, 'bnEpsilon', opts.bnEpsilon),
  };
}

function resolvePadding(
  where: string,
  padding: unknown,
  kernel: [number, number],
): 'same' | [number, number] {
  if (padding === 'same') return 'same';
  if (padding === 'valid') return [0, 0];
  if (padding === 'symmetric') return [Math.floor(kernel[0] / 2), Math.floor(kernel[1] / 2)];
  if (typeof padding === 'number' || Array.isArray(padding)) {
    return pair(where, 'padding', padding, nonNegativeInt);
  }
  return fail(
    where,
    'padding',
    padding,
    '"symmetric", "same", "valid", an integer or a [vertical, horizontal] pair',
  );
}

function convAndBn(where: string, x: SymbolicTensor, opts: ConvBnOptions): SymbolicTensor {
  checkKnownOptions(where, opts, CONV_BN_OPTIONS);
  const name = nonEmptyString(where, 'name', opts.name);
  const filters = positiveInt(where, 'filters', opts.filters);
  const kernel = pair(where, 'kernelSize', opts.kernelSize ?? 3, positiveInt);
  const strides = pair(where, 'strides', opts.strides ?? 1, positiveInt);
  const padding = resolvePadding(where, opts.padding ?? 'symmetric', kernel);
  const useBias = opts.useBias === undefined ? false : bool(where, 'useBias', opts.useBias);
  const zeroInitGamma =
    opts.zeroInitGamma === undefined ? false : bool(where, 'zeroInitGamma', opts.zeroInitGamma);
  const bn = batchNormSettings(where, opts);
  nhwcChannels(where, x);

  if (padding !== 'same') {
    for (const axis of [0, 1] as const) {
      const size = x.shape[axis + 1];
      if (size != null && size + 2 * padding[axis] < kernel[axis]) {
        throw new Error(
          `${where} "${name}": the input is ${size} pixels ${axis === 0 ? 'high' : 'wide'}, ` +
            `too small for a ${kernel[axis]}-pixel kernel with ${padding[axis]} pixels of padding; ` +
            `expected at least ${kernel[axis] - 2 * padding[axis]}.`,
        );
      }
    }
  }

  // At stride 1 with an odd kernel, TF's 'same' pads floor(k/2) on every side: exactly the
  // symmetric padding, without a separate padding layer and its copy of the input.
  const symmetricRequested = opts.padding === undefined || opts.padding === 'symmetric';
  const sameIsSymmetric =
    symmetricRequested && strides.every((s) => s === 1) && kernel.every((k) => k % 2 === 1);
  const explicit: [number, number] | null = padding === 'same' || sameIsSymmetric ? null : padding;
  let y = x;
  if (explicit !== null && (explicit[0] > 0 || explicit[1] > 0)) {
    y = layers
      .zeroPadding2d({
        padding: [
          [explicit[0], explicit[0]],
          [explicit[1], explicit[1]],
        ],
        name: `${name}_pad`,
      })
      .apply(y) as SymbolicTensor;
  }
  y = layers
    .conv2d({
      filters,
      kernelSize: kernel,
      strides,
      padding: explicit === null ? 'same' : 'valid',
      useBias,
      kernelInitializer: opts.kernelInitializer ?? kaimingNormalFanOut(),
      name: `${name}_conv`,
    })
    .apply(y) as SymbolicTensor;
  return layers
    .batchNormalization({
      axis: -1,
      momentum: bn.momentum,
      epsilon: bn.epsilon,
      gammaInitializer: zeroInitGamma ? 'zeros' : 'ones',
      name: `${name}_bn`,
    })
    .apply(y) as SymbolicTensor;
}

/**
 * A convolution followed by batch normalisation: the unit the ResNet paper
 * places everywhere ("BN right after each convolution", §3.4).
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [32, 32, 3] });
 * const y = convBn(x, { name: 'stem', filters: 16, kernelSize: 3 });
 * ```
 */
export function convBn(x: SymbolicTensor, opts: ConvBnOptions): SymbolicTensor {
  return convAndBn('convBn', x, opts);
}

/**
 * A convolution, batch normalisation and ReLU: the layers `<name>_conv`,
 * `<name>_bn`, `<name>_relu` (plus `<name>_pad` when padding is explicit).
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [224, 224, 3] });
 * // ResNet's stem: 7×7, 64 filters, stride 2, padding 3 on every side.
 * const y = convBnRelu(x, { name: 'conv1', filters: 64, kernelSize: 7, strides: 2 });
 * ```
 */
export function convBnRelu(x: SymbolicTensor, opts: ConvBnOptions): SymbolicTensor {
  const y = convAndBn('convBnRelu', x, opts);
  return relu(y, `${opts.name}_relu`);
}

/** A named ReLU activation layer. */
export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return layers.activation({ activation: 'relu', name }).apply(x) as SymbolicTensor;
}

/**
 * Checks the BN options of a whole network up front and returns them with
 * defaults applied (momentum 0.9 in the Keras convention, epsilon 1e-5).
 */
export function checkBatchNormOptions(
  where: string,
  opts: BatchNormOptions,
): Required<BatchNormOptions> {
  const bn = batchNormSettings(where, opts);
  return { bnMomentum: bn.momentum, bnEpsilon: bn.epsilon };
}
