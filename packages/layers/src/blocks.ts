import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import {
  checkBoolean,
  checkOptions,
  checkPositiveInt,
  oneOf,
  optional,
  withDefault,
  type OptionSpec,
  type Resolved,
} from '@convnets/validate';
import {
  buildConvBn,
  convUnit,
  relu,
  type BatchNormOptions,
  type ConvUnit,
  type KernelInitializer,
} from './conv';
import { nhwcChannels } from './input';
import { SHORTCUT_SPEC, buildShortcut, checkShortcut, type ShortcutOption } from './shortcut';
import type { ChannelPadding } from './custom/zero-pad-channels';

/** Options shared by {@link basicBlock} and {@link bottleneckBlock}. */
export interface BlockOptions extends BatchNormOptions {
  /**
   * Prefix of every layer name, e.g. `conv2_block1`. The branch's units are
   * `<name>_1`, `<name>_2` (and `<name>_3`), the shortcut is `<name>_0`, the
   * sum `<name>_add` and the final ReLU `<name>_out`, as in Keras' ResNets.
   */
  name: string;
  /**
   * Width of the block, a positive integer: its output channels for a basic
   * block, the channels of the 1×1 and 3×3 convolutions for a bottleneck block
   * (which outputs `4 × filters`).
   */
  filters: number;
  /**
   * Spatial stride, 1 or 2 (2 at the first block of conv3_x, conv4_x, conv5_x).
   *
   * @defaultValue `1`
   */
  stride?: number;
  /**
   * Shortcut option where the shape changes; see {@link ShortcutOption}.
   *
   * @defaultValue `'B'` (projection where the shape changes, identity elsewhere)
   */
  shortcut?: ShortcutOption;
  /**
   * Option A only: where the shortcut's zero channels go, `'end'` or `'both'`
   * (PyTorch CIFAR ResNets' layout); see {@link ChannelPadding}.
   * Given with option B or C, an error.
   *
   * @defaultValue `'end'`
   * @example
   * ```ts
   * basicBlock(x, { name: 'conv3_block1', filters: 32, stride: 2, shortcut: 'A', channelPadding: 'both' });
   * ```
   */
  channelPadding?: ChannelPadding;
  /**
   * Initialise the last BN scale of the residual branch to zero, so that the
   * block starts as an identity (torchvision's `zero_init_residual`).
   *
   * @defaultValue `false`
   * @see [Goyal et al., arXiv 1706.02677, §5.1](https://arxiv.org/abs/1706.02677)
   */
  zeroInitResidual?: boolean;
  /**
   * Build the same block without its shortcut: the paper's "plain" networks (§4.1).
   *
   * @defaultValue `false`
   */
  plain?: boolean;
  /**
   * Convolution kernel initializer (of the shortcut's projection too).
   *
   * @defaultValue {@link kaimingNormalFanOut}`()`
   */
  kernelInitializer?: KernelInitializer;
  /** Seed of the block's random kernels (shortcut included); as {@link convBn} uses it. */
  seed?: number;
}

/** Options of {@link bottleneckBlock}. */
export interface BottleneckOptions extends BlockOptions {
  /**
   * Which convolution carries the stride of a downsampling block:
   * `'3x3'` as torchvision does ("ResNet v1.5"), or `'1x1'` as in the
   * paper and the original Caffe models. `'1x1'` costs fewer multiply-adds;
   * `'3x3'` is slightly more accurate.
   *
   * @defaultValue `'3x3'`
   */
  strideIn?: '3x3' | '1x1';
  /**
   * Channels of the 1×1 and 3×3 convolutions, a positive integer; the block
   * still outputs `4 × filters`. Wide ResNets double it (torchvision's
   * `width_per_group=128`).
   *
   * @defaultValue `filters`
   * @see [Zagoruyko & Komodakis, arXiv 1605.07146](https://arxiv.org/abs/1605.07146)
   */
  width?: number;
}

