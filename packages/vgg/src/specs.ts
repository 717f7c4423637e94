/**
 * One entry of a VGG configuration: a 3×3 convolution with that many filters,
 * a 1×1 convolution (configuration C), a 2×2 max pool (`'M'`), or local
 * response normalisation (`'LRN'`, configuration A-LRN).
 */
export type VggLayer = number | { filters: number; kernelSize: 1 } | 'M' | 'LRN';

/** A 1×1 convolution entry of configuration C. */
const CONV1X1 = (filters: number) => ({ filters, kernelSize: 1 }) as const;

/**
 * The six configurations of the VGG paper's Table 1, as data: every
 * convolution is stride 1 with "same" padding, followed by ReLU; five 2×2 max
 * pools halve the map.
 *
 * @see Simonyan & Zisserman, arXiv 1409.1556, Table 1.
 */
// prettier-ignore
export const VGG_CONFIGS = {
  A:       [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  'A-LRN': [64, 'LRN', 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B:       [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  C:       [64, 64, 'M', 128, 128, 'M', 256, 256, CONV1X1(256), 'M', 512, 512, CONV1X1(512), 'M', 512, 512, CONV1X1(512), 'M'],
  D:       [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E:       [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly VggLayer[]>;

/** Names of the VGG configurations: `'A'`, `'A-LRN'`, `'B'`, `'C'`, `'D'`, `'E'`. */
export type VggConfig = keyof typeof VGG_CONFIGS;

/** Downsampling of every VGG: five 2×2 max pools. */
export const VGG_TOTAL_STRIDE = 32;

/** Width of the two hidden fully connected layers. */
export const VGG_FC_UNITS = 4096;
