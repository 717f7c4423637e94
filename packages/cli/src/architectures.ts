import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  CHANNEL_PADDINGS,
  loadTorchWeights,
  modelRegistry,
  torchShape,
  type ChannelPadding,
  type LoadWeightsReport,
  type ModelEntry,
} from '@convnets/layers';
import { cifarPlain, cifarResNet, RESNET_ALIASES, RESNET_MODELS } from '@convnets/resnet';
import { VGG_ALIASES, VGG_MODELS } from '@convnets/vgg';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  cifarEval,
  cifarTrain,
  resnetPaperEval,
  resnetPaperTrain,
  tenCrop,
  vggPaperTrain,
  type MeanImage,
  type Normalization,
  type Transform,
} from '@convnets/imagenet-data';

/** Every model of the model packages, by registry name and by the CLI's older spellings. */
const MODELS = modelRegistry(
  { models: RESNET_MODELS, aliases: RESNET_ALIASES },
  { models: VGG_MODELS, aliases: VGG_ALIASES },
);

/** Every accepted `--arch`: the registry's names, then their older spellings (CIFAR depths are any 6n + 2). */
export const ARCHITECTURES: readonly string[] = [...MODELS.names, ...Object.keys(MODELS.aliases)];

/** The registry entry of an `--arch` name or alias (its pretrained weights, …), or undefined. */
export const modelEntry = (name: string): ModelEntry | undefined => MODELS.find(name);

/** A CIFAR ResNet or plain net of any depth 6n + 2 outside the registry's (the paper's) depths. */
function cifarOfAnyDepth(name: string): ModelEntry | undefined {
  const m = /^cifar[-_](resnet|plain)(\d+)$/.exec(name);
  if (!m) return undefined;
  const template = MODELS.get(`cifar_${m[1]}20`);
  const factory = m[1] === 'resnet' ? cifarResNet : cifarPlain;
  return { ...template, name, build: (options) => factory(Number(m[2]), options) };
}

/**
 * How evaluation images are normalised: `'paper'` as `convnets train` does
 * (the ImageNet mean subtracted on the 0 … 255 scale for ImageNet
 * architectures, the CIFAR-10 mean and std for CIFAR ones), `'torchvision'`
 * computes `(x / 255 − mean) / std` with ImageNet's mean and std unless
 * {@link EvalOptions} gives others (what PyTorch weights expect).
 */
export type Preprocessing = 'paper' | 'torchvision';

/** An RGB triple. */
export type Rgb = readonly [number, number, number];

/** How {@link Architecture.evalTransform} prepares images. */
export interface EvalOptions {
  /** Ten crops (ImageNet architectures only). Default: the centre crop. */
  tenCrops?: boolean;
  /** Default `'paper'`. */
  preprocessing?: Preprocessing;
  /** torchvision's per-channel mean, 0 … 1 scale. Default {@link IMAGENET_MEAN}. */
  mean?: Rgb;
  /** torchvision's per-channel std, 0 … 1 scale. Default {@link IMAGENET_STD}. */
  std?: Rgb;
  /**
   * A CIFAR net's per-pixel mean image (0 … 255 scale), replacing the
   * per-channel normalisation by `x / 255` minus it (with `'paper'` only).
   */
  pixelMean?: MeanImage;
  /**
   * The shorter side before the centre crop, at the image size: pretrained
   * weights' own (232 for torchvision's V2 ResNets). Default: the recipe's,
   * scaled to the size.
   */
  resize?: number;
}

/** Options some architectures take: {@link architecture}'s second argument. */
export interface ArchitectureOptions {
  /** Option A's zero channels, `'end'` (default) or `'both'`: CIFAR ResNets only (`--channel-padding`). */
  channelPadding?: ChannelPadding;
}

/** The classifier layer of every architecture here: its weights' last dimension is the class count. */
const CLASSIFIER_LAYER = 'predictions';

