import {
  withWeights,
  convBnRelu,
  residualStage,
  type BatchNormOptions,
  type ChannelPadding,
  type ClassifierOptions,
  type ShortcutOption,
} from '@convnets/layers';
import { oneOf, withDefault, type OptionSpec } from '@convnets/validate';
import {
  input,
  layers,
  model,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import { RESIDUAL_SPEC, checkResidualOptions, residualTop } from './common';
import {
  RESNET_SPECS,
  RESNET_TOTAL_STRIDE,
  STAGE_NAMES,
  STAGE_WIDTHS,
  type ResNetName,
  type ResNetSpec,
} from './specs';

/**
 * Options of the ImageNet ResNet factories ({@link resnet50} and the others):
 * the shared {@link "@convnets/layers"!ClassifierOptions | ClassifierOptions}
 * (input shape, top, classes, `seed`, `skipInit`, …), the
 * {@link "@convnets/layers"!BatchNormOptions | BatchNormOptions}, and these.
 * Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 *
 * Every factory returns an uncompiled `tf.LayersModel` named after its
 * registry name ({@link RESNET_MODELS}) unless `name` is given, and throws,
 * before any layer is created, for an unknown option, an option outside its
 * allowed values (naming it and what is allowed), or an input smaller than the
 * total stride (32). Parameter counts and multiply-adds of every factory are
 * in the model zoo guide, computed from the built models.
 *
 * @example
 * ```ts
 * const net = resnet50({ skipInit: true });
 * await loadWeights(net, 'resnet50.safetensors', { from: 'torchvision' });
 * const logits = resnet18({ classes: 10, inputShape: [64, 64, 3], classifierActivation: null, seed: 1 });
 * const paper = resnet101({ strideIn: '1x1', shortcut: 'A' }); // the paper's stride placement and option A
 * const features = resnet152({ includeTop: false, pooling: 'avg' }); // [batch, 2048]
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export interface ResNetOptions extends ClassifierOptions, BatchNormOptions {
  /**
   * Shortcut option where the shape changes (the paper's A, B or C; see
   * {@link "@convnets/layers"!ShortcutOption | ShortcutOption}). Ignored by the plain nets. torchvision's weights
   * need `'B'`.
   *
   * @defaultValue `'B'` (projection shortcuts, Eq. 2, only where the shape changes)
   */
  shortcut?: ShortcutOption;
  /**
   * Where option A's zero channels go, `'end'` or `'both'`; see
   * {@link "@convnets/layers"!ChannelPadding | ChannelPadding}. Only with
   * `shortcut: 'A'` (an error otherwise).
   *
   * @defaultValue `'end'`
   * @example
   * ```ts
   * const net = resnet18({ shortcut: 'A', channelPadding: 'both' });
   * ```
   */
  channelPadding?: ChannelPadding;
  /**
   * Where a downsampling bottleneck block strides: `'3x3'` (torchvision's
   * default, "ResNet v1.5") or `'1x1'` (the paper). Ignored by ResNet-18/34,
   * whose blocks have no 1×1 convolution.
   *
   * @defaultValue `'3x3'`
   */
  strideIn?: '3x3' | '1x1';
  /**
   * Zero-initialise the last BN gamma of every residual branch, so each block
   * starts as an identity.
   *
   * @defaultValue `false`
   * @see [Goyal et al., arXiv 1706.02677, §5.1](https://arxiv.org/abs/1706.02677)
   */
  zeroInitResidual?: boolean;
}

/** The one declaration of {@link ResNetOptions} beyond the classifier options. */
const RESNET_SPEC = {
  ...RESIDUAL_SPEC,
  strideIn: withDefault(oneOf(['3x3', '1x1'] as const), '3x3'),
} satisfies OptionSpec<Omit<ResNetOptions, keyof ClassifierOptions>>;

/** The stem: a 7×7 stride-2 convolution (with BN and ReLU), then a 3×3 stride-2 max pool. */
function resnetStem(
  x: SymbolicTensor,
  unit: ReturnType<typeof checkResidualOptions>['unit'],
): SymbolicTensor {
  const y = convBnRelu(x, {
    name: 'conv1',
    filters: 64,
    kernelSize: 7,
    stride: 2,
    ...unit,
  });
  // Zero padding before the max pool equals PyTorch's −∞ padding here: the input is post-ReLU, ≥ 0.
  const padded = layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    })
    .apply(y) as SymbolicTensor;
  return layers
    .maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' })
    .apply(padded) as SymbolicTensor;
}

