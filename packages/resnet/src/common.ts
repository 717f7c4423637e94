import {
  CHANNEL_PADDINGS,
  CLASSIFIER_OPTION_KEYS,
  SHORTCUT_OPTIONS,
  checkBatchNormOptions,
  globalPooling,
  layerSeed,
  resolveClassifierOptions,
  type BatchNormOptions,
  type ClassifierOptions,
  type ResolvedClassifierOptions,
  type ShortcutOption,
} from '@convnets/layers';
import {
  checkBoolean,
  checkOptions,
  oneOf,
  optional,
  unchecked,
  withDefault,
  type Check,
  type Resolved,
} from '@convnets/validate';
import { initializers, layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';

/**
 * The residual options of every ResNet factory, beyond
 * {@link "@convnets/layers"!ClassifierOptions | ClassifierOptions} (which
 * `resolveClassifierOptions` checks). The BN options are checked by
 * `checkBatchNormOptions`; `shortcut`'s default depends on the family.
 */
export const RESIDUAL_SPEC = {
  shortcut: optional(oneOf(SHORTCUT_OPTIONS)),
  channelPadding: optional(oneOf(CHANNEL_PADDINGS)),
  zeroInitResidual: withDefault(checkBoolean, false),
  bnMomentum: unchecked<number | undefined>(),
  bnEpsilon: unchecked<number | undefined>(),
};

/**
 * Checks a ResNet factory's options once, before any layer exists: unknown
 * keys, the family's own options (`spec`), the classifier options and BN;
 * `channelPadding` only with option-A shortcuts.
 */
export function checkResidualOptions<
  S extends typeof RESIDUAL_SPEC & Record<string, Check<unknown>>,
>(
  where: string,
  opts: ClassifierOptions & BatchNormOptions,
  spec: S,
  defaults: Parameters<typeof resolveClassifierOptions>[2] & { shortcut: ShortcutOption },
) {
  const own: Resolved<S> = checkOptions(where, opts, spec, { allowed: CLASSIFIER_OPTION_KEYS });
  const top = resolveClassifierOptions(where, opts, defaults);
  const shortcut = own.shortcut ?? defaults.shortcut;
  if (own.channelPadding !== undefined && shortcut !== 'A')
    throw new Error(
      `${where}: option "channelPadding" applies to option-A shortcuts only; received ` +
        `${JSON.stringify(own.channelPadding)} with shortcut "${shortcut}".`,
    );
  return {
    own,
    top,
    shortcut,
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