/** One weight of an architecture's model, as {@link Architecture.expectedWeights} lists it. */
export interface ExpectedWeight {
  /** `layer/weight`, e.g. `predictions/kernel`. */
  readonly name: string;
  /** Its shape in the model (tfjs layout). */
  readonly shape: readonly number[];
  /** Its key and shape in a torchvision state dict (PyTorch layout); null where the format has none. */
  readonly torchvision: { readonly key: string; readonly shape: readonly number[] } | null;
}

/** Why `--ten-crop` does not apply to `a`, or undefined when it does. */
export function tenCropRefusal(a: Pick<Architecture, 'name' | 'family'>): string | undefined {
  return a.family === 'cifar'
    ? `--ten-crop applies to ImageNet architectures (resnet*, plain*, vgg*: crops of a resized image); ${a.name} is a CIFAR net, evaluated on the whole image`
    : undefined;
}

/** A parsed architecture name. */
export interface Architecture {
  readonly name: string;
  readonly family: 'cifar' | 'resnet' | 'vgg';
  readonly defaultImageSize: number;
  /** Option A's padding where it applies (CIFAR ResNets: `'end'` unless given), else undefined. */
  readonly channelPadding: ChannelPadding | undefined;
  /** The name of its state-dict format, e.g. `torchvision ResNet`, `PyTorch CIFAR ResNet`. */
  readonly stateDictName: string;
  /** A file's state-dict key as the format's map names it (`fc.weight` → `linear.weight` for CIFAR ResNets). */
  canonicalKey(key: string): string;
  /** The key of the classifier's weight in a torchvision state dict (its first dimension is the class count). */
  readonly torchvisionClassifierKey: string;
  /**
   * Builds the model (logits out); `seed` makes its initial weights reproducible,
   * `skipInit` fills them with zeros (cheap: no random draw).
   */
  build(options: {
    classes: number;
    imageSize?: number;
    seed?: number;
    skipInit?: boolean;
  }): LayersModel;
  /**
   * Every weight of the model {@link build} makes for `classes` and
   * `imageSize`, in `model.weights` order: the one statement of an
   * architecture's shapes, taken from a 1-class model built with zero weights
   * (milliseconds, and zero pages cost no memory); the classifier's last
   * dimension is then `classes`. Check a file against it before building the
   * model it asks for.
   */
  expectedWeights(options: { classes: number; imageSize?: number }): ExpectedWeight[];
  /** State-dict keys of the torchvision format that carry nothing to load (BN's `num_batches_tracked`). */
  readonly torchvisionIgnore: RegExp | undefined;
  /**
   * Loads a torchvision state dict (safetensors bytes) into a model this
   * architecture built. Tensors holding NaN or infinite values are loaded and
   * listed in the report, not printed.
   */
  loadTorchvisionWeights(model: LayersModel, bytes: Uint8Array): Promise<LoadWeightsReport>;
  /**
   * The recipe's training transform; `pixelMean` (0 … 255 scale) replaces a CIFAR
   * net's per-channel normalisation by `x / 255` minus the mean image (ResNet §4.2).
   */
  trainTransform(imageSize: number, pixelMean?: MeanImage): Transform;
  /** @throws Error for `tenCrops` on a CIFAR architecture (see {@link tenCropRefusal}). */
  evalTransform(imageSize: number, options?: EvalOptions): Transform;
  /** {@link Architecture.evalTransform} as data: the preset and its options. */
  evalPreset(imageSize: number, options?: EvalOptions): EvalPreset;
}

/** `x / 255` minus a per-pixel mean image given on the 0 … 255 scale. */
export function pixelMeanNormalization(mean: MeanImage): Normalization {
  const data = Float32Array.from(mean.data, (v) => v / 255);
  return { scale: 1 / 255, mean: { height: mean.height, width: mean.width, data } };
}

/** A length of a recipe, given at the default size, scaled to `size`. */
type Scale = (n: number, size: number) => number;

