import { type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { BATCH_NORM_OPTIONS, convBn, type BatchNormOptions, type KernelInitializer } from './conv';
import { ZeroPadChannels } from './custom/zero-pad-channels';
import { checkKnownOptions, nhwcChannels, nonEmptyString, oneOf, positiveInt } from './validate';

/**
 * The ResNet paper's shortcut options (§4.1, "Identity vs. Projection Shortcuts"):
 * - `'A'`: parameter-free; where the shape changes, subsample and pad the extra channels with zeros;
 * - `'B'`: identity, or a projection (1×1 convolution + BN) where the shape changes;
 * - `'C'`: a projection everywhere.
 */
export type ShortcutOption = 'A' | 'B' | 'C';

/** Allowed values of {@link ShortcutOption}. */
export const SHORTCUT_OPTIONS: readonly ShortcutOption[] = ['A', 'B', 'C'];

/** Allowed spatial strides of a residual block. */
export const BLOCK_STRIDES: readonly number[] = [1, 2];

/** Options of {@link shortcut}. */
export interface ShortcutOptions extends BatchNormOptions {
  /**
   * Prefix of the layer names: `<name>_conv` and `<name>_bn` for a projection,
   * `<name>_pad` for option A.
   */
  name: string;
  /** Channel count the shortcut must produce (the residual branch's output channels). */
  filters: number;
  /** Spatial stride of the residual branch, 1 or 2. Default 1. */
  stride?: number;
  /** Which shortcut to build; see {@link ShortcutOption}. Default `'B'`. */
  option?: ShortcutOption;
  /** Kernel initializer of a projection. Default Kaiming fan-out. */
  kernelInitializer?: KernelInitializer;
}

const SHORTCUT_KEYS = [
  'name',
  'filters',
  'stride',
  'option',
  'kernelInitializer',
  ...BATCH_NORM_OPTIONS,
] as const;

/**
 * The shortcut connection of a residual block: what is added to the residual
 * branch's output. Returns `x` itself when the option calls for an identity.
 *
 * @example
 * ```ts
 * // 64 → 128 channels at stride 2, with a projection (option B).
 * const s = shortcut(x, { name: 'conv3_block1_0', filters: 128, stride: 2 });
 * ```
 * @see He et al., arXiv 1512.03385, §3.3 and §4.1.
 */
export function shortcut(x: SymbolicTensor, opts: ShortcutOptions): SymbolicTensor {
  const where = 'shortcut';
  checkKnownOptions(where, opts, SHORTCUT_KEYS);
  const name = nonEmptyString(where, 'name', opts.name);
  const filters = positiveInt(where, 'filters', opts.filters);
  const stride = oneOf(where, 'stride', opts.stride ?? 1, BLOCK_STRIDES);
  const option = oneOf(where, 'option', opts.option ?? 'B', SHORTCUT_OPTIONS);
  const inChannels = nhwcChannels(where, x);
  const shapeChanges = stride !== 1 || inChannels !== filters;

  if (option === 'A') {
    if (filters < inChannels) {
      throw new Error(
        `shortcut "${name}": option "A" cannot reduce channels: the input has ${inChannels}, ` +
          `filters is ${filters}; expected filters ≥ ${inChannels} (or option "B"/"C").`,
      );
    }
    if (!shapeChanges) return x;
    return new ZeroPadChannels({ outChannels: filters, stride, name: `${name}_pad` }).apply(
      x,
    ) as SymbolicTensor;
  }
  if (option === 'B' && !shapeChanges) return x;
  return convBn(x, {
    name,
    filters,
    kernelSize: 1,
    strides: stride,
    padding: 'valid',
    kernelInitializer: opts.kernelInitializer,
    bnMomentum: opts.bnMomentum,
    bnEpsilon: opts.bnEpsilon,
  });
}
