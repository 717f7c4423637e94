import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ClassifierOptions } from './model-options';
import type { PretrainedWeights } from './pretrained';
import type { StateDictFormat } from './weights/state-dict';

/**
 * How training images are augmented, with every length in pixels at the
 * model's {@link ModelEntry.defaultImageSize} (scale them for another size):
 *
 * - `'scale-augmentation'`: shorter side resized to a random length in
 *   `shorterSide`, a random crop and a horizontal flip (the ResNet paper, §3.4);
 * - `'fixed-scale'`: shorter side resized to `shorterSide`, then the same
 *   crop and flip (the VGG paper's single-scale training, §3.1);
 * - `'pad-and-crop'`: `padding` zero pixels on every side, a random crop of
 *   the original size and a flip (the ResNet paper's CIFAR recipe, §4.2).
 */
export type TrainPreprocessing =
  | { readonly kind: 'scale-augmentation'; readonly shorterSide: readonly [number, number] }
  | { readonly kind: 'fixed-scale'; readonly shorterSide: number }
  | { readonly kind: 'pad-and-crop'; readonly padding: number };

/**
 * How evaluation images are prepared, lengths as in {@link TrainPreprocessing}:
 * `'resize-and-center-crop'` resizes the shorter side to `shorterSide` and
 * takes the central crop; `'whole-image'` uses the image as it is.
 */
export type EvalPreprocessing =
  | { readonly kind: 'resize-and-center-crop'; readonly shorterSide: number }
  | { readonly kind: 'whole-image' };

/**
 * A model's preprocessing as data, for a data package to turn into
 * transforms. `normalization` names the data set whose per-channel mean and
 * standard deviation are used (the numbers live with the data code).
 */
export interface Preprocessing {
  /** Training augmentation. */
  readonly train: TrainPreprocessing;
  /** Evaluation resize and crop. */
  readonly eval: EvalPreprocessing;
  /** Whose per-channel statistics normalise the pixels. */
  readonly normalization: 'imagenet' | 'cifar10';
}

/** A named stage of a model: what {@link ModelEntry.stages} lists. */
export interface ModelStage {
  /** The stage's name, e.g. `conv3` (ResNet's conv3_x) or `block3` (VGG). */
  readonly name: string;
  /** The layer whose output is the stage's output, e.g. `conv3_block4_out` or `block3_pool`. */
  readonly layer: string;
}

/**
 * Everything the tools know about one named model, timm-style: the one place
 * a command line, the docs, feature extraction and weight import read. Each
 * model package exports a table of these ({@link ModelTable}); combine tables
 * with {@link modelRegistry}.
 *
 * @typeParam Options - The options its factory takes beyond {@link ClassifierOptions}.
 */
export interface ModelEntry<Options extends ClassifierOptions = ClassifierOptions> {
  /** The canonical snake_case name, torchvision's where torchvision has the model (`resnet50`, `vgg16_bn`). */
  readonly name: string;
  /** Architecture family: decides the layer naming, the state-dict format and the paper recipe. */
  readonly family: 'resnet' | 'vgg';
  /** The data set the architecture was designed for. */
  readonly dataset: 'imagenet' | 'cifar10';
  /** Whether torchvision builds this model under the same name (so its weights load as they are). */
  readonly inTorchvision: boolean;
  /** Height and width of the input the architecture was designed for (224 or 32). */
  readonly defaultImageSize: number;
  /** Its training and evaluation preprocessing. */
  readonly preprocessing: Preprocessing;
  /** Its stages, input to output, as {@link ModelEntry.build} names them with default options. */
  readonly stages: readonly ModelStage[];
  /**
   * The PyTorch state-dict format of its weights: torchvision's for the
   * ImageNet models, PyTorch CIFAR ResNets' for the CIFAR nets.
   */
  readonly stateDict: StateDictFormat;
  /**
   * The key of the classifier's weight in that state dict (its first
   * dimension is the class count), as {@link StateDictFormat.map} names it.
   */
  readonly torchvisionClassifierKey: string;
  /**
   * Its pretrained weights by name (torchvision's: `IMAGENET1K_V1`,
   * `IMAGENET1K_V2`), empty for a model without any. Look one up with
   * `pretrainedWeights(entry, name)`, which also accepts `'DEFAULT'`.
   */
  readonly weights: Readonly<Record<string, PretrainedWeights>>;
  /** The name `'DEFAULT'` stands for, as torchvision's `DEFAULT` (the most accurate weights); `undefined` without weights. */
  readonly defaultWeights?: string;
  /** Builds the model; the options are its factory's, e.g. `{ classes, inputShape, seed, skipInit }`. */
  build(options?: Options): LayersModel;
}