/**
 * Builds any ImageNet ResNet from a spec: the generic builder behind the named
 * factories. Layers are named as in Keras' ResNets (`conv1_conv`,
 * `conv2_block1_1_conv`, …, `avg_pool`, `predictions`).
 *
 * @example
 * ```ts
 * // A ResNet-26 of bottleneck blocks, 2 per stage.
 * const net = buildResNet({ block: 'bottleneck', blocks: [2, 2, 2, 2] }, { name: 'resnet26' });
 * ```
 * @param spec - Block kind and blocks per stage; see {@link RESNET_SPECS}.
 * @param opts - Options, with the model's `name` required; see {@link ResNetOptions}.
 * @param plain - Build the paper's plain counterpart (no shortcuts). Default `false`.
 * @returns An uncompiled `tf.LayersModel`: stem (7×7 conv, max pool), four
 *   stages of widths 64, 128, 256, 512, then the top.
 * @throws Error, before any layer is created, as the factories do (see {@link ResNetOptions}).
 * @see [He et al., arXiv 1512.03385, Table 1 and §3.3](https://arxiv.org/abs/1512.03385)
 */
export function buildResNet(
  spec: ResNetSpec,
  opts: ResNetOptions & { name: string },
  plain = false,
): LayersModel {
  const where = opts.name;
  // Everything is checked before the first layer (and its weights) exists.
  const { own, top, shortcut, unit } = checkResidualOptions(where, opts, RESNET_SPEC, {
    name: opts.name,
    totalStride: RESNET_TOTAL_STRIDE,
    shortcut: 'B',
  });

  const x = input({ shape: top.inputShape, name: 'input' });

  let y = resnetStem(x, unit);
  spec.blocks.forEach((blocks, i) => {
    y = residualStage(y, {
      name: STAGE_NAMES[i],
      block: spec.block,
      filters: STAGE_WIDTHS[i],
      blocks,
      stride: i === 0 ? 1 : 2,
      shortcut,
      channelPadding: own.channelPadding,
      strideIn: spec.block === 'bottleneck' ? own.strideIn : undefined,
      width:
        spec.block === 'bottleneck' && spec.widthPerGroup !== undefined
          ? (STAGE_WIDTHS[i] * spec.widthPerGroup) / 64
          : undefined,
      zeroInitResidual: own.zeroInitResidual,
      plain,
      ...unit,
    });
  });
  y = residualTop(y, top);
  return model({ inputs: x, outputs: y, name: top.name });
}

function named(name: ResNetName, plain: boolean, opts: ResNetOptions): LayersModel {
  const modelName = plain ? name.replace('resnet', 'plain') : name;
  return buildResNet(RESNET_SPECS[name], { ...opts, name: opts.name ?? modelName }, plain);
}

/** ResNet-18, torchvision's `resnet18`; see {@link ResNetOptions}. */
export const resnet18 = withWeights<ResNetOptions>('resnet18', (opts = {}) =>
  named('resnet18', false, opts),
);
/** ResNet-34, torchvision's `resnet34`; see {@link ResNetOptions}. */
export const resnet34 = withWeights<ResNetOptions>('resnet34', (opts = {}) =>
  named('resnet34', false, opts),
);
/** ResNet-50, torchvision's `resnet50`; see {@link ResNetOptions}. */
export const resnet50 = withWeights<ResNetOptions>('resnet50', (opts = {}) =>
  named('resnet50', false, opts),
);
/** ResNet-101, torchvision's `resnet101`; see {@link ResNetOptions}. */
export const resnet101 = withWeights<ResNetOptions>('resnet101', (opts = {}) =>
  named('resnet101', false, opts),
);
/** ResNet-152, torchvision's `resnet152`; see {@link ResNetOptions}. */
export const resnet152 = withWeights<ResNetOptions>('resnet152', (opts = {}) =>
  named('resnet152', false, opts),
);
/** Plain-18, ResNet-18 without shortcuts (§4.1, Figure 4); see {@link ResNetOptions}. */
export const plain18 = withWeights<ResNetOptions>('plain18', (opts = {}) =>
  named('resnet18', true, opts),
);
/** Plain-34, ResNet-34 without shortcuts (§4.1, Figure 4: the degradation problem); see {@link ResNetOptions}. */
export const plain34 = withWeights<ResNetOptions>('plain34', (opts = {}) =>
  named('resnet34', true, opts),
);
/** Plain-50, ResNet-50 without shortcuts; see {@link ResNetOptions}. */
export const plain50 = withWeights<ResNetOptions>('plain50', (opts = {}) =>
  named('resnet50', true, opts),
);
/** Plain-101, ResNet-101 without shortcuts; see {@link ResNetOptions}. */
export const plain101 = withWeights<ResNetOptions>('plain101', (opts = {}) =>
  named('resnet101', true, opts),
);
/** Plain-152, ResNet-152 without shortcuts; see {@link ResNetOptions}. */
export const plain152 = withWeights<ResNetOptions>('plain152', (opts = {}) =>
  named('resnet152', true, opts),
);
/** Wide ResNet-50-2, torchvision's `wide_resnet50_2`; see {@link ResNetOptions}. */
export const wideResnet50_2 = withWeights<ResNetOptions>('wide_resnet50_2', (opts = {}) =>
  named('wide_resnet50_2', false, opts),
);
/** Wide ResNet-101-2, torchvision's `wide_resnet101_2`; see {@link ResNetOptions}. */
export const wideResnet101_2 = withWeights<ResNetOptions>('wide_resnet101_2', (opts = {}) =>
  named('wide_resnet101_2', false, opts),
);
