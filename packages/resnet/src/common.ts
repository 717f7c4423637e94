import {
  SHORTCUT_OPTIONS,
  checkBatchNormOptions,
  checkBoolean,
  checkOneOf,
  globalPooling,
  layerSeed,
  type BatchNormOptions,
  type ResolvedClassifierOptions,
  type ShortcutOption,
} from '@convnets/layers';
import { initializers, layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';

/** The residual options every ResNet factory shares, checked before any layer exists. */
export function resolveResidualOptions(
  where: string,
  opts: BatchNormOptions & { shortcut?: ShortcutOption; zeroInitResidual?: boolean },
  top: ResolvedClassifierOptions,
  defaultShortcut: ShortcutOption,
) {
  const shortcut = checkOneOf(
    where,
    'shortcut',
    opts.shortcut ?? defaultShortcut,
    SHORTCUT_OPTIONS,
  );
  const zeroInitResidual =
    opts.zeroInitResidual === undefined
      ? false
      : checkBoolean(where, 'zeroInitResidual', opts.zeroInitResidual);
  return {
    shortcut,
    zeroInitResidual,
    /** Options every unit of the network takes. */
    unit: {
      ...checkBatchNormOptions(where, opts),
      kernelInitializer: top.skipInit ? ('zeros' as const) : undefined,
      seed: top.seed,
    },
  };
}

/**
 * The end of every ResNet: global average pooling and the classifier
 * (`avg_pool`, `predictions`), or without the top the optional global pooling.
 */
export function residualTop(y: SymbolicTensor, top: ResolvedClassifierOptions): SymbolicTensor {
  if (!top.includeTop) return globalPooling(y, top.pooling);
  const pooled = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(y) as SymbolicTensor;
  return layers
    .dense({
      units: top.classes,
      activation: top.classifierActivation,
      kernelInitializer: top.skipInit
        ? 'zeros'
        : top.seed === undefined
          ? undefined
          : initializers.glorotNormal({ seed: layerSeed(top.seed, 'predictions') }),
      name: 'predictions',
    })
    .apply(pooled) as SymbolicTensor;
}
