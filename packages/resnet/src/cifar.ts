import {
  CLASSIFIER_OPTION_KEYS,
  checkKnownOptions,
  convBnRelu,
  residualStage,
  resolveClassifierOptions,
  type BatchNormOptions,
  type ClassifierOptions,
  type ShortcutOption,
} from '@convnets/layers';
import { input, model, type LayersModel } from '@tensorflow/tfjs-layers';
import { resolveResidualOptions, residualTop } from './common';
import { CIFAR_STAGE_WIDTHS } from './specs';

/** Options of {@link cifarResNet} and {@link cifarPlain}. */
export interface CifarResNetOptions extends ClassifierOptions, BatchNormOptions {
  /** Shortcut option where the shape changes. Default `'A'`, as in the paper's CIFAR experiments. */
  shortcut?: ShortcutOption;
  /** Zero-initialise the last BN gamma of every residual branch. Default false. */
  zeroInitResidual?: boolean;
}

const CIFAR_KEYS = [
  ...CLASSIFIER_OPTION_KEYS,
  'shortcut',
  'zeroInitResidual',
  'bnMomentum',
  'bnEpsilon',
] as const;

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
  checkKnownOptions(where, opts, CIFAR_KEYS);
  const top = resolveClassifierOptions(
    where,
    { classes: 10, ...opts },
    {
      name: `${plain ? 'cifar_plain' : 'cifar_resnet'}${depth}`,
      totalStride: CIFAR_TOTAL_STRIDE,
      inputShape: [32, 32, 3],
    },
  );
  const residual = resolveResidualOptions(where, opts, top, 'A');

  const x = input({ shape: top.inputShape, name: 'input' });
  let y = convBnRelu(x, {
    name: 'conv1',
    filters: CIFAR_STAGE_WIDTHS[0],
    kernelSize: 3,
    ...residual.unit,
  });
  CIFAR_STAGE_WIDTHS.forEach((filters, i) => {
    y = residualStage(y, {
      name: `conv${i + 2}`,
      block: 'basic',
      filters,
      blocks: n,
      stride: i === 0 ? 1 : 2,
      shortcut: residual.shortcut,
      zeroInitResidual: residual.zeroInitResidual,
      plain,
      ...residual.unit,
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
 * `inputShape` `[32, 32, 3]`, `classes` 10.
 *
 * @example
 * ```ts
 * const net = cifarResNet(20); // 0.27M parameters
 * ```
 * @see He et al., arXiv 1512.03385, §4.2 and Table 6.
 */
export function cifarResNet(depth: number, opts: CifarResNetOptions = {}): LayersModel {
  return buildCifar(depth, opts, false);
}

/** The plain counterpart of {@link cifarResNet}: the same layers without shortcuts. @see He et al., §4.2 and Figure 6. */
export function cifarPlain(depth: number, opts: CifarResNetOptions = {}): LayersModel {
  return buildCifar(depth, opts, true);
}