/** The one declaration of {@link BlockOptions}: the shortcut's options and these. */
export const BLOCK_SPEC = {
  ...SHORTCUT_SPEC,
  zeroInitResidual: withDefault(checkBoolean, false),
  plain: withDefault(checkBoolean, false),
} satisfies OptionSpec<BlockOptions>;

/** The one declaration of {@link BottleneckOptions}: {@link BLOCK_SPEC} and these. */
export const BOTTLENECK_SPEC = {
  ...BLOCK_SPEC,
  strideIn: withDefault(oneOf(['3x3', '1x1'] as const), '3x3'),
  width: optional(checkPositiveInt),
} satisfies OptionSpec<BottleneckOptions>;

/** {@link BottleneckOptions} checked, defaults applied: what the internal builders take. */
export type ResolvedBlock = Resolved<typeof BOTTLENECK_SPEC>;

/** A basic block's options checked: the bottleneck-only ones at their defaults. */
function asBlock(block: Resolved<typeof BLOCK_SPEC>): ResolvedBlock {
  return { ...block, strideIn: '3x3', width: undefined };
}

/**
 * What both block kinds start with: the output channel count, option A's
 * channel check (before any layer exists), and a maker of the branch's units
 * with the block's shared unit options.
 */
function openBlock(block: ResolvedBlock, inChannels: number, expansion: number) {
  const outChannels = block.filters * expansion;
  if (!block.plain) {
    checkShortcut(`${block.name}_0`, block, inChannels, outChannels);
  }
  const { kernelInitializer, seed, bnMomentum, bnEpsilon } = block;
  const unit = (over: Pick<ConvUnit, 'name' | 'filters'> & Partial<ConvUnit>) =>
    convUnit({ kernelInitializer, seed, bnMomentum, bnEpsilon, ...over });
  return { outChannels, unit };
}

/** Adds the shortcut (unless plain) and applies the block's closing ReLU. */
function closeBlock(
  x: SymbolicTensor,
  inChannels: number,
  branch: SymbolicTensor,
  outChannels: number,
  block: ResolvedBlock,
): SymbolicTensor {
  if (block.plain) return relu(branch, `${block.name}_out`);
  const skip = buildShortcut(x, inChannels, {
    ...block,
    name: `${block.name}_0`,
    filters: outChannels,
  });
  const sum = layers.add({ name: `${block.name}_add` }).apply([skip, branch]) as SymbolicTensor;
  return relu(sum, `${block.name}_out`);
}

/** Builds a basic block from checked options; `inChannels` is `x`'s channel count. */
export function buildBasicBlock(
  x: SymbolicTensor,
  inChannels: number,
  block: ResolvedBlock,
): SymbolicTensor {
  const { outChannels, unit } = openBlock(block, inChannels, basicBlock.expansion);
  let y = buildConvBn(
    'basicBlock',
    x,
    unit({ name: `${block.name}_1`, filters: block.filters, stride: [block.stride, block.stride] }),
  );
  y = relu(y, `${block.name}_1_relu`);
  y = buildConvBn(
    'basicBlock',
    y,
    unit({
      name: `${block.name}_2`,
      filters: block.filters,
      zeroInitGamma: block.zeroInitResidual,
    }),
  );
  return closeBlock(x, inChannels, y, outChannels, block);
}

/** Builds a bottleneck block from checked options; `inChannels` is `x`'s channel count. */
export function buildBottleneckBlock(
  x: SymbolicTensor,
  inChannels: number,
  block: ResolvedBlock,
): SymbolicTensor {
  const { outChannels, unit } = openBlock(block, inChannels, bottleneckBlock.expansion);
  const width = block.width ?? block.filters;
  const s1 = block.strideIn === '1x1' ? block.stride : 1;
  const s3 = block.strideIn === '3x3' ? block.stride : 1;
  let y = buildConvBn(
    'bottleneckBlock',
    x,
    unit({ name: `${block.name}_1`, filters: width, kernelSize: [1, 1], stride: [s1, s1] }),
  );
  y = relu(y, `${block.name}_1_relu`);
  y = buildConvBn(
    'bottleneckBlock',
    y,
    unit({ name: `${block.name}_2`, filters: width, stride: [s3, s3] }),
  );
  y = relu(y, `${block.name}_2_relu`);
  y = buildConvBn(
    'bottleneckBlock',
    y,
    unit({
      name: `${block.name}_3`,
      filters: outChannels,
      kernelSize: [1, 1],
      zeroInitGamma: block.zeroInitResidual,
    }),
  );
  return closeBlock(x, inChannels, y, outChannels, block);
}

