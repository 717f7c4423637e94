import type { ModelEntry, Preprocessing } from './registry';

/**
 * The classes a set of pretrained weights predicts, by name: `'imagenet1k'`
 * is ImageNet-1K's 1000 classes in torchvision's order (sorted WordNet IDs;
 * their names are `@convnets/imagenet-data`'s `IMAGENET_CLASSES`, which this
 * package does not import).
 */
export type WeightCategories = 'imagenet1k';

/** How many classes each {@link WeightCategories} holds: a model built for the weights has that many outputs. */
export const CATEGORY_COUNTS: Readonly<Record<WeightCategories, number>> = Object.freeze({
  imagenet1k: 1000,
});

/**
 * The evaluation transform a set of weights was measured with, as
 * torchvision's `ImageClassification` preset: the shorter side resized to
 * `resizeSize` (bilinear), the central `cropSize` square, then
 * `(x / 255 − mean) / std` with `normalization`'s statistics.
 */
export interface WeightsTransform {
  /** Shorter side before the crop: 256 for torchvision's V1 weights, 232 for V2. */
  readonly resizeSize: number;
  /** Side of the central crop the model sees: 224. */
  readonly cropSize: number;
  /** Resize interpolation. */
  readonly interpolation: 'bilinear';
  /** Whose per-channel mean and standard deviation normalise the pixels. */
  readonly normalization: Preprocessing['normalization'];
}

/** The accuracies reported for a set of weights, in percent (ImageNet-1K validation, one centre crop). */
export interface WeightsMetrics {
  /** Top-1 accuracy, %. */
  readonly acc1: number;
  /** Top-5 accuracy, %. */
  readonly acc5: number;
}

/**
 * One set of pretrained weights of a model: where the file is, how to check
 * it, and how to use the model it fills. Listed in {@link ModelEntry.weights}
 * under its name (`IMAGENET1K_V2`).
 */
export interface PretrainedWeights {
  /** Its name, torchvision's enum member (`IMAGENET1K_V1`, `IMAGENET1K_V2`). */
  readonly name: string;
  /** The canonical URL of the file (a `torch.save` `.pth` for torchvision's). */
  readonly url: string;
  /**
   * The first hex digits of the file's SHA-256: for torchvision's files the
   * hash in the file name (`resnet50-11ad3fa6.pth`), what `torch.hub` checks.
   */
  readonly sha256: string;
  /** The classes it predicts; see {@link WeightCategories}. */
  readonly categories: WeightCategories;
  /** The evaluation transform it was measured with. */
  readonly transforms: WeightsTransform;
  /** Its parameter count, as torchvision reports it. */
  readonly numParams: number;
  /** Its reported ImageNet-1K accuracy. */
  readonly metrics: WeightsMetrics;
}

/** Where torchvision's weight files are served. */
export const TORCHVISION_WEIGHTS_URL = 'https://download.pytorch.org/models/';

/**
 * The SHA-256 prefix in a file name that follows torch.hub's convention
 * `name-<hex>.ext` (8 to 64 lowercase hex digits before the first dot after
 * the last dash), or `undefined` when the name has none. Only the last path
 * segment of a URL or path is read.
 *
 * @example
 * ```ts
 * torchHubHashPrefix('https://download.pytorch.org/models/resnet50-11ad3fa6.pth'); // '11ad3fa6'
 * torchHubHashPrefix('model.safetensors'); // undefined
 * ```
 */
