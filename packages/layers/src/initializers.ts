import { initializers } from '@tensorflow/tfjs-layers';

/**
 * The standard deviation of a unit normal truncated at ±2σ, which is what
 * tfjs draws for `distribution: 'normal'`. Dividing by its square restores the
 * intended variance, as Keras does for its `truncated_normal`.
 */
const TRUNCATED_NORMAL_STD = 0.87962566103423978;

/**
 * He/Kaiming initialisation in fan-out mode, as torchvision initialises every
 * ResNet and VGG convolution (`kaiming_normal_(mode="fan_out", nonlinearity="relu")`):
 * weights with variance `2 / (kernelHeight × kernelWidth × outChannels)`.
 *
 * tfjs only offers a truncated normal, so the scale is corrected to give the
 * same variance as PyTorch's untruncated normal. The result is a built-in
 * `VarianceScaling` initializer, so models that use it save and reload
 * anywhere. Every block of this package uses it unless given another
 * `kernelInitializer`.
 *
 * @param seed - Seed of the random draw. Default: none, so every model draws different weights.
 * @returns A tfjs `VarianceScaling` initializer (scale `2 / 0.8796²`, mode `fanOut`, normal distribution).
 * @throws Never: every argument is accepted (tfjs checks the seed when it draws).
 *
 * @example
 * ```ts
 * const conv = tf.layers.conv2d({ filters: 64, kernelSize: 3, kernelInitializer: kaimingNormalFanOut(42) });
 * ```
 * @see [He et al., "Delving Deep into Rectifiers", arXiv 1502.01852, §2.2](https://arxiv.org/abs/1502.01852)
 */
export function kaimingNormalFanOut(seed?: number) {
  return initializers.varianceScaling({
    scale: 2 / TRUNCATED_NORMAL_STD ** 2,
    mode: 'fanOut',
    distribution: 'normal',
    seed,
  });
}
