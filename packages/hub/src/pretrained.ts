import { join } from 'node:path';
import {
  CATEGORY_COUNTS,
  loadTorchWeights,
  modelRegistry,
  pretrainedWeights,
  type ClassifierOptions,
  type LoadTorchWeightsOptions,
  type ModelEntry,
  type PretrainedWeights,
} from '@convnets/layers';
import { RESNET_ALIASES, RESNET_MODELS } from '@convnets/resnet';
import { VGG_ALIASES, VGG_MODELS } from '@convnets/vgg';
import {
  checkBoolean,
  checkOptions,
  optional,
  withDefault,
  type OptionSpec,
  type Resolved,
} from '@convnets/validate';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { convnetsHome, fileNameOf, httpUrl } from './cache';
import { checkFunction, DOWNLOAD_SPEC, fetchToFile, type DownloadOptions } from './download';

/** The model packages' tables, merged. */
const MODELS = modelRegistry(
  { models: RESNET_MODELS, aliases: RESNET_ALIASES },
  { models: VGG_MODELS, aliases: VGG_ALIASES },
);

/** Every model name with pretrained weights, in registry order. */
export const PRETRAINED_MODELS: readonly string[] = Object.freeze(
  MODELS.names.filter((name) => Object.keys(MODELS.models[name].weights).length > 0),
);

/** Options of {@link downloadWeights}: those of `download` (without `sha256` and `md5`: the registry's hash is checked; without `path`: the cache holds them) and a mirror. */
export interface WeightsOptions extends Omit<DownloadOptions, 'sha256' | 'md5' | 'path'> {
  /**
   * A mirror of the weights' server, for machines that cannot reach it: its
   * scheme, host and port (and path, if any) replace the canonical URL's
   * origin, keeping the canonical path. `http://mirror:8080/torch` turns
   * `https://download.pytorch.org/models/resnet50-11ad3fa6.pth` into
   * `http://mirror:8080/torch/models/resnet50-11ad3fa6.pth`. The file's hash
   * is checked all the same.
   *
   * @defaultValue `$CONVNETS_WEIGHTS_MIRROR`, else none
   */
  mirror?: string;
}

/** An http(s) URL. */
const checkUrl = (where: string, option: string, value: unknown): string =>
  httpUrl(`${where}: option "${option}"`, value as string).href;

const { sha256: _sha256, md5: _md5, path: _path, ...DOWNLOAD_SETTINGS } = DOWNLOAD_SPEC;

/** The one declaration of {@link WeightsOptions}. */
const WEIGHTS_SPEC = {
  ...DOWNLOAD_SETTINGS,
  mirror: optional(checkUrl),
} satisfies OptionSpec<WeightsOptions>;

/** What {@link downloadWeights} resolves to. */
export interface DownloadedWeights {
  /** The cached file: `<home>/weights/<file name of the canonical URL>`. */
  readonly path: string;
  /** The weights' registry entry (`DEFAULT` resolved). */
  readonly weights: PretrainedWeights;
  /** The model's registry entry. */
  readonly model: ModelEntry;
}

/**
 * `canonical` with its origin replaced by `mirror` (whose path, if any, is
 * kept as a prefix): what `CONVNETS_WEIGHTS_MIRROR` does to the registry's URLs.
 *
 * @example
 * ```ts
 * mirrored('https://download.pytorch.org/models/resnet50-11ad3fa6.pth', 'http://m:8080/torch');
 * // 'http://m:8080/torch/models/resnet50-11ad3fa6.pth'
 * ```
 */
export function mirrored(canonical: string, mirror: string): string {
  return mirror.replace(/\/+$/, '') + new URL(canonical).pathname;
}

/** The registry entry of `arch` and its weights `name`, or an error listing what there is. */
function lookUp(arch: string | ModelEntry, name: string): [ModelEntry, PretrainedWeights] {
  const entry = typeof arch === 'string' ? MODELS.get(arch) : arch;
  if (Object.keys(entry.weights).length === 0)
    throw new Error(
      `${entry.name} has no pretrained weights; models with weights: ${PRETRAINED_MODELS.join(', ')}.`,
    );
  return [entry, pretrainedWeights(entry, name)];
}

