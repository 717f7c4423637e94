import { checkOneOf, checkPositiveInt } from '@convnets/validate';
import { avgPool, pad, tidy, type Tensor, type Tensor4D } from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';
import { registerLayerOnce } from './register';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/**
 * Where option A puts its zero channels:
 * - `'end'`: after the input's channels (`[x, 0, …, 0]`), as the paper's
 *   description reads and as this package has always done;
 * - `'both'`: half before and half after (`[0, …, 0, x, 0, …, 0]`; with an odd
 *   count the extra one goes after), as most public PyTorch CIFAR ResNets do:
 *   `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`.
 *
 * The two compute different functions: weights trained with one give wrong
 * results with the other.
 */
export type ChannelPadding = 'end' | 'both';

/** Allowed values of {@link ChannelPadding}: `['end', 'both']`. */
export const CHANNEL_PADDINGS: readonly ChannelPadding[] = ['end', 'both'];

/** Configuration of {@link ZeroPadChannels}: tfjs' layer arguments (`name`, …) plus these. */
export interface ZeroPadChannelsArgs extends LayerArgs {
  /** Channel count of the output, a positive integer; must not be smaller than the input's. */
  outChannels: number;
  /**
   * Spatial subsampling factor, a positive integer: keep every `stride`-th row
   * and column, starting at the first.
   *
   * @defaultValue `1`
   */
  stride?: number;
  /**
   * Where the zero channels go; see {@link ChannelPadding}.
   *
   * @defaultValue `'end'`
   * @example
   * ```ts
   * // 16 → 32 channels as PyTorch CIFAR ResNets pad: 8 zero channels, the input's 16, 8 zero channels.
   * new ZeroPadChannels({ outChannels: 32, stride: 2, channelPadding: 'both' });
   * ```
   */
  channelPadding?: ChannelPadding;
}

/**
 * The ResNet paper's option-A shortcut as a parameter-free layer: subsample
 * the input spatially by `stride` (keeping rows and columns 0, s, 2s, …, like a
 * 1×1 convolution with stride s) and add zero-valued channels up to
 * `outChannels`: after the input's (`channelPadding: 'end'`, the default) or
 * on both sides (`'both'`, PyTorch CIFAR ResNets' layout).
 *
 * tfjs has no built-in layer for this, so it is one of the package's two custom
 * layers. Its class name, `ZeroPadChannels`, is stored in saved models and will
 * not change.
 *
 * Most users get it through {@link shortcut} or a block with `shortcut: 'A'`.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [32, 32, 16] });
 * // [batch, 16, 16, 32]: rows and columns 0, 2, 4, … and 16 zero channels after the input's 16.
 * const y = new ZeroPadChannels({ outChannels: 32, stride: 2, name: 'conv3_block1_0_pad' }).apply(x);
 * ```
 * @see [He et al., arXiv 1512.03385, §3.3 "Residual Network", option (A): identity with extra zero entries padded; §4.2 (the CIFAR nets use it)](https://arxiv.org/abs/1512.03385)
 */
export class ZeroPadChannels extends layers.Layer {
  /** The name under which saved models refer to this layer. Never renamed. */
  static className = 'ZeroPadChannels';
  /** Channel count of the output. */
  readonly outChannels: number;
  /** Spatial subsampling factor. */
  readonly stride: number;
  /** Where the zero channels go. */
  readonly channelPadding: ChannelPadding;

  /**
   * Creates the layer; apply it to a rank-4 NHWC input with at most `outChannels` channels.
   *
   * @param args - Output channels, stride, channel padding and tfjs layer arguments; see {@link ZeroPadChannelsArgs}.
   * @throws Error when `outChannels` or `stride` is not a positive integer, or
   *   `channelPadding` is neither `'end'` nor `'both'`.
   */
  constructor(args: ZeroPadChannelsArgs) {
    super(args);
    this.outChannels = checkPositiveInt('ZeroPadChannels', 'outChannels', args.outChannels);
    this.stride = checkPositiveInt('ZeroPadChannels', 'stride', args.stride ?? 1);
    this.channelPadding = checkOneOf(
      'ZeroPadChannels',
      'channelPadding',
      args.channelPadding ?? 'end',
      CHANNEL_PADDINGS,
    );
  }

  /**
   * The output shape: `[batch, ceil(height / stride), ceil(width / stride), outChannels]`.
   *
   * @param inputShape - The input's shape, `[batch, height, width, channels]`.
   * @returns The output's shape.
   * @throws Error when the input is not rank 4 or has more than `outChannels` channels.
   */
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 4) {
      throw new Error(
        `ZeroPadChannels: expected a rank-4 NHWC input; received shape [${shape.join(', ')}].`,
      );
    }
    const [batch, height, width, channels] = shape;
    if (channels != null && channels > this.outChannels) {
      throw new Error(
        `ZeroPadChannels "${this.name}": option A cannot reduce channels: the input has ${channels}, ` +
          `outChannels is ${this.outChannels}.`,
      );
    }
    const sub = (n: number | null) => (n == null ? null : Math.ceil(n / this.stride));
    return [batch, sub(height), sub(width), this.outChannels];
  }

  /**
   * Subsamples and zero-pads a batch.
   *
   * @param inputs - A rank-4 NHWC tensor (or a one-element array of one).
   * @returns The subsampled, zero-padded tensor.
   * @throws Error when the input is not rank 4 or has more than `outChannels` channels.
   */
  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      this.computeOutputShape(x.shape);
      const s = this.stride;
      // A 1×1 average pool with stride s keeps rows and columns 0, s, 2s, … exactly,
      // and unlike stridedSlice it has a gradient in tfjs.
      const sub = s === 1 ? x : avgPool(x as Tensor4D, 1, s, 'valid');
      const extra = this.outChannels - (x.shape[3] as number);
      const before = this.channelPadding === 'both' ? Math.floor(extra / 2) : 0;
      return extra === 0
        ? sub
        : pad(sub, [
            [0, 0],
            [0, 0],
            [0, 0],
            [before, extra - before],
          ]);
    });
  }

  /**
   * The layer's JSON-safe configuration, saved in `model.json`.
   *
   * @returns tfjs' layer configuration plus `outChannels`, `stride` and, when
   *   it is `'both'`, `channelPadding`: the configuration of an end-padded
   *   layer is what it was before the option existed, so earlier saved models
   *   and checkpoints' architecture hashes still match.
   * @throws Never.
   */
  override getConfig() {
    return {
      ...super.getConfig(),
      outChannels: this.outChannels,
      stride: this.stride,
      ...(this.channelPadding === 'end' ? {} : { channelPadding: this.channelPadding }),
    };
  }
}
registerLayerOnce(ZeroPadChannels);
