import { type OptionSpec } from '@convnets/validate';
import {
  convBnRelu,
  residualStage,
  type BatchNormOptions,
  type ChannelPadding,
  type ClassifierOptions,
  type ShortcutOption,
} from '@convnets/layers';
import { input, model, type LayersModel } from '@tensorflow/tfjs-layers';
import { RESIDUAL_SPEC, checkResidualOptions, residualTop } from './common';
import { CIFAR_STAGE_WIDTHS } from './specs';

/**
 * Options of {@link cifarResNet} and {@link cifarPlain}: the shared
 * {@link "@convnets/layers"!ClassifierOptions | ClassifierOptions} (with `inputShape` `[32, 32, 3]` and `classes` 10
 * by default), the {@link "@convnets/layers"!BatchNormOptions | BatchNormOptions}, and these.
 */
export interface CifarResNetOptions extends ClassifierOptions, BatchNormOptions {
  /**
   * Shortcut option where the shape changes (the paper's A, B or C); ignored by {@link cifarPlain}.
   *
   * @defaultValue `'A'` (zero-padding identity), as in the paper's CIFAR experiments (§4.2)
   */
  shortcut?: ShortcutOption;
  /**
   * Where option A's zero channels go: `'end'` (after the input's channels)
   * or `'both'` (half before, half after), as most public PyTorch CIFAR
   * ResNets pad (`F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`,
   * e.g. akamaster/pytorch_resnet_cifar10). Their weights need `'both'`.
   * Only with option A (an error with `'B'` or `'C'`); ignored by {@link cifarPlain}.
   *
   * @defaultValue `'end'`
   * @example
   * ```ts
   * const net = cifarResNet(20, { channelPadding: 'both', classifierActivation: null });
   * await loadWeights(net, 'resnet20.safetensors', { from: 'cifar' });
   * ```
   */
  channelPadding?: ChannelPadding;
  /**
   * Zero-initialise the last BN gamma of every residual branch.
   *
   * @defaultValue `false`
   * @see [Goyal et al., arXiv 1706.02677, §5.1](https://arxiv.org/abs/1706.02677)
   */
  zeroInitResidual?: boolean;
}

/** The one declaration of {@link CifarResNetOptions} beyond the classifier options. */
const CIFAR_SPEC = RESIDUAL_SPEC satisfies OptionSpec<
  Omit<CifarResNetOptions, keyof ClassifierOptions>
>;

/** Downsampling of a CIFAR ResNet: two stride-2 stages. */
const CIFAR_TOTAL_STRIDE = 4;

function buildCifar(depth: number, opts: CifarResNetOptions, plain: boolean): LayersModel {
  const kind = plain ? 'cifarPlain' : 'cifarResNet';
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new Error(
      `${kind}: depth must be 6n + 2 for a positive integer n (20, 32, 44, 56, 110, 1202, …); received ${String(depth)}.`,
    );
  }
  const n = (depth - 2) / 6;
  const where = `${kind}(${depth})`;
  const { own, top, shortcut, unit } = checkResidualOptions(
    where,
    { classes: 10, ...opts },
    CIFAR_SPEC,
    {
      name: `${plain ? 'cifar_plain' : 'cifar_resnet'}${depth}`,
      totalStride: CIFAR_TOTAL_STRIDE,
      inputShape: [32, 32, 3],
      shortcut: 'A',
    },
  );

  const x = input({ shape: top.inputShape, name: 'input' });
  let y = convBnRelu(x, {
    name: 'conv1',
    filters: CIFAR_STAGE_WIDTHS[0],
    kernelSize: 3,
    ...unit,
  });
  CIFAR_STAGE_WIDTHS.forEach((filters, i) => {
    y = residualStage(y, {
      name: `conv${i + 2}`,
      block: 'basic',
      filters,
      blocks: n,
      stride: i === 0 ? 1 : 2,
      shortcut,
      channelPadding: own.channelPadding,
      zeroInitResidual: own.zeroInitResidual,
      plain,
      ...unit,
    });
  });
  y = residualTop(y, top);
  return model({ inputs: x, outputs: y, name: top.name });
}

/**
 * The CIFAR-10 ResNets of the paper's §4.2: a 3×3 conv with 16 filters, three
 * stages of n basic blocks with 16, 32 and 64 filters on 32×32, 16×16 and 8×8
 * maps, global average pooling and a 10-way classifier; depth = 6n + 2.
 * Option-A (parameter-free) shortcuts by default, as in the paper. Defaults:
 * `inputShape` `[32, 32, 3]`, `classes` 10. The stages are named `conv2` …
 * `conv4`, so {@link stageOutputs} and the layer names work as for the
 * ImageNet ResNets.
 *
 * @param depth - 6n + 2 for a positive integer n: 20, 32, 44, 56, 110 or 1202
 *   in the paper ({@link CIFAR_DEPTHS}); any other such depth (8, 14, …) builds too.
 * @param opts - Input shape, classes, shortcut option and more; see {@link CifarResNetOptions}.
 *   Default `{}`: the paper's network for 32×32 RGB images and 10 classes.
 * @returns An uncompiled `tf.LayersModel` named `cifar_resnet<depth>` unless `opts.name` is given.
 * @throws Error, before any layer is created, for a depth that is not 6n + 2,
 *   an unknown option, an option outside its allowed values (naming it and
 *   what is allowed), or an input smaller than 4×4 (the total stride).
 *
 * @example
 * ```ts
 * const net = cifarResNet(20); // 0.27M parameters
 * // Logits for the trainer, with projection shortcuts (option B) instead.
 * const b = cifarResNet(56, { shortcut: 'B', classifierActivation: null });
 * ```
 * @see [He et al., arXiv 1512.03385, §4.2 (architecture, option A shortcuts) and Table 6](https://arxiv.org/abs/1512.03385)
 */
export function cifarResNet(depth: number, opts: CifarResNetOptions = {}): LayersModel {
  return buildCifar(depth, opts, false);
}

/**
 * The plain counterpart of {@link cifarResNet}: the same layers without
 * shortcuts, for the degradation experiment (plain-56 trains to a higher error
 * than plain-20, while ResNet-56 does not).
 *
 * @param depth - 6n + 2 for a positive integer n: 20, 32, 44, 56 or 110 in the paper's Figure 6.
 * @param opts - Input shape, classes and more; see {@link CifarResNetOptions} (`shortcut` has no effect).
 *   Default `{}`: 32×32 RGB images and 10 classes.
 * @returns An uncompiled `tf.LayersModel` named `cifar_plain<depth>` unless `opts.name` is given.
 * @throws Error, before any layer is created, for the same reasons as {@link cifarResNet}.
 *
 * @example
 * ```ts
 * const [plain, residual] = [cifarPlain(56), cifarResNet(56)];
 * // The same parameter count: option A shortcuts have none.
 * ```
 * @see [He et al., arXiv 1512.03385, §4.2 and Figure 6 (left: plain nets; middle: ResNets)](https://arxiv.org/abs/1512.03385)
 */
export function cifarPlain(depth: number, opts: CifarResNetOptions = {}): LayersModel {
  return buildCifar(depth, opts, true);
}
