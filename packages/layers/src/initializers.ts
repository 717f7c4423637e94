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
export function kaimingNormalFanOut(
  seed?: number,
): ReturnType<typeof initializers.varianceScaling> {
  return initializers.varianceScaling({
    scale: 2 / TRUNCATED_NORMAL_STD ** 2,
    mode: 'fanOut',
    distribution: 'normal',
    seed,
  });
}

/**
 * The seed of one layer's random initial weights in a model built with
 * `seed`: a hash of the seed and the layer's name, so a layer's draw depends
 * on neither the order layers are built in nor on other layers, and the same
 * `seed` gives bitwise the same weights.
 *
 * @param seed - The model's seed, a non-negative integer.
 * @param layerName - The layer's name, e.g. `conv2_block1_1_conv`.
 * @returns A positive 32-bit integer (never 0, which tfjs reads as "no seed").
 * @throws Never: the seed is checked where a factory receives it.
 *
 * @example
 * ```ts
 * const conv = tf.layers.conv2d({ filters: 64, kernelSize: 3, name: 'stem', kernelInitializer: kaimingNormalFanOut(layerSeed(7, 'stem')) });
 * ```
 */
export function layerSeed(seed: number, layerName: string): number {
  // FNV-1a over "seed/name".
  let hash = 0x811c9dc5;
  for (const ch of `${seed}/${layerName}`) {
    hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash === 0 ? 1 : hash;
}
