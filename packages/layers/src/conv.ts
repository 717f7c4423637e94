import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { BatchNormalization } from './custom/batch-normalization';
import { kaimingNormalFanOut, layerSeed } from './initializers';
import {
  checkBoolean,
  checkName,
  checkNonNegativeInt,
  checkOptions,
  checkPair,
  checkPositiveInt,
  checkPositiveNumber,
  checkUnitInterval,
  fail,
  optional,
  pairOf,
  resolveOptions,
  unchecked,
  withDefault,
  type OptionSpec,
  type Resolved,
} from '@convnets/validate';
import { nhwcChannels } from './input';

/**
 * A kernel initializer as tfjs-layers accepts it: a built-in name such as
 * `'heNormal'` or `'zeros'`, or an `Initializer` instance such as
 * {@link kaimingNormalFanOut}`()`.
 */
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

/**
 * Batch-normalisation settings shared by every block. The defaults are
 * PyTorch's, so that torchvision weights and training recipes carry over; tfjs'
 * own defaults (momentum 0.99, epsilon 1e-3) differ.
 *
 * @see [Ioffe & Szegedy, "Batch Normalization", arXiv 1502.03167, Algorithm 1 and §3.1](https://arxiv.org/abs/1502.03167)
 */
export interface BatchNormOptions {
  /**
   * Moving-average momentum in the Keras/tfjs convention:
   * `moving = momentum × moving + (1 − momentum) × batch`, a number in [0, 1).
   * 0.9 is PyTorch's `momentum=0.1`.
   *
   * @defaultValue `0.9`
   */
  bnMomentum?: number;
  /**
   * Added to the variance before the square root; a finite number above 0.
   *
   * @defaultValue `1e-5` (PyTorch's)
   */
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
  /** Number of output channels, a positive integer. */
  filters: number;
  /**
   * Kernel size, one positive integer or `[height, width]`.
   *
   * @defaultValue `3`
   */
  kernelSize?: number | [number, number];
  /**
   * Stride, one positive integer or `[vertical, horizontal]` (torchvision's
   * `stride`; renamed from `strides` in 0.x).
   *
   * @defaultValue `1`
   */
  stride?: number | [number, number];
  /**
   * Padding; see {@link Padding}.
   *
   * @defaultValue `'symmetric'`
   */
  padding?: Padding;
  /**
   * Whether the convolution has a bias. Off by default: the BN's beta makes it
   * redundant, and torchvision's convolutions have none.
   *
   * @defaultValue `false`
   */
  useBias?: boolean;
  /**
   * Convolution kernel initializer.
   *
   * @defaultValue {@link kaimingNormalFanOut}`()`
   */
  kernelInitializer?: KernelInitializer;
  /**
   * Seed of the random initial kernel, a non-negative integer: the same seed
   * gives bitwise the same weights. Each convolution draws with
   * {@link layerSeed}`(seed, its name)`, so one seed serves a whole network.
   * Ignored when `kernelInitializer` is given.
   *
   * @defaultValue none: every build draws different weights
   */
  seed?: number;
  /**
   * Initialise the BN scale (gamma) to zero instead of one, so the unit starts
   * as the zero function.
   *
   * @defaultValue `false`
   */
  zeroInitGamma?: boolean;
}

/** The checks of {@link BatchNormOptions}, with PyTorch's defaults. */
export const BATCH_NORM_SPEC = {
  bnMomentum: withDefault(checkUnitInterval, 0.9),
  bnEpsilon: withDefault(checkPositiveNumber, 1e-5),
} satisfies OptionSpec<BatchNormOptions>;

function checkPadding(where: string, option: string, value: unknown): Padding {
  if (value === 'symmetric' || value === 'same' || value === 'valid') return value;
  if (typeof value === 'number' || Array.isArray(value)) {
    return checkPair(where, option, value, checkNonNegativeInt);
  }
  return fail(
    where,
    option,
    value,
    '"symmetric", "same", "valid", an integer or a [vertical, horizontal] pair',
  );
}

/**
 * The checks of the options every unit, shortcut and block shares: name,
 * filters, kernel initializer, seed and BN.
 */
export const UNIT_SPEC = {
  name: checkName,
  filters: checkPositiveInt,
  kernelInitializer: unchecked<KernelInitializer | undefined>(),
  seed: optional(checkNonNegativeInt),
  ...BATCH_NORM_SPEC,
};

/** The one declaration of {@link ConvBnOptions}: its keys and their checks. */
const CONV_BN_SPEC = {
  ...UNIT_SPEC,
  kernelSize: withDefault(pairOf(checkPositiveInt), [3, 3]),
  stride: withDefault(pairOf(checkPositiveInt), [1, 1]),
  padding: withDefault(checkPadding, 'symmetric'),
  useBias: withDefault(checkBoolean, false),
  zeroInitGamma: withDefault(checkBoolean, false),
} satisfies OptionSpec<ConvBnOptions>;

/** Options renamed in 0.x, named by the unknown-option error. */
const CONV_BN_RENAMED = { strides: 'stride' };

/** {@link ConvBnOptions} checked, defaults applied: what the internal builders take. */
export type ConvUnit = Resolved<typeof CONV_BN_SPEC>;

/**
 * A {@link ConvUnit} from checked values: the options every unit shares
 * (`UNIT_SPEC`'s, from the block) and the others at their defaults unless given.
 */
export function convUnit(unit: Resolved<typeof UNIT_SPEC> & Partial<ConvUnit>): ConvUnit {
  return {
    kernelSize: [3, 3],
    stride: [1, 1],
    padding: 'symmetric',
    useBias: false,
    zeroInitGamma: false,
    ...unit,
  };
}

