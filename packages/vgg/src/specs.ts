/**
 * One entry of a VGG configuration: a 3×3 convolution with that many filters,
 * a 1×1 convolution (configuration C), a 2×2 max pool (`'M'`), or local
 * response normalisation (`'LRN'`, configuration A-LRN).
 *
 * @see [Simonyan & Zisserman, arXiv 1409.1556, §2.1 and Table 1](https://arxiv.org/abs/1409.1556)
 */
export type VggLayer = number | { filters: number; kernelSize: 1 } | 'M' | 'LRN';

/** A 1×1 convolution entry of configuration C. */
const CONV1X1 = (filters: number) => ({ filters, kernelSize: 1 }) as const;

/**
 * The six configurations of the VGG paper's Table 1, as data: every
 * convolution is stride 1 with "same" padding, followed by ReLU; five 2×2 max
 * pools halve the map. {@link buildVgg} turns one into a model.
 *
 * @example
 * ```ts
 * VGG_CONFIGS.D.filter((l) => typeof l === 'number').length; // 13 convolutions (+ 3 FC = 16 weight layers)
 * ```
 * @see [Simonyan & Zisserman, arXiv 1409.1556, §2.2 and Table 1](https://arxiv.org/abs/1409.1556)
 */
// prettier-ignore
export const VGG_CONFIGS = {
  /** A, 11 weight layers: {@link vgg11}. */
  A:       [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  /** A-LRN, A with local response normalisation after the first convolution: {@link vgg11Lrn}. */
  'A-LRN': [64, 'LRN', 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  /** B, 13 weight layers: {@link vgg13}. */
  B:       [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  /** C, 16 weight layers, three of them 1×1 convolutions: {@link vgg16C}. */
  C:       [64, 64, 'M', 128, 128, 'M', 256, 256, CONV1X1(256), 'M', 512, 512, CONV1X1(512), 'M', 512, 512, CONV1X1(512), 'M'],
  /** D, 16 weight layers: {@link vgg16}. */
  D:       [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  /** E, 19 weight layers: {@link vgg19}. */
  E:       [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly VggLayer[]>;

/** Names of the VGG configurations: `'A'`, `'A-LRN'`, `'B'`, `'C'`, `'D'`, `'E'`. */
export type VggConfig = keyof typeof VGG_CONFIGS;

/** Downsampling of every VGG: five 2×2 max pools, so inputs must be at least 32×32. */
export const VGG_TOTAL_STRIDE = 32;

/**
 * Width of the two hidden fully connected layers (FC-4096).
 *
 * @see [Simonyan & Zisserman, arXiv 1409.1556, §2.1](https://arxiv.org/abs/1409.1556)
 */
export const VGG_FC_UNITS = 4096;
