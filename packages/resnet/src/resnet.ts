import {
  CLASSIFIER_OPTION_KEYS,
  SHORTCUT_OPTIONS,
  checkBatchNormOptions,
  checkBoolean,
  checkKnownOptions,
  checkOneOf,
  convBnRelu,
  globalPooling,
  residualStage,
  resolveClassifierOptions,
  type BatchNormOptions,
  type ClassifierOptions,
  type ShortcutOption,
} from '@convnets/layers';
import {
  input,
  layers,
  model,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import {
  RESNET_SPECS,
  RESNET_TOTAL_STRIDE,
  STAGE_NAMES,
  STAGE_WIDTHS,
  type ResNetName,
  type ResNetSpec,
} from './specs';

/** Options of the ImageNet ResNet factories ({@link resnet50} and the others). */
export interface ResNetOptions extends ClassifierOptions, BatchNormOptions {
  /** Shortcut option where the shape changes (the paper's A, B or C). Default `'B'`. */
  shortcut?: ShortcutOption;
  /**
   * Where a downsampling bottleneck block strides: `'3x3'` (torchvision's
   * default, "ResNet v1.5") or `'1x1'` (the paper). Ignored by ResNet-18/34,
   * whose blocks have no 1×1 convolution. Default `'3x3'`.
   */
  strideIn?: '3x3' | '1x1';
  /** Zero-initialise the last BN gamma of every residual branch (Goyal et al.). Default false. */
  zeroInitResidual?: boolean;
}

const RESNET_KEYS = [
  ...CLASSIFIER_OPTION_KEYS,
  'shortcut',
  'strideIn',
  'zeroInitResidual',
  'bnMomentum',
  'bnEpsilon',
] as const;

/**
 * Builds any ImageNet ResNet from a spec: the generic builder behind the named
 * factories. Layers are named as in Keras' ResNets (`conv1_conv`,
 * `conv2_block1_1_conv`, …, `avg_pool`, `predictions`).
 *
 * @param spec Block kind and blocks per stage; see {@link RESNET_SPECS}.
 * @param plain Build the paper's plain counterpart (no shortcuts).
 */
export function buildResNet(
  spec: ResNetSpec,
  opts: ResNetOptions & { name: string },
  plain = false,
): LayersModel {
  const where = opts.name;
  checkKnownOptions(where, opts, RESNET_KEYS);
  const top = resolveClassifierOptions(where, opts, {
    name: opts.name,
    totalStride: RESNET_TOTAL_STRIDE,
  });
  // Everything is checked before the first layer (and its weights) exists.
  if (opts.shortcut !== undefined) checkOneOf(where, 'shortcut', opts.shortcut, SHORTCUT_OPTIONS);
  if (opts.strideIn !== undefined) checkOneOf(where, 'strideIn', opts.strideIn, ['3x3', '1x1']);
  if (opts.zeroInitResidual !== undefined)
    checkBoolean(where, 'zeroInitResidual', opts.zeroInitResidual);
  const common = {
    ...checkBatchNormOptions(where, opts),
    kernelInitializer: top.skipInit ? ('zeros' as const) : undefined,
  };
  const x = input({ shape: top.inputShape, name: 'input' });

  let y = convBnRelu(x, { name: 'conv1', filters: 64, kernelSize: 7, strides: 2, ...common });
  // Zero padding before the max pool equals PyTorch's −∞ padding here: the input is post-ReLU, ≥ 0.
  y = layers
    .zeroPadding2d({
      padding: [
        [1, 1],
        [1, 1],
      ],
      name: 'pool1_pad',
    })
    .apply(y) as SymbolicTensor;
  y = layers
    .maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' })
    .apply(y) as SymbolicTensor;
  spec.blocks.forEach((blocks, i) => {
    y = residualStage(y, {
      name: STAGE_NAMES[i],
      block: spec.block,
      filters: STAGE_WIDTHS[i],
      blocks,
      stride: i === 0 ? 1 : 2,
      shortcut: opts.shortcut,
      strideIn: spec.block === 'bottleneck' ? opts.strideIn : undefined,
      zeroInitResidual: opts.zeroInitResidual,
      plain,
      ...common,
    });
  });
  if (top.includeTop) {
    y = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(y) as SymbolicTensor;
    y = layers
      .dense({
        units: top.classes,
        activation: top.classifierActivation,
        kernelInitializer: top.skipInit ? 'zeros' : undefined,
        name: 'predictions',
      })
      .apply(y) as SymbolicTensor;
  } else {
    y = globalPooling(y, top.pooling);
  }
  return model({ inputs: x, outputs: y, name: top.name });
}

function factory(name: ResNetName, plain: boolean) {
  const modelName = plain ? name.replace('resnet', 'plain') : name;
  return (opts: ResNetOptions = {}) =>
    buildResNet(RESNET_SPECS[name], { ...opts, name: opts.name ?? modelName }, plain);
}

/** ResNet-18 (basic blocks, 2-2-2-2): 11.7M parameters, 1.8 G multiply-adds at 224×224. @see He et al., Table 1. */
export const resnet18: (opts?: ResNetOptions) => LayersModel = factory('resnet18', false);
/** ResNet-34 (basic blocks, 3-4-6-3): 21.8M parameters, 3.6 G multiply-adds. @see He et al., Table 1. */
export const resnet34: (opts?: ResNetOptions) => LayersModel = factory('resnet34', false);
/** ResNet-50 (bottleneck blocks, 3-4-6-3): 25.6M parameters, 4.1 G multiply-adds (3.9 G with `strideIn: '1x1'`). @see He et al., Table 1. */
export const resnet50: (opts?: ResNetOptions) => LayersModel = factory('resnet50', false);
/** ResNet-101 (bottleneck blocks, 3-4-23-3): 44.5M parameters. @see He et al., Table 1. */
export const resnet101: (opts?: ResNetOptions) => LayersModel = factory('resnet101', false);
/** ResNet-152 (bottleneck blocks, 3-8-36-3): 60.2M parameters. @see He et al., Table 1. */
export const resnet152: (opts?: ResNetOptions) => LayersModel = factory('resnet152', false);
/** Plain-18: ResNet-18 without shortcuts, the paper's baseline for the degradation experiment. @see He et al., §4.1. */
export const plain18: (opts?: ResNetOptions) => LayersModel = factory('resnet18', true);
/** Plain-34: ResNet-34 without shortcuts. @see He et al., §4.1 and Figure 4. */
export const plain34: (opts?: ResNetOptions) => LayersModel = factory('resnet34', true);
/** Plain-50: ResNet-50 without shortcuts. */
export const plain50: (opts?: ResNetOptions) => LayersModel = factory('resnet50', true);
/** Plain-101: ResNet-101 without shortcuts. */
export const plain101: (opts?: ResNetOptions) => LayersModel = factory('resnet101', true);
/** Plain-152: ResNet-152 without shortcuts. */
export const plain152: (opts?: ResNetOptions) => LayersModel = factory('resnet152', true);