/** The weights of `probe`, an architecture's model, with the classifier's last dimension set to `classes`. */
function weightsOf(
  probe: LayersModel,
  format: ModelEntry['stateDict'],
  classes: number,
): ExpectedWeight[] {
  return probe.weights.map((w) => {
    const shape = [...w.shape] as number[];
    const slash = w.originalName.lastIndexOf('/');
    const layer = w.originalName.slice(0, slash);
    if (layer === CLASSIFIER_LAYER) shape[shape.length - 1] = classes;
    const target = format.map({ layer, weight: w.originalName.slice(slash + 1), shape }, probe);
    return {
      name: w.originalName,
      shape,
      torchvision: target && { key: target.key, shape: torchShape(shape, target.layout) },
    };
  });
}

/** The training transform of an architecture's recipe at `size`. */
function trainTransformOf(
  train: ModelEntry['preprocessing']['train'],
  size: number,
  px: Scale,
  pixelMean: MeanImage | undefined,
): Transform {
  if (pixelMean && train.kind !== 'pad-and-crop')
    throw new Error('--pixel-mean applies to CIFAR nets (cifar_resnetN, cifar_plainN)');
  switch (train.kind) {
    case 'pad-and-crop':
      return cifarTrain({
        size,
        padding: Math.max(1, px(train.padding, size)),
        ...(pixelMean ? { normalization: pixelMeanNormalization(pixelMean) } : {}),
      });
    case 'fixed-scale':
      return vggPaperTrain({ size, scale: px(train.shorterSide, size) });
    case 'scale-augmentation':
      return resnetPaperTrain({
        size,
        scale: [px(train.shorterSide[0], size), px(train.shorterSide[1], size)],
      });
  }
}

/**
 * An evaluation transform as data: the preset of `@convnets/imagenet-data`
 * that builds it and that preset's options, all JSON-serialisable but a
 * per-pixel mean's `Float32Array` (see {@link EvalPreset.options}). What
 * `convnets export` writes into `preprocessing.json`, so that a browser
 * page rebuilds the same transform with `@convnets/imagenet-data/browser`.
 */
export interface EvalPreset {
  /** The preset function's name. */
  preset: 'cifarEval' | 'resnetPaperEval' | 'tenCrop';
  /** Its options: `cifarEval`'s `{ size, normalization? }`, the others' `{ size, resize, mean?, std? }`. */
  options: Record<string, unknown>;
}

/** Builds the transform an {@link EvalPreset} describes. */
export function evalPresetTransform({ preset, options }: EvalPreset): Transform {
  const presets = { cifarEval, resnetPaperEval, tenCrop } as Record<
    EvalPreset['preset'],
    (o: object) => Transform
  >;
  return presets[preset](options);
}

/** The evaluation transform of an architecture's recipe at `size`, as an {@link EvalPreset}. */
function evalPresetOf(
  self: Architecture,
  evaluation: ModelEntry['preprocessing']['eval'],
  size: number,
  { tenCrops = false, preprocessing = 'paper', mean, std, pixelMean, resize: shorter }: EvalOptions,
  px: Scale,
): EvalPreset {
  const refusal = tenCrops ? tenCropRefusal(self) : undefined;
  if (refusal) throw new Error(refusal);
  if (pixelMean && evaluation.kind !== 'whole-image')
    throw new Error('a per-pixel mean applies to CIFAR nets (cifar_resnetN, cifar_plainN)');
  const torchvision = preprocessing === 'torchvision';
  if (pixelMean && torchvision)
    throw new Error(
      "a per-pixel mean (the training's --pixel-mean) and --preprocess torchvision exclude each other",
    );
  const stats = { mean: mean ?? IMAGENET_MEAN, std: std ?? IMAGENET_STD };
  if (evaluation.kind === 'whole-image') {
    const options = {
      size,
      ...(torchvision ? { normalization: { scale: 1 / 255, ...stats } } : {}),
      ...(pixelMean ? { normalization: pixelMeanNormalization(pixelMean) } : {}),
    };
    return { preset: 'cifarEval', options };
  }
  const resize = shorter ?? px(evaluation.shorterSide, size);
  // torchvision's (x / 255 − mean) / std, written on the 0 … 255 scale as the paper presets take it.
  const on255 = (rgb: Rgb) => rgb.map((v) => v * 255) as unknown as Rgb;
  const normalization = torchvision ? { mean: on255(stats.mean), std: on255(stats.std) } : {};
  return {
    preset: tenCrops ? 'tenCrop' : 'resnetPaperEval',
    options: { size, resize, ...normalization },
  };
}

