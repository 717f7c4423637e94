import { checkNonNegativeNumber, numberCheck } from '@convnets/validate';
import {
  localResponseNormalization,
  tidy,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';
import { registerLayerOnce } from './register';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/**
 * Configuration of {@link LocalResponseNormalization}: tfjs' layer arguments
 * (`name`, `trainable`, …) plus the four LRN constants. The defaults are
 * AlexNet's (§3.3), which the VGG paper's A-LRN uses.
 */
export interface LocalResponseNormalizationArgs extends LayerArgs {
  /**
   * Number of adjacent channels summed over, `n` in AlexNet; an odd positive integer.
   *
   * @defaultValue `5`
   */
  size?: number;
  /**
   * Scale of the sum of squares, `α`; a finite number ≥ 0.
   *
   * @defaultValue `1e-4`
   */
  alpha?: number;
  /**
   * Exponent, `β`; a finite number ≥ 0.
   *
   * @defaultValue `0.75`
   */
  beta?: number;
  /**
   * Additive constant, `k`; a finite number ≥ 0.
   *
   * @defaultValue `2`
   */
  k?: number;
}

const checkOddPositiveInt = numberCheck(
  (v) => Number.isInteger(v) && v >= 1 && v % 2 === 1,
  'an odd positive integer',
);

/**
 * Local response normalisation across channels, as in AlexNet and the VGG
 * paper's configuration A-LRN:
 * `b[c] = a[c] / (k + α · Σ a[c']²)^β`, the sum running over the `size`
 * channels centred on `c`.
 *
 * α multiplies the plain sum, as in AlexNet and TensorFlow. PyTorch's
 * `LocalResponseNorm` and Caffe divide α by `size`; to reproduce one of them,
 * pass `alpha / size`.
 *
 * tfjs has an LRN op but no LRN layer, so this is one of the package's two
 * custom layers; its class name, `LocalResponseNormalization`, is stored in
 * saved models and will not change.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [224, 224, 64] });
 * const y = new LocalResponseNormalization({ name: 'block1_lrn' }).apply(x) as tf.SymbolicTensor;
 * // PyTorch's nn.LocalResponseNorm(5, alpha=1e-4) divides α by the window size:
 * const torchLike = new LocalResponseNormalization({ size: 5, alpha: 1e-4 / 5, k: 1 });
 * ```
 * @see [Krizhevsky et al., "ImageNet Classification with Deep Convolutional Neural Networks" (NeurIPS 2012), §3.3](https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html)
 * @see [Simonyan & Zisserman, arXiv 1409.1556, §2.1 (LRN as in Krizhevsky et al.), Table 1 (A-LRN) and §4.1 (LRN does not help)](https://arxiv.org/abs/1409.1556)
 */
export class LocalResponseNormalization extends layers.Layer {
  /** The name under which saved models refer to this layer. Never renamed. */
  static className = 'LocalResponseNormalization';
  /** Channels in the window. */
  readonly size: number;
  /** Scale of the sum of squares. */
  readonly alpha: number;
  /** Exponent. */
  readonly beta: number;
  /** Additive constant. */
  readonly k: number;

  /**
   * Creates the layer; apply it to a rank-4 NHWC input.
   *
   * @param args - The LRN constants and tfjs layer arguments; see {@link LocalResponseNormalizationArgs}.
   * @throws Error when `size` is not an odd positive integer, or `alpha`, `beta`
   *   or `k` is not a finite number ≥ 0.
   */
  constructor(args: LocalResponseNormalizationArgs = {}) {
    super(args);
    const where = 'LocalResponseNormalization';
    this.size = checkOddPositiveInt(where, 'size', args.size ?? 5);
    this.alpha = checkNonNegativeNumber(where, 'alpha', args.alpha ?? 1e-4);
    this.beta = checkNonNegativeNumber(where, 'beta', args.beta ?? 0.75);
    this.k = checkNonNegativeNumber(where, 'k', args.k ?? 2);
  }

  /**
   * The output shape, which is the input's.
   *
   * @param inputShape - The input's shape, `[batch, height, width, channels]`.
   * @returns The same shape.
   * @throws Error when the input is not rank 4.
   */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 4) {
      throw new Error(
        `LocalResponseNormalization: expected a rank-4 NHWC input; received shape [${shape.join(', ')}].`,
      );
    }
    return shape;
  }

  /**
   * Normalises a batch (tfjs' `localResponseNormalization` op with depth radius `(size − 1) / 2`).
   *
   * @param inputs - A rank-4 NHWC tensor (or a one-element array of one).
   * @returns The normalised tensor, shaped like the input.
   * @throws Error from tfjs when the input is not rank 4.
   */
  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
      return localResponseNormalization(x, (this.size - 1) / 2, this.k, this.alpha, this.beta);
    });
  }

  /**
   * The layer's JSON-safe configuration, saved in `model.json`.
   *
   * @returns tfjs' layer configuration plus `size`, `alpha`, `beta` and `k`.
   * @throws Never.
   */
  override getConfig() {
    return { ...super.getConfig(), size: this.size, alpha: this.alpha, beta: this.beta, k: this.k };
  }
}
registerLayerOnce(LocalResponseNormalization);
