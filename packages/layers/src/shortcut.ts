import { type SymbolicTensor } from '@tensorflow/tfjs-layers';
import {
  checkOptions,
  oneOf,
  optional,
  withDefault,
  type OptionSpec,
  type Resolved,
} from '@convnets/validate';
import {
  UNIT_SPEC,
  buildConvBn,
  convUnit,
  type BatchNormOptions,
  type KernelInitializer,
} from './conv';
import { CHANNEL_PADDINGS, ZeroPadChannels, type ChannelPadding } from './custom/zero-pad-channels';
import { nhwcChannels } from './input';

/**
 * The ResNet paper's shortcut options (§4.1, "Identity vs. Projection Shortcuts"):
 * - `'A'`: parameter-free; where the shape changes, subsample and pad the
 *   extra channels with zeros (§3.3, option (A); the CIFAR nets of §4.2);
 * - `'B'`: identity, or a projection `W_s x` (Eq. 2: a 1×1 convolution + BN)
 *   where the shape changes (§3.3, option (B); torchvision's ResNets);
 * - `'C'`: a projection everywhere.
 *
 * @see [He et al., arXiv 1512.03385, §3.3, Eq. 2, §4.1 and Table 3](https://arxiv.org/abs/1512.03385)
 */
export type ShortcutOption = 'A' | 'B' | 'C';

/** Allowed values of {@link ShortcutOption}: `['A', 'B', 'C']`. */
export const SHORTCUT_OPTIONS: readonly ShortcutOption[] = ['A', 'B', 'C'];

/** Allowed spatial strides of a residual block. */
export const BLOCK_STRIDES = [1, 2] as const;

/** Options of {@link shortcut}. */
export interface ShortcutOptions extends BatchNormOptions {
  /**
   * Prefix of the layer names: `<name>_conv` and `<name>_bn` for a projection,
   * `<name>_pad` for option A.
   */
  name: string;
  /** Channel count the shortcut must produce (the residual branch's output channels), a positive integer. */
  filters: number;
  /**
   * Spatial stride of the residual branch, 1 or 2.
   *
   * @defaultValue `1`
   */
  stride?: number;
  /**
   * Which shortcut to build; see {@link ShortcutOption}. The same option as
   * the blocks' `shortcut` (renamed from `option` in 0.x).
   *
   * @defaultValue `'B'`
   */
  shortcut?: ShortcutOption;
  /**
   * Option A only: where the zero channels go, `'end'` (after the input's) or
   * `'both'` (half before, half after, as PyTorch CIFAR ResNets pad); see
   * {@link ChannelPadding}. Given with option B or C, an error.
   *
   * @defaultValue `'end'`
   * @example
   * ```ts
   * shortcut(x, { name: 'conv3_block1_0', filters: 32, stride: 2, shortcut: 'A', channelPadding: 'both' });
   * ```
   */
  channelPadding?: ChannelPadding;
  /**
   * Kernel initializer of a projection.
   *
   * @defaultValue {@link kaimingNormalFanOut}`()`
   */
  kernelInitializer?: KernelInitializer;
  /** Seed of a projection's random kernel; as {@link convBn} uses it. */
  seed?: number;
}

/** The one declaration of {@link ShortcutOptions}: its keys and their checks. */
export const SHORTCUT_SPEC = {
  ...UNIT_SPEC,
  stride: withDefault(oneOf(BLOCK_STRIDES), 1),
  shortcut: withDefault(oneOf(SHORTCUT_OPTIONS), 'B'),
  // undefined (not 'end') when not given, so that giving it with option B or C is refused.
  channelPadding: optional(oneOf(CHANNEL_PADDINGS)),
} satisfies OptionSpec<ShortcutOptions>;

/** Options renamed in 0.x, named by the unknown-option error. */
const SHORTCUT_RENAMED = { option: 'shortcut' };

/** {@link ShortcutOptions} checked, defaults applied: what {@link buildShortcut} takes. */
export type ResolvedShortcut = Resolved<typeof SHORTCUT_SPEC>;