function resolvePadding(padding: Padding, kernel: [number, number]): 'same' | [number, number] {
  if (padding === 'same') return 'same';
  if (padding === 'valid') return [0, 0];
  if (padding === 'symmetric') return [Math.floor(kernel[0] / 2), Math.floor(kernel[1] / 2)];
  return typeof padding === 'number' ? [padding, padding] : padding;
}

/**
 * Builds conv + BN from checked options (no option is checked again); `where`
 * names the unit in the input-size error.
 */
export function buildConvBn(where: string, x: SymbolicTensor, unit: ConvUnit): SymbolicTensor {
  const { name, filters, kernelSize: kernel, stride: strides, useBias, zeroInitGamma, seed } = unit;
  const padding = resolvePadding(unit.padding, kernel);
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
  const symmetricRequested = unit.padding === 'symmetric';
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
      kernelInitializer:
        unit.kernelInitializer ??
        kaimingNormalFanOut(seed === undefined ? undefined : layerSeed(seed, `${name}_conv`)),
      name: `${name}_conv`,
    })
    .apply(y) as SymbolicTensor;
  return new BatchNormalization({
    axis: -1,
    momentum: unit.bnMomentum,
    epsilon: unit.bnEpsilon,
    gammaInitializer: zeroInitGamma ? 'zeros' : 'ones',
    name: `${name}_bn`,
  }).apply(y) as SymbolicTensor;
}

/**
 * A convolution followed by batch normalisation: the unit the ResNet paper
 * places everywhere ("BN right after each convolution", §3.4). The layers are
 * `<name>_conv` and `<name>_bn` (plus `<name>_pad` when padding is explicit).
 *
 * @param x - The input, a rank-4 NHWC `SymbolicTensor` with a known channel count.
 * @param opts - Name, filters, kernel, stride, padding and BN settings; see {@link ConvBnOptions}.
 * @returns The BN layer's output, `[batch, height', width', filters]`.
 * @throws Error, before any layer is created, for an unknown option, an option
 *   outside its allowed values (naming the option, the value and what is
 *   allowed), an input that is not a rank-4 `SymbolicTensor` with known
 *   channels, or an input smaller than the kernel after padding.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [32, 32, 3] });
 * const y = convBn(x, { name: 'stem', filters: 16, kernelSize: 3 });
 * ```
 * @see [He et al., arXiv 1512.03385, §3.4 (BN after each convolution)](https://arxiv.org/abs/1512.03385)
 * @see [Ioffe & Szegedy, arXiv 1502.03167, §3.2 (BN for convolutional layers)](https://arxiv.org/abs/1502.03167)
 */
export function convBn(x: SymbolicTensor, opts: ConvBnOptions): SymbolicTensor {
  return buildConvBn('convBn', x, checkConvBn('convBn', x, opts));
}

function checkConvBn(where: string, x: SymbolicTensor, opts: ConvBnOptions): ConvUnit {
  const unit = checkOptions(where, opts, CONV_BN_SPEC, { renamed: CONV_BN_RENAMED });
  nhwcChannels(where, x);
  return unit;
}

/**
 * A convolution, batch normalisation and ReLU: the layers `<name>_conv`,
 * `<name>_bn`, `<name>_relu` (plus `<name>_pad` when padding is explicit).
 *
 * @param x - The input, a rank-4 NHWC `SymbolicTensor` with a known channel count.
 * @param opts - Name, filters, kernel, stride, padding and BN settings; see {@link ConvBnOptions}.
 * @returns The ReLU layer's output, `[batch, height', width', filters]`.
 * @throws Error, before any layer is created, for the same reasons as {@link convBn}.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [224, 224, 3] });
 * // ResNet's stem: 7×7, 64 filters, stride 2, padding 3 on every side.
 * const y = convBnRelu(x, { name: 'conv1', filters: 64, kernelSize: 7, stride: 2 });
 * ```
 * @see [He et al., arXiv 1512.03385, §3.4 (BN after each convolution, before the activation) and Table 1 (conv1)](https://arxiv.org/abs/1512.03385)
 */
export function convBnRelu(x: SymbolicTensor, opts: ConvBnOptions): SymbolicTensor {
  const unit = checkConvBn('convBnRelu', x, opts);
  return relu(buildConvBn('convBnRelu', x, unit), `${unit.name}_relu`);
}

/**
 * A ReLU activation layer named `name`, applied to `x`.
 *
 * @param x - Any `SymbolicTensor`.
 * @param name - The layer's name, unique within the model.
 * @returns The activation's output, shaped like `x`.
 * @throws Error from tfjs when `x` is not a `SymbolicTensor`.
 *
 * @example
 * ```ts
 * const y = relu(tf.layers.add({ name: 'block1_add' }).apply([a, b]) as tf.SymbolicTensor, 'block1_out');
 * ```
 */
export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return layers.activation({ activation: 'relu', name }).apply(x) as SymbolicTensor;
}

/**
 * Checks the BN options of a whole network up front and returns them with
 * defaults applied (momentum 0.9 in the Keras convention, epsilon 1e-5). The
 * model factories call it before building any layer.
 *
 * @param where - The caller's name for error messages, e.g. `resnet50`.
 * @param opts - The options holding `bnMomentum` and `bnEpsilon` (other keys are ignored).
 * @returns Both settings, defaults filled in.
 * @throws Error when `bnMomentum` is not in [0, 1) or `bnEpsilon` is not a finite number above 0.
 *
 * @example
 * ```ts
 * checkBatchNormOptions('myNet', {}); // { bnMomentum: 0.9, bnEpsilon: 1e-5 }
 * ```
 */
export function checkBatchNormOptions(
  where: string,
  opts: BatchNormOptions,
): Required<BatchNormOptions> {
  return resolveOptions(where, opts, BATCH_NORM_SPEC);
}