/** {@link downloadWeights} after its options are checked. */
async function fetchWeights(
  arch: string | ModelEntry,
  name: string,
  o: Resolved<typeof WEIGHTS_SPEC>,
): Promise<DownloadedWeights> {
  const [model, weights] = lookUp(arch, name);
  const path = join(o.home ?? convnetsHome(), 'weights', fileNameOf(new URL(weights.url)));
  const fromEnv = process.env.CONVNETS_WEIGHTS_MIRROR;
  const mirror =
    o.mirror ?? (fromEnv ? httpUrl('$CONVNETS_WEIGHTS_MIRROR', fromEnv).href : undefined);
  const source = mirror ? mirrored(weights.url, mirror) : weights.url;
  await fetchToFile(source, path, { ...o, sha256: weights.sha256 });
  return { path, weights, model };
}

/**
 * Downloads a model's pretrained weights by name into the cache, once
 * (`<home>/weights/resnet50-11ad3fa6.pth`), checking the SHA-256 prefix in
 * the file name as torch.hub does; a cached file is used without network
 * access. Downloads resume and are atomic, as `download`'s.
 *
 * @param arch - A registry name (`resnet50`, `vgg16_bn`) or a registry entry.
 * @param weights - A name of the model's weights, or `'DEFAULT'`. Default `'DEFAULT'`.
 * @param opts - Cache folder, mirror, progress, timeout, retries, abort; see {@link WeightsOptions}.
 * @returns The file's path, the weights' entry and the model's.
 * @throws Error for an unknown model (listing the names), a model without
 *   weights (listing those with some), an unknown weights name (listing the
 *   model's), an invalid option, or any error of `download`.
 * @example
 * ```ts
 * const { path, weights } = await downloadWeights('resnet50', 'IMAGENET1K_V2');
 * weights.transforms.resizeSize; // 232
 * ```
 */
export async function downloadWeights(
  arch: string | ModelEntry,
  weights = 'DEFAULT',
  opts: WeightsOptions = {},
): Promise<DownloadedWeights> {
  return fetchWeights(arch, weights, checkOptions('downloadWeights', opts, WEIGHTS_SPEC));
}

/**
 * Options of {@link pretrained}: those of {@link downloadWeights}, how
 * strictly to load, the loader's `onWarning`, and the model's options
 * (checked by its factory: `inputShape`, `includeTop`, `classes`, `seed`,
 * and the family's own, such as ResNets' `strideIn`).
 */
export interface PretrainedOptions extends WeightsOptions, ClassifierOptions {
  /**
   * Told when loaded tensors hold NaN or infinite values, as the families'
   * `loadWeights` tells it.
   *
   * @defaultValue `undefined`: the message goes to `console.warn`
   */
  onWarning?: LoadTorchWeightsOptions['onWarning'];
  /**
   * Whether every weight of the model must load from the file. With
   * `false`, what fits loads and the rest stays as initialised (use
   * {@link downloadWeights} and the family's `loadWeights` with
   * `strict: false` to see the report). A head left out (`includeTop:
   * false`) or replaced (`classes` other than the weights') is skipped
   * either way.
   *
   * @defaultValue `true`
   */
  strict?: boolean;
}

/** The one declaration of {@link pretrained}'s own options; the model's are checked by its factory. */
const PRETRAINED_SPEC = {
  ...WEIGHTS_SPEC,
  onWarning: optional(checkFunction<NonNullable<PretrainedOptions['onWarning']>>),
  strict: withDefault(checkBoolean, true),
} satisfies OptionSpec<Omit<PretrainedOptions, keyof ClassifierOptions>>;

/** `opts` split into {@link pretrained}'s own options (checked) and the model's. */
function splitOptions(opts: PretrainedOptions) {
  const own: Record<string, unknown> = {};
  const model: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts ?? {}))
    (Object.hasOwn(PRETRAINED_SPEC, key) ? own : model)[key] = value;
  return { own: checkOptions('pretrained', own, PRETRAINED_SPEC), model };
}