/**
 * Option A cannot drop channels, and `channelPadding` belongs to option A:
 * thrown before any layer of the block is built.
 */
export function checkShortcut(
  name: string,
  s: Pick<ResolvedShortcut, 'shortcut' | 'channelPadding'>,
  inChannels: number,
  filters: number,
): void {
  if (s.channelPadding !== undefined && s.shortcut !== 'A') {
    throw new Error(
      `shortcut "${name}": option "channelPadding" applies to option-A shortcuts only; ` +
        `received ${JSON.stringify(s.channelPadding)} with shortcut "${s.shortcut}".`,
    );
  }
  if (s.shortcut === 'A' && filters < inChannels) {
    throw new Error(
      `shortcut "${name}": option "A" cannot reduce channels: the input has ${inChannels}, ` +
        `filters is ${filters}; expected filters ≥ ${inChannels} (or option "B"/"C").`,
    );
  }
}

/** Builds the shortcut from checked options; `inChannels` is `x`'s channel count. */
export function buildShortcut(
  x: SymbolicTensor,
  inChannels: number,
  s: ResolvedShortcut,
): SymbolicTensor {
  checkShortcut(s.name, s, inChannels, s.filters);
  const shapeChanges = s.stride !== 1 || inChannels !== s.filters;
  if (s.shortcut === 'A') {
    if (!shapeChanges) return x;
    return new ZeroPadChannels({
      outChannels: s.filters,
      stride: s.stride,
      channelPadding: s.channelPadding ?? 'end',
      name: `${s.name}_pad`,
    }).apply(x) as SymbolicTensor;
  }
  if (s.shortcut === 'B' && !shapeChanges) return x;
  return buildConvBn(
    'shortcut',
    x,
    convUnit({
      name: s.name,
      filters: s.filters,
      kernelSize: [1, 1],
      stride: [s.stride, s.stride],
      padding: 'valid',
      kernelInitializer: s.kernelInitializer,
      seed: s.seed,
      bnMomentum: s.bnMomentum,
      bnEpsilon: s.bnEpsilon,
    }),
  );
}

/**
 * The shortcut connection of a residual block: what is added to the residual
 * branch's output. Returns `x` itself when the option calls for an identity;
 * a {@link ZeroPadChannels} layer (`<name>_pad`) for option A where the shape
 * changes; otherwise a 1×1 projection with BN (`<name>_conv`, `<name>_bn`).
 *
 * @param x - The block's input, a rank-4 NHWC `SymbolicTensor` with a known channel count.
 * @param opts - Name, output channels, stride, option and channel padding; see {@link ShortcutOptions}.
 * @returns `x`, or the subsampled, zero-padded or projected `x` shaped like the residual branch's output.
 * @throws Error, before any layer is created, for an unknown option, an option
 *   outside its allowed values, an input that is not a rank-4 `SymbolicTensor`
 *   with known channels, option A with `filters` below the input's channels,
 *   or `channelPadding` with option B or C.
 *
 * @example
 * ```ts
 * // 64 → 128 channels at stride 2, with a projection (option B).
 * const s = shortcut(x, { name: 'conv3_block1_0', filters: 128, stride: 2 });
 * // The same with the parameter-free option A: subsample, pad 64 zero channels.
 * const a = shortcut(x, { name: 'conv3_block1_0', filters: 128, stride: 2, shortcut: 'A' });
 * ```
 * @see [He et al., arXiv 1512.03385, §3.3 (options A and B), Eq. 2 (projection) and §4.1 (A/B/C compared, Table 3)](https://arxiv.org/abs/1512.03385)
 */
export function shortcut(x: SymbolicTensor, opts: ShortcutOptions): SymbolicTensor {
  const s = checkOptions('shortcut', opts, SHORTCUT_SPEC, { renamed: SHORTCUT_RENAMED });
  return buildShortcut(x, nhwcChannels('shortcut', x), s);
}