/** Model entries by canonical name, as a model package exports them. */
export type ModelTable = Readonly<Record<string, ModelEntry>>;

/** Other spellings of model names (e.g. older command-line names) → canonical names. */
export type AliasTable = Readonly<Record<string, string>>;

/** A merged, read-only view of several {@link ModelTable}s and {@link AliasTable}s. */
export interface ModelRegistry {
  /** Every canonical name, in table order. */
  readonly names: readonly string[];
  /** Every entry by canonical name. */
  readonly models: ModelTable;
  /** Every alias → its canonical name. */
  readonly aliases: AliasTable;
  /** The entry for a canonical name or alias, or `undefined`. */
  find(name: string): ModelEntry | undefined;
  /**
   * The entry for a canonical name or alias.
   *
   * @throws Error naming the unknown model and listing every canonical name.
   */
  get(name: string): ModelEntry;
}

/**
 * Merges model packages' tables into one registry: the lookup a command line
 * or a config file uses, with no global state (each call builds its own).
 *
 * @param parts - Each package's `{ models, aliases }`, e.g. `@convnets/resnet`'s
 *   `RESNET_MODELS` and `RESNET_ALIASES`.
 * @returns The merged {@link ModelRegistry}.
 * @throws Error when two tables define the same name, an alias shadows a
 *   name, or an alias points to no model.
 *
 * @example
 * ```ts
 * import { modelRegistry } from '@convnets/layers';
 * import { RESNET_ALIASES, RESNET_MODELS } from '@convnets/resnet';
 * import { VGG_ALIASES, VGG_MODELS } from '@convnets/vgg';
 * const models = modelRegistry(
 *   { models: RESNET_MODELS, aliases: RESNET_ALIASES },
 *   { models: VGG_MODELS, aliases: VGG_ALIASES },
 * );
 * const net = models.get('vgg16-bn').build({ classes: 10, seed: 1 }); // vgg16_bn
 * ```
 */
export function modelRegistry(
  ...parts: readonly { models: ModelTable; aliases?: AliasTable }[]
): ModelRegistry {
  const models: Record<string, ModelEntry> = {};
  const aliases: Record<string, string> = {};
  for (const part of parts) {
    for (const [name, entry] of Object.entries(part.models)) {
      if (Object.hasOwn(models, name))
        throw new Error(`modelRegistry: model "${name}" is defined twice.`);
      models[name] = entry;
    }
    Object.assign(aliases, part.aliases);
  }
  for (const [alias, name] of Object.entries(aliases)) {
    if (Object.hasOwn(models, alias) || !Object.hasOwn(models, name)) {
      throw new Error(
        `modelRegistry: alias "${alias}" → "${name}" ${Object.hasOwn(models, alias) ? 'shadows a model name' : 'names no model'}.`,
      );
    }
  }
  const names = Object.keys(models);
  const find = (name: string) =>
    Object.hasOwn(models, name)
      ? models[name]
      : Object.hasOwn(aliases, name)
        ? models[aliases[name]]
        : undefined;
  return {
    names,
    models: Object.freeze(models),
    aliases: Object.freeze(aliases),
    find,
    get(name) {
      const entry = find(name);
      if (!entry) throw new Error(`unknown model "${name}"; expected one of ${names.join(', ')}.`);
      return entry;
    },
  };
}