/** Option A's padding for `entry`: `'end'` by default for CIFAR ResNets; refused elsewhere. */
function channelPaddingOf(
  name: string,
  entry: ModelEntry,
  given: unknown,
): ChannelPadding | undefined {
  const applies = entry.dataset === 'cifar10' && /^cifar[-_]resnet\d+$/.test(name);
  if (given === undefined) return applies ? 'end' : undefined;
  if (!CHANNEL_PADDINGS.includes(given as ChannelPadding))
    throw new Error(
      `--channel-padding must be one of ${CHANNEL_PADDINGS.join(', ')}; received ${JSON.stringify(given)}`,
    );
  if (!applies)
    throw new Error(
      `--channel-padding applies to CIFAR ResNets (cifar_resnetN, whose option-A shortcuts pad channels with zeros); ${name} has no such shortcut`,
    );
  return given as ChannelPadding;
}

/**
 * Resolves an `--arch` name and its options, or throws a one-line error
 * (listing the accepted names for an unknown one).
 */
export function architecture(name: string, options: ArchitectureOptions = {}): Architecture {
  const entry = MODELS.find(name) ?? cifarOfAnyDepth(name);
  if (!entry)
    throw new Error(
      `unknown architecture "${name}"; expected one of ${ARCHITECTURES.join(', ')} (cifar_resnetN / cifar_plainN for any N = 6n + 2)`,
    );
  const channelPadding = channelPaddingOf(name, entry, options.channelPadding);
  const family = entry.dataset === 'cifar10' ? 'cifar' : entry.family;
  const { train, eval: evaluation } = entry.preprocessing;
  /** A length of the recipe, given at the default size, scaled to `size`. */
  const px = (n: number, size: number) => Math.round((n * size) / entry.defaultImageSize);
  const format = entry.stateDict;
  const self: Architecture = {
    name,
    family,
    defaultImageSize: entry.defaultImageSize,
    channelPadding,
    stateDictName: format.name,
    canonicalKey: (key) => format.canonicalKey?.(key) ?? key,
    torchvisionClassifierKey: entry.torchvisionClassifierKey,
    torchvisionIgnore: format.ignore,
    loadTorchvisionWeights: (model, bytes) =>
      loadTorchWeights(model, bytes, format, {
        from: 'torchvision',
        onWarning: () => {}, // the report carries the same tensors; the CLI prints one line
      }),
    build({ classes, imageSize, seed, skipInit }) {
      const size = imageSize ?? entry.defaultImageSize;
      return entry.build({
        classes,
        inputShape: [size, size, 3],
        classifierActivation: null,
        ...(seed === undefined ? {} : { seed }),
        ...(skipInit ? { skipInit } : {}),
        // Only where it applies (the factory of any other refuses it); 'end' is the default.
        ...(channelPadding === 'both' ? { channelPadding } : {}),
      });
    },
    expectedWeights({ classes, imageSize }) {
      const probe = self.build({ classes: 1, imageSize, skipInit: true });
      try {
        return weightsOf(probe, format, classes);
      } finally {
        probe.dispose();
      }
    },
    trainTransform: (size, pixelMean) => trainTransformOf(train, size, px, pixelMean),
    evalPreset: (size, evalOptions = {}) => evalPresetOf(self, evaluation, size, evalOptions, px),
    evalTransform: (size, evalOptions = {}) =>
      evalPresetTransform(evalPresetOf(self, evaluation, size, evalOptions, px)),
  };
  return self;
}