export function torchHubHashPrefix(fileName: string): string | undefined {
  const base = fileName.split(/[/\\]/).pop()!.split(/[?#]/)[0];
  return /-([0-9a-f]{8,64})\.[^-]*$/.exec(base)?.[1];
}

/** What {@link torchvisionWeights} needs beyond the file name. */
export interface TorchvisionWeightsSpec {
  /** File name under {@link TORCHVISION_WEIGHTS_URL}, with the hash: `resnet50-11ad3fa6.pth`. */
  readonly file: string;
  /** Reported top-1 and top-5 accuracy, %. */
  readonly acc: readonly [number, number];
  /** Shorter side of the evaluation resize. @defaultValue 256 */
  readonly resizeSize?: number;
}

/**
 * The registry's fields for torchvision's ImageNet-1K weights of one model:
 * URL and hash come from each file name (said once); categories, crop (224),
 * interpolation and normalisation are torchvision's.
 *
 * @param numParams - The model's parameter count, as torchvision reports it.
 * @param specs - Each weights' file, accuracies and resize, by name.
 * @param defaultWeights - The name `'DEFAULT'` stands for, as in torchvision.
 * @returns {@link ModelEntry.weights} (frozen) and {@link ModelEntry.defaultWeights}.
 * @throws Error when a file name carries no torch.hub hash, or
 *   `defaultWeights` is not one of the names.
 * @example
 * ```ts
 * const { weights } = torchvisionWeights(
 *   25557032,
 *   { IMAGENET1K_V2: { file: 'resnet50-11ad3fa6.pth', acc: [80.858, 95.434], resizeSize: 232 } },
 *   'IMAGENET1K_V2',
 * );
 * weights.IMAGENET1K_V2.sha256; // '11ad3fa6'
 * ```
 */
export function torchvisionWeights(
  numParams: number,
  specs: Readonly<Record<string, TorchvisionWeightsSpec>>,
  defaultWeights: string,
): Pick<ModelEntry, 'weights' | 'defaultWeights'> {
  const table: Record<string, PretrainedWeights> = {};
  for (const [name, { file, acc, resizeSize = 256 }] of Object.entries(specs)) {
    const sha256 = torchHubHashPrefix(file);
    if (sha256 === undefined)
      throw new Error(`torchvisionWeights: file "${file}" has no "-<hex>." hash in its name.`);
    table[name] = Object.freeze({
      name,
      url: TORCHVISION_WEIGHTS_URL + file,
      sha256,
      categories: 'imagenet1k',
      transforms: Object.freeze({
        resizeSize,
        cropSize: 224,
        interpolation: 'bilinear',
        normalization: 'imagenet',
      }),
      numParams,
      metrics: Object.freeze({ acc1: acc[0], acc5: acc[1] }),
    });
  }
  if (!Object.hasOwn(table, defaultWeights))
    throw new Error(`torchvisionWeights: the default "${defaultWeights}" is not one of the names.`);
  return { weights: Object.freeze(table), defaultWeights };
}

/**
 * A model's weights by name, `'DEFAULT'` being its
 * {@link ModelEntry.defaultWeights} (as torchvision's `DEFAULT`).
 *
 * @param entry - The model's registry entry.
 * @param name - A name in {@link ModelEntry.weights}, or `'DEFAULT'`.
 * @returns The weights.
 * @throws Error naming the model and the unknown name and listing the
 *   model's weights, or saying that the model has none.
 * @example
 * ```ts
 * import { RESNET_MODELS } from '@convnets/resnet';
 * pretrainedWeights(RESNET_MODELS.resnet50, 'DEFAULT').name; // 'IMAGENET1K_V2'
 * ```
 */
export function pretrainedWeights(
  entry: Pick<ModelEntry, 'name' | 'weights' | 'defaultWeights'>,
  name: string,
): PretrainedWeights {
  const names = Object.keys(entry.weights);
  if (names.length === 0) throw new Error(`${entry.name} has no pretrained weights.`);
  const resolved = name === 'DEFAULT' && entry.defaultWeights ? entry.defaultWeights : name;
  if (!Object.hasOwn(entry.weights, resolved))
    throw new Error(
      `${entry.name} has no weights "${name}"; expected one of ${[...names, ...(entry.defaultWeights ? ['DEFAULT'] : [])].join(', ')}.`,
    );
  return entry.weights[resolved];
}
