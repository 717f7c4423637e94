import { type SymbolicTensor } from '@tensorflow/tfjs-layers';
import {
  checkName,
  checkOptions,
  checkPositiveInt,
  oneOf,
  type OptionSpec,
} from '@convnets/validate';
import {
  BOTTLENECK_SPEC,
  buildBasicBlock,
  buildBottleneckBlock,
  type BottleneckOptions,
} from './blocks';
import { nhwcChannels } from './input';

/** The residual block kinds a stage can be built from. */
export type BlockKind = 'basic' | 'bottleneck';

/** Options of {@link residualStage}. */
export interface ResidualStageOptions extends Omit<BottleneckOptions, 'name'> {
  /**
   * Name of the stage, e.g. `conv2`; its blocks are `<name>_block1`,
   * `<name>_block2`, … (Keras' naming), so its layers are
   * `conv2_block1_1_conv` and so on.
   */
  name: string;
  /** Block kind: `'basic'` ({@link basicBlock}) or `'bottleneck'` ({@link bottleneckBlock}). */
  block: BlockKind;
  /** Number of blocks in the stage, a positive integer (e.g. 3, 4, 6, 3 for ResNet-50's conv2_x … conv5_x). */
  blocks: number;
  /**
   * Stride of the first block, 1 or 2; the others have stride 1.
   *
   * @defaultValue `1`
   */
  stride?: number;
}

/** The one declaration of {@link ResidualStageOptions}: the blocks' options and these. */
const STAGE_SPEC = {
  ...BOTTLENECK_SPEC,
  name: checkName,
  block: oneOf(['basic', 'bottleneck'] as const),
  blocks: checkPositiveInt,
} satisfies OptionSpec<ResidualStageOptions>;

/**
 * One `convN_x` stage of a ResNet: `blocks` residual blocks, the first of which
 * may downsample (stride 2) and change the channel count. Every other option
 * ({@link BlockOptions}, `strideIn` for bottleneck blocks) is passed to each block.
 *
 * @param x - The stage's input, a rank-4 NHWC `SymbolicTensor` with a known channel count.
 * @param opts - Name, block kind, width, block count, stride and the blocks' options; see {@link ResidualStageOptions}.
 * @returns The last block's output.
 * @throws Error, before any layer is created, for an unknown option, a block
 *   kind other than `'basic'` and `'bottleneck'`, a block count that is not a
 *   positive integer, `strideIn` with basic blocks, or any of the blocks'
 *   errors ({@link basicBlock}, {@link bottleneckBlock}).
 *
 * @example
 * ```ts
 * // ResNet-50's conv3_x: four bottleneck blocks of width 128 on 28×28 maps.
 * const y = residualStage(x, { name: 'conv3', block: 'bottleneck', filters: 128, blocks: 4, stride: 2 });
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1 (conv2_x … conv5_x)](https://arxiv.org/abs/1512.03385)
 */
export function residualStage(x: SymbolicTensor, opts: ResidualStageOptions): SymbolicTensor {
  const where = 'residualStage';
  const stage = checkOptions(where, opts, STAGE_SPEC);
  for (const option of ['strideIn', 'width'] as const) {
    if (stage.block === 'basic' && opts[option] !== undefined) {
      throw new Error(
        `residualStage: option "${option}" applies to bottleneck blocks only; received ${JSON.stringify(opts[option])} with block "basic".`,
      );
    }
  }
  const { block: kind, blocks, name, ...common } = stage;
  const build = kind === 'basic' ? buildBasicBlock : buildBottleneckBlock;
  let y = x;
  let channels = nhwcChannels(where, x);
  for (let i = 1; i <= blocks; i++) {
    const block = { ...common, name: `${name}_block${i}`, stride: i === 1 ? common.stride : 1 };
    y = build(y, channels, block);
    channels = y.shape[3] as number;
  }
  return y;
}