/** `/^fc\./` for `fc.weight`: the keys of the module holding the classifier's weight. */
const moduleOf = (key: string): RegExp =>
  new RegExp(`^${key.replace(/weight$/, '').replaceAll('.', '\\.')}`);

/**
 * How to build `entry`'s model for weights `w`: its options (a fresh head
 * of `classes`, the file's count by default), and the file's keys to skip:
 * the head when left out (`includeTop: false`) or replaced (other `classes`).
 */
function transferPlan(
  entry: ModelEntry,
  w: PretrainedWeights,
  model: Record<string, unknown>,
  strict: boolean,
): { build: Record<string, unknown>; skip: RegExp | undefined } {
  const count = CATEGORY_COUNTS[w.categories];
  const classes = model.classes ?? count;
  const top = model.includeTop !== false;
  const skip = !top
    ? entry.stateDict.head
    : classes !== count
      ? moduleOf(entry.torchvisionClassifierKey)
      : undefined;
  // Every weight is overwritten only by a strict load of the whole file: initialisers are wasted then.
  const skipInit = model.skipInit ?? (strict && top && skip === undefined);
  return { build: { ...model, ...(top ? { classes } : {}), skipInit }, skip };
}

/**
 * A model with its pretrained weights, by name: torchvision's, as
 * `torchvision.models.resnet50(weights="IMAGENET1K_V2")` or Keras'
 * `ResNet50(weights="imagenet")`. The families' factories call it for their
 * `weights` option (`resnet50({ weights: 'IMAGENET1K_V2' })`). The model is
 * built (options checked) before anything is downloaded; the file is
 * fetched with {@link downloadWeights} and loaded with the family's
 * `loadWeights` (`from: 'torchvision'`). Feed it images prepared as
 * `weights.transforms` says (e.g. with `@convnets/imagenet-data`'s
 * `torchvisionEval({ resize: 232 })` for V2 ResNets); its outputs are the
 * weights' categories (ImageNet's classes: `IMAGENET_CLASSES`).
 *
 * For transfer learning, `includeTop: false` loads the backbone and skips
 * the file's classifier (`fc.*`, `classifier.*`), and `classes: N` (other
 * than the weights' 1000) loads the backbone under a fresh last layer,
 * initialised from `seed`.
 *
 * @param arch - A registry name (`resnet50`, `vgg16_bn`) or a registry entry.
 * @param weights - A name of the model's weights, or `'DEFAULT'`. Default `'DEFAULT'`.
 * @param opts - Download options, `strict`, `onWarning` and the model's options; see {@link PretrainedOptions}.
 * @returns The model, its weights loaded.
 * @throws Error as {@link downloadWeights}, for an option the factory refuses,
 *   or when the file does not load (nothing is loaded then, and the model is disposed).
 * @example
 * ```ts
 * import { pretrained } from '@convnets/hub';
 * const net = await pretrained('resnet50', 'IMAGENET1K_V2'); // resize 232, crop 224
 * const logits = await pretrained('vgg16_bn', 'DEFAULT', { classifierActivation: null });
 * const flowers = await pretrained('resnet18', 'DEFAULT', { classes: 5, seed: 1 }); // new head
 * ```
 */
export async function pretrained(
  arch: string | ModelEntry,
  weights = 'DEFAULT',
  opts: PretrainedOptions = {},
): Promise<LayersModel> {
  const { own, model } = splitOptions(opts);
  const { onWarning, strict, ...o } = own;
  const [entry, w] = lookUp(arch, weights);
  const { build, skip } = transferPlan(entry, w, model, strict);
  const net = entry.build(build);
  try {
    const { path } = await fetchWeights(entry, weights, o);
    await loadTorchWeights(net, path, entry.stateDict, {
      from: 'torchvision',
      strict,
      ...(skip ? { skip } : {}),
      ...(onWarning ? { onWarning } : {}),
    });
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
