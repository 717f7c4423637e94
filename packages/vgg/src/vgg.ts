import {
  BatchNormalization,
  CLASSIFIER_OPTION_KEYS,
  LocalResponseNormalization,
  withWeights,
  checkBatchNormOptions,
  globalPooling,
  kaimingNormalFanOut,
  layerSeed,
  resolveClassifierOptions,
  type BatchNormOptions,
  type ClassifierOptions,
} from '@convnets/layers';
import {
  checkBoolean,
  checkOptions,
  checkUnitInterval,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import {
  initializers,
  input,
  layers,
  model,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import { VGG_CONFIGS, VGG_FC_UNITS, VGG_TOTAL_STRIDE, type VggConfig } from './specs';

/**
 * Options of the VGG factories ({@link vgg16} and the others): the shared
 * {@link "@convnets/layers"!ClassifierOptions | ClassifierOptions} (input shape, top, classes, `seed`, `skipInit`, …), the
 * {@link "@convnets/layers"!BatchNormOptions | BatchNormOptions} (used with `batchNorm`), and these.
 * Default `{}`: the paper's network for 224×224 RGB images and 1000 classes.
 *
 * Every factory returns an uncompiled `tf.LayersModel` named after its
 * registry name ({@link VGG_MODELS}; `_bn` appended with `batchNorm`) unless
 * `name` is given, and throws, before any layer is created, for an unknown
 * option, an option outside its allowed values (naming it and what is
 * allowed), a `dropout` outside [0, 1), an input smaller than 32×32, or an
 * input of unknown size with `includeTop` (the first fully connected layer's
 * size depends on it). Parameter counts and multiply-adds of every factory are
 * in the model zoo guide, computed from the built models.
 *
 * @example
 * ```ts
 * const net = vgg16Bn({ skipInit: true }); // torchvision's vgg16_bn
 * await loadWeights(net, 'vgg16_bn.safetensors', { from: 'torchvision' });
 * const small = vgg11({ classes: 10, inputShape: [32, 32, 3], seed: 3 });
 * // A feature extractor for any input size: 512 features per image.
 * const features = vgg19({ includeTop: false, pooling: 'avg', inputShape: [null, null, 3] });
 * ```
 * @see [Simonyan & Zisserman, arXiv 1409.1556, Table 1 (configurations) and Table 2 (parameters)](https://arxiv.org/abs/1409.1556)
 */
export interface VggOptions extends ClassifierOptions, BatchNormOptions {
  /**
   * Batch normalisation after every convolution (torchvision's `vgg16_bn` and
   * friends; not in the paper, which predates it). The BN layers are
   * `<conv>_bn`, followed by `<conv>_relu`.
   *
   * @defaultValue `false`
   * @see [Ioffe & Szegedy, arXiv 1502.03167](https://arxiv.org/abs/1502.03167)
   */
  batchNorm?: boolean;
  /**
   * Dropout rate after the two hidden fully connected layers, in [0, 1); 0 for none.
   *
   * @defaultValue `0.5`, as in the paper (§3.1)
   */
  dropout?: number;
}

/**
 * The one declaration of {@link VggOptions} beyond the classifier options
 * (checked by `resolveClassifierOptions`); the BN options are checked by
 * `checkBatchNormOptions`.
 */
const VGG_SPEC = {
  batchNorm: withDefault(checkBoolean, false),
  dropout: withDefault(checkUnitInterval, 0.5),
  bnMomentum: unchecked<number | undefined>(),
  bnEpsilon: unchecked<number | undefined>(),
} satisfies OptionSpec<Omit<VggOptions, keyof ClassifierOptions>>;

type ClassifierSettings = ReturnType<typeof resolveClassifierOptions>;

/** How {@link vggFeatures} builds its layers. */
interface FeatureSettings {
  batchNorm: boolean;
  top: ClassifierSettings;
  bn: ReturnType<typeof checkBatchNormOptions>;
  seedOf: (layer: string) => number | undefined;
}

/** The convolutional part of a VGG configuration, applied to `x`. */
function vggFeatures(
  x: SymbolicTensor,
  config: VggConfig,
  { batchNorm, top, bn, seedOf }: FeatureSettings,
): SymbolicTensor {
  let y = x;
  let block = 1;
  let conv = 1;
  for (const entry of VGG_CONFIGS[config] as readonly (
    number | 'M' | 'LRN' | { filters: number; kernelSize: 1 }
  )[]) {
    if (entry === 'M') {
      y = layers
        .maxPooling2d({ poolSize: 2, strides: 2, name: `block${block}_pool` })
        .apply(y) as SymbolicTensor;
      block += 1;
      conv = 1;
      continue;
    }
    if (entry === 'LRN') {
      y = new LocalResponseNormalization({ name: `block${block}_lrn` }).apply(y) as SymbolicTensor;
      continue;
    }
    const { filters, kernelSize } =
      typeof entry === 'number' ? { filters: entry, kernelSize: 3 } : entry;
    const name = `block${block}_conv${conv}`;
    y = layers
      .conv2d({
        filters,
        kernelSize,
        padding: 'same', // stride 1: TF's 'same' is PyTorch's symmetric padding=k//2
        activation: batchNorm ? 'linear' : 'relu',
        kernelInitializer: top.skipInit ? 'zeros' : kaimingNormalFanOut(seedOf(name)),
        name,
      })
      .apply(y) as SymbolicTensor;
    if (batchNorm) {
      y = new BatchNormalization({
        axis: -1,
        momentum: bn.bnMomentum,
        epsilon: bn.bnEpsilon,
        name: `${name}_bn`,
      }).apply(y) as SymbolicTensor;
      y = layers
        .activation({ activation: 'relu', name: `${name}_relu` })
        .apply(y) as SymbolicTensor;
    }
    conv += 1;
  }
  return y;
}

/** The three fully connected layers (with dropout after the first two), applied to `features`. */
function classifierHead(
  features: SymbolicTensor,
  top: ClassifierSettings,
  dropout: number,
  seedOf: (layer: string) => number | undefined,
): SymbolicTensor {
  let y = features;
  // NHWC flatten: the order differs from PyTorch's NCHW flatten; weight import permutes fc1's rows.
  y = layers.flatten({ name: 'flatten' }).apply(y) as SymbolicTensor;
  const dense = (units: number, activation: 'relu' | 'softmax' | 'linear', name: string) =>
    layers
      .dense({
        units,
        activation,
        kernelInitializer: top.skipInit
          ? 'zeros'
          : initializers.randomNormal({ mean: 0, stddev: 0.01, seed: seedOf(name) }),
        name,
      })
      .apply(y) as SymbolicTensor;
  for (const name of ['fc1', 'fc2']) {
    y = dense(VGG_FC_UNITS, 'relu', name);
    if (dropout > 0)
      y = layers.dropout({ rate: dropout, name: `${name}_dropout` }).apply(y) as SymbolicTensor;
  }
  y = dense(top.classes, top.classifierActivation, 'predictions');
  return y;
}

/**
 * Builds any VGG configuration: the generic builder behind the named
 * factories. Layers are named as in Keras' VGG16/VGG19 (`block1_conv1` …
 * `block5_pool`, `flatten`, `fc1`, `fc2`, `predictions`), with `_bn` and
 * `_relu` layers after each convolution when `batchNorm` is on, so plain VGG-16
 * and VGG-19 weights from Keras also fit.
 *
 * Convolutions are initialised as torchvision does (Kaiming fan-out, zero
 * bias) and the fully connected layers with N(0, 0.01²).
 *
 * @param config - Which column of Table 1: `'A'`, `'A-LRN'`, `'B'`, `'C'`, `'D'` or `'E'`.
 * @param opts - Options, with the model's `name` required; see {@link VggOptions}.
 * @returns An uncompiled `tf.LayersModel`.
 * @throws Error, before any layer is created, for an unknown configuration, or
 *   as the factories do (see {@link VggOptions}).
 *
 * @example
 * ```ts
 * // VGG-16 with BN as a 10-class CIFAR-sized classifier.
 * const net = buildVgg('D', { name: 'vgg16_cifar', batchNorm: true, inputShape: [32, 32, 3], classes: 10 });
 * ```
 * @see [Simonyan & Zisserman, arXiv 1409.1556, §2.1–2.2 and Table 1](https://arxiv.org/abs/1409.1556)
 */
export function buildVgg(config: VggConfig, opts: VggOptions & { name: string }): LayersModel {
  const where = opts.name;
  const { batchNorm, dropout } = checkOptions(where, opts, VGG_SPEC, {
    allowed: CLASSIFIER_OPTION_KEYS,
  });
  if (!(config in VGG_CONFIGS)) {
    throw new Error(
      `buildVgg: unknown configuration ${JSON.stringify(config)}; expected one of ${Object.keys(VGG_CONFIGS).join(', ')}.`,
    );
  }
  const top = resolveClassifierOptions(where, opts, {
    name: opts.name,
    totalStride: VGG_TOTAL_STRIDE,
  });
  if (top.includeTop && (top.inputShape[0] === null || top.inputShape[1] === null)) {
    throw new Error(
      `${where}: with includeTop the input size must be known (the first fully connected layer's size depends on it); ` +
        `received inputShape [${top.inputShape.join(', ')}]. Use includeTop: false for any input size.`,
    );
  }
  const bn = checkBatchNormOptions(where, opts);
  const seedOf = (layer: string) =>
    top.seed === undefined ? undefined : layerSeed(top.seed, layer);

  const x = input({ shape: top.inputShape, name: 'input' });
  const features = vggFeatures(x, config, { batchNorm, top, bn, seedOf });

  if (!top.includeTop) {
    return model({ inputs: x, outputs: globalPooling(features, top.pooling), name: top.name });
  }
  const y = classifierHead(features, top, dropout, seedOf);
  return model({ inputs: x, outputs: y, name: top.name });
}

function named(config: VggConfig, name: string, opts: VggOptions): LayersModel {
  return buildVgg(config, { ...opts, name: opts.name ?? (opts.batchNorm ? `${name}_bn` : name) });
}

/** VGG-11, configuration A, torchvision's `vgg11`; see {@link VggOptions}. */
export const vgg11 = withWeights<VggOptions>(
  (o) => (o.batchNorm ? 'vgg11_bn' : 'vgg11'),
  (opts = {}) => named('A', 'vgg11', opts),
);
/** VGG-11 with BN, torchvision's `vgg11_bn`; see {@link VggOptions}. */
export const vgg11Bn = withWeights<VggOptions>('vgg11_bn', (opts = {}) =>
  vgg11({ ...opts, batchNorm: true }),
);
/** VGG-11 with LRN after the first convolution, configuration A-LRN (found not to help, §4.1); see {@link VggOptions}. */
export const vgg11Lrn = withWeights<VggOptions>(
  (o) => (o.batchNorm ? 'vgg11_lrn_bn' : 'vgg11_lrn'),
  (opts = {}) => named('A-LRN', 'vgg11_lrn', opts),
);
/** VGG-13, configuration B, torchvision's `vgg13`; see {@link VggOptions}. */
export const vgg13 = withWeights<VggOptions>(
  (o) => (o.batchNorm ? 'vgg13_bn' : 'vgg13'),
  (opts = {}) => named('B', 'vgg13', opts),
);
/** VGG-13 with BN, torchvision's `vgg13_bn`; see {@link VggOptions}. */
export const vgg13Bn = withWeights<VggOptions>('vgg13_bn', (opts = {}) =>
  vgg13({ ...opts, batchNorm: true }),
);
/** VGG-16 with three 1×1 convolutions, configuration C; see {@link VggOptions}. */
export const vgg16C = withWeights<VggOptions>(
  (o) => (o.batchNorm ? 'vgg16_c_bn' : 'vgg16_c'),
  (opts = {}) => named('C', 'vgg16_c', opts),
);
/** VGG-16, configuration D, torchvision's `vgg16`; see {@link VggOptions}. */
export const vgg16 = withWeights<VggOptions>(
  (o) => (o.batchNorm ? 'vgg16_bn' : 'vgg16'),
  (opts = {}) => named('D', 'vgg16', opts),
);
/** VGG-16 with BN, torchvision's `vgg16_bn`; see {@link VggOptions}. */
export const vgg16Bn = withWeights<VggOptions>('vgg16_bn', (opts = {}) =>
  vgg16({ ...opts, batchNorm: true }),
);
/** VGG-19, configuration E, torchvision's `vgg19`; see {@link VggOptions}. */
export const vgg19 = withWeights<VggOptions>(
  (o) => (o.batchNorm ? 'vgg19_bn' : 'vgg19'),
  (opts = {}) => named('E', 'vgg19', opts),
);
/** VGG-19 with BN, torchvision's `vgg19_bn`; see {@link VggOptions}. */
export const vgg19Bn = withWeights<VggOptions>('vgg19_bn', (opts = {}) =>
  vgg19({ ...opts, batchNorm: true }),
);
