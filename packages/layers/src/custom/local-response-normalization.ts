import {
  localResponseNormalization,
  tidy,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';
import { registerLayerOnce } from './register';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** Configuration of {@link LocalResponseNormalization}; defaults are AlexNet's. */
export interface LocalResponseNormalizationArgs extends LayerArgs {
  /** Number of adjacent channels summed over, `n` in AlexNet (odd). Default 5. */
  size?: number;
  /** Scale of the sum of squares, `α`. Default 1e-4. */
  alpha?: number;
  /** Exponent, `β`. Default 0.75. */
  beta?: number;
  /** Additive constant, `k`. Default 2. */
  k?: number;
}

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
 * @see Krizhevsky et al., "ImageNet Classification with Deep Convolutional Neural Networks", §3.3.
 * @see Simonyan & Zisserman, arXiv 1409.1556, §2.2 and Table 1 (A-LRN).
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

  constructor(args: LocalResponseNormalizationArgs = {}) {
    super(args);
    this.size = args.size ?? 5;
    this.alpha = args.alpha ?? 1e-4;
    this.beta = args.beta ?? 0.75;
    this.k = args.k ?? 2;
    if (!Number.isInteger(this.size) || this.size < 1 || this.size % 2 === 0) {
      throw new Error(
        `LocalResponseNormalization: option "size" must be an odd positive integer; received ${String(this.size)}.`,
      );
    }
    for (const [option, value] of [
      ['alpha', this.alpha],
      ['beta', this.beta],
      ['k', this.k],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(
          `LocalResponseNormalization: option "${option}" must be a finite number ≥ 0; received ${String(value)}.`,
        );
      }
    }
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 4) {
      throw new Error(
        `LocalResponseNormalization: expected a rank-4 NHWC input; received shape [${shape.join(', ')}].`,
      );
    }
    return shape;
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as Tensor4D;
      return localResponseNormalization(x, (this.size - 1) / 2, this.k, this.alpha, this.beta);
    });
  }

  override getConfig() {
    return { ...super.getConfig(), size: this.size, alpha: this.alpha, beta: this.beta, k: this.k };
  }
}
registerLayerOnce(LocalResponseNormalization);
