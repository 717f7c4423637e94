import {
  CLASSIFIER_OPTION_KEYS,
  checkKnownOptions,
  checkOneOf,
  convBnRelu,
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
import { resolveResidualOptions, residualTop } from './common';
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
 * the shared {@link "@convnets/layers"!ClassifierOptions | ClassifierOptions} (input shape, top, classes, …), the
 * {@link "@convnets/layers"!BatchNormOptions | BatchNormOptions}, and these.
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
 * @throws Error, before any layer is created, for an unknown option, an option
 *   outside its allowed values (naming it and what is allowed), or an input
 *   smaller than the total stride (32).
 * @see [He et al., arXiv 1512.03385, Table 1 and §3.3](https://arxiv.org/abs/1512.03385)
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
  if (opts.strideIn !== undefined) checkOneOf(where, 'strideIn', opts.strideIn, ['3x3', '1x1']);
  const residual = resolveResidualOptions(where, opts, top, 'B');

  const x = input({ shape: top.inputShape, name: 'input' });

  let y = convBnRelu(x, {
    name: 'conv1',
    filters: 64,
    kernelSize: 7,
    strides: 2,
    ...residual.unit,
  });
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
      shortcut: residual.shortcut,
      strideIn: spec.block === 'bottleneck' ? opts.strideIn : undefined,
      zeroInitResidual: residual.zeroInitResidual,
      plain,
      ...residual.unit,
    });
  });
  y = residualTop(y, top);
  return model({ inputs: x, outputs: y, name: top.name });
}

function named(name: ResNetName, plain: boolean, opts: ResNetOptions): LayersModel {
  const modelName = plain ? name.replace('resnet', 'plain') : name;
  return buildResNet(RESNET_SPECS[name], { ...opts, name: opts.name ?? modelName }, plain);
}

/**
 * ResNet-18 (basic blocks, 2-2-2-2): 11,689,512 parameters, 1.8 G multiply-adds at 224×224.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `resnet18` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = resnet18({ classes: 10, inputShape: [64, 64, 3] });
 * summarize(net).trainableParams; // 11,181,642 with a 10-way classifier
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export function resnet18(opts: ResNetOptions = {}): LayersModel {
  return named('resnet18', false, opts);
}

/**
 * ResNet-34 (basic blocks, 3-4-6-3): 21,797,672 parameters, 3.6 G multiply-adds at 224×224.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `resnet34` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = resnet34({ shortcut: 'A' }); // the paper's ResNet-34 A of Table 3
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export function resnet34(opts: ResNetOptions = {}): LayersModel {
  return named('resnet34', false, opts);
}

/**
 * ResNet-50 (bottleneck blocks, 3-4-6-3): 25,557,032 parameters, 4.1 G multiply-adds at 224×224 (3.9 G with `strideIn: '1x1'`, the paper's 3.8×10⁹).
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `resnet50` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = resnet50({ skipInit: true });
 * await loadWeights(net, 'resnet50.safetensors', { from: 'torchvision' });
 * const probabilities = net.predict(tf.zeros([1, 224, 224, 3])) as tf.Tensor; // [1, 1000]
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export function resnet50(opts: ResNetOptions = {}): LayersModel {
  return named('resnet50', false, opts);
}

/**
 * ResNet-101 (bottleneck blocks, 3-4-23-3): 44,549,160 parameters, 7.8 G multiply-adds at 224×224.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `resnet101` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = resnet101({ strideIn: '1x1' }); // stride in the first 1×1, as in the paper: 7.6 G multiply-adds
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export function resnet101(opts: ResNetOptions = {}): LayersModel {
  return named('resnet101', false, opts);
}

/**
 * ResNet-152 (bottleneck blocks, 3-8-36-3): 60,192,808 parameters, 11.5 G multiply-adds at 224×224.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `resnet152` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const features = resnet152({ includeTop: false, pooling: 'avg' }); // [batch, 2048]
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export function resnet152(opts: ResNetOptions = {}): LayersModel {
  return named('resnet152', false, opts);
}

/**
 * Plain-18: ResNet-18 without its shortcuts, the baseline of the degradation experiment.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `plain18` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const [plain, residual] = [plain18(), resnet18()]; // the same layers, without the shortcuts
 * ```
 * @see [He et al., arXiv 1512.03385, §4.1, Table 2 and Figure 4 (plain-18/34 vs ResNet-18/34)](https://arxiv.org/abs/1512.03385)
 */
export function plain18(opts: ResNetOptions = {}): LayersModel {
  return named('resnet18', true, opts);
}

/**
 * Plain-34: ResNet-34 without its shortcuts; deeper than plain-18 yet worse, the degradation problem.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `plain34` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = plain34({ classifierActivation: null }); // logits, for the trainer
 * ```
 * @see [He et al., arXiv 1512.03385, §4.1, Table 2 and Figure 4 (plain-18/34 vs ResNet-18/34)](https://arxiv.org/abs/1512.03385)
 */
export function plain34(opts: ResNetOptions = {}): LayersModel {
  return named('resnet34', true, opts);
}

/**
 * Plain-50: ResNet-50 without its shortcuts.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `plain50` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = plain50({ classes: 100 });
 * ```
 * @see [He et al., arXiv 1512.03385, §4.1 (plain networks)](https://arxiv.org/abs/1512.03385)
 */
export function plain50(opts: ResNetOptions = {}): LayersModel {
  return named('resnet50', true, opts);
}

/**
 * Plain-101: ResNet-101 without its shortcuts.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `plain101` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = plain101({ includeTop: false, inputShape: [null, null, 3] });
 * ```
 * @see [He et al., arXiv 1512.03385, §4.1 (plain networks)](https://arxiv.org/abs/1512.03385)
 */
export function plain101(opts: ResNetOptions = {}): LayersModel {
  return named('resnet101', true, opts);
}

/**
 * Plain-152: ResNet-152 without its shortcuts.
 *
 * @param opts - Input shape, top, classes, shortcut option, stride placement and more; see {@link ResNetOptions}.
 *   Default `{}`: torchvision's network for 224×224 RGB images and 1000 classes.
 * @returns An uncompiled `tf.LayersModel` named `plain152` (unless `opts.name` is given).
 * @throws Error, before any layer is created, for an unknown option, an option outside its allowed values
 *   (naming it and what is allowed), or an input smaller than the total stride (32).
 *
 * @example
 * ```ts
 * const net = plain152({ skipInit: true }); // only to summarise: no random draw
 * ```
 * @see [He et al., arXiv 1512.03385, §4.1 (plain networks)](https://arxiv.org/abs/1512.03385)
 */
export function plain152(opts: ResNetOptions = {}): LayersModel {
  return named('resnet152', true, opts);
}

/**
 * Every ImageNet ResNet and plain factory by name, as torchvision's
 * `get_model(name)` / `list_models()` offer them: for a command line, a
 * config file or a loop over the family.
 *
 * @example
 * ```ts
 * for (const [name, factory] of Object.entries(RESNETS)) {
 *   console.log(name, summarize(factory({ skipInit: true })).trainableParams);
 * }
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export const RESNETS: Readonly<Record<string, (opts?: ResNetOptions) => LayersModel>> =
  Object.freeze({
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    plain18,
    plain34,
    plain50,
    plain101,
    plain152,
  });