/**
 * The two-layer residual block of ResNet-18/34 and the CIFAR ResNets
 * (3×3 conv-BN-ReLU, 3×3 conv-BN, add the shortcut, ReLU): `y = F(x) + x`
 * (Eq. 1), or `F(x) + W_s x` (Eq. 2) where a projection shortcut matches the
 * shapes. {@link basicBlock.expansion} is 1: it outputs `filters` channels.
 *
 * @param x - The input, a rank-4 NHWC `SymbolicTensor` with a known channel count.
 * @param opts - Name, width, stride, shortcut option and more; see {@link BlockOptions}.
 * @returns The block's output (after the closing ReLU `<name>_out`),
 *   `[batch, height / stride, width / stride, filters]`.
 * @throws Error, before any layer is created, for an unknown option, an option
 *   outside its allowed values (a stride other than 1 or 2, a shortcut other
 *   than A/B/C, …), an input that is not a rank-4 `SymbolicTensor` with known
 *   channels, option A asked to reduce the channel count, or `channelPadding`
 *   with option B or C.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [56, 56, 64] });
 * const y = basicBlock(x, { name: 'conv3_block1', filters: 128, stride: 2 });
 * ```
 * @see [He et al., arXiv 1512.03385, Eq. 1–2, Figure 2 and Figure 5 (left)](https://arxiv.org/abs/1512.03385)
 */
export function basicBlock(x: SymbolicTensor, opts: BlockOptions): SymbolicTensor {
  const block = checkOptions('basicBlock', opts, BLOCK_SPEC);
  return buildBasicBlock(x, nhwcChannels('basicBlock', x), asBlock(block));
}
/** Output channels per unit of `filters`: a basic block outputs `filters` channels. */
basicBlock.expansion = 1 as const;

/**
 * The three-layer bottleneck block of ResNet-50/101/152
 * (1×1 reduce, 3×3, 1×1 expand to `4 × filters`, add the shortcut, ReLU).
 * {@link bottleneckBlock.expansion} is 4. The paper's "deeper bottleneck
 * architectures" of §4.1.
 *
 * @param x - The input, a rank-4 NHWC `SymbolicTensor` with a known channel count.
 * @param opts - Name, width, stride, shortcut option, stride placement and more; see {@link BottleneckOptions}.
 * @returns The block's output (after the closing ReLU `<name>_out`),
 *   `[batch, height / stride, width / stride, 4 × filters]`.
 * @throws Error, before any layer is created, for the same reasons as
 *   {@link basicBlock}, or a `strideIn` other than `'3x3'` and `'1x1'`.
 *
 * @example
 * ```ts
 * const x = tf.input({ shape: [56, 56, 256] });
 * const y = bottleneckBlock(x, { name: 'conv3_block1', filters: 128, stride: 2, strideIn: '1x1' });
 * // y has 512 channels on a 28×28 map.
 * ```
 * @see [He et al., arXiv 1512.03385, §4.1 "Deeper Bottleneck Architectures", Figure 5 (right) and Table 1](https://arxiv.org/abs/1512.03385)
 */
export function bottleneckBlock(x: SymbolicTensor, opts: BottleneckOptions): SymbolicTensor {
  const block = checkOptions('bottleneckBlock', opts, BOTTLENECK_SPEC);
  return buildBottleneckBlock(x, nhwcChannels('bottleneckBlock', x), block);
}
/** Output channels per unit of `filters`: a bottleneck block outputs `4 × filters` channels. */
bottleneckBlock.expansion = 4 as const;
