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
  checkOptions,
  optional,
  unchecked,
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
 * Options of {@link pretrained}: those of {@link downloadWeights}, the
 * model's input shape, classifier activation and name, and the loader's
 * `onWarning`.
 */
export interface PretrainedOptions
  extends WeightsOptions, Pick<ClassifierOptions, 'inputShape' | 'classifierActivation' | 'name'> {
  /**
   * Told when loaded tensors hold NaN or infinite values, as the families'
   * `loadWeights` tells it.
   *
   * @defaultValue `undefined`: the message goes to `console.warn`
   */
  onWarning?: LoadTorchWeightsOptions['onWarning'];
}

/** The one declaration of {@link PretrainedOptions}; the model's options are checked by its factory. */
const PRETRAINED_SPEC = {
  ...WEIGHTS_SPEC,
  onWarning: optional(checkFunction<NonNullable<PretrainedOptions['onWarning']>>),
  inputShape: unchecked<PretrainedOptions['inputShape']>(),
  classifierActivation: unchecked<PretrainedOptions['classifierActivation']>(),
  name: unchecked<string | undefined>(),
} satisfies OptionSpec<PretrainedOptions>;

/**
 * A model with its pretrained weights, by name: torchvision's, as
 * `torchvision.models.resnet50(weights="IMAGENET1K_V2")` or Keras'
 * `ResNet50(weights="imagenet")`. The model is built (options checked)
 * before anything is downloaded; the file is fetched with
 * {@link downloadWeights} and loaded with the family's `loadWeights`
 * (`from: 'torchvision'`). Feed it images prepared as `weights.transforms`
 * says (e.g. with `@convnets/imagenet-data`'s `torchvisionEval({ resize: 232 })`
 * for V2 ResNets); its outputs are the weights' categories (ImageNet's
 * classes: `IMAGENET_CLASSES`).
 *
 * @param arch - A registry name (`resnet50`, `vgg16_bn`) or a registry entry.
 * @param weights - A name of the model's weights, or `'DEFAULT'`. Default `'DEFAULT'`.
 * @param opts - Download options, `inputShape`, `classifierActivation`, `name` and `onWarning`; see {@link PretrainedOptions}.
 * @returns The model, its weights loaded.
 * @throws Error as {@link downloadWeights}, for an option the factory refuses,
 *   or when the file does not load (nothing is loaded then, and the model is disposed).
 * @example
 * ```ts
 * import { pretrained } from '@convnets/hub';
 * const net = await pretrained('resnet50', 'IMAGENET1K_V2'); // resize 232, crop 224
 * const logits = await pretrained('vgg16_bn', 'DEFAULT', { classifierActivation: null });
 * ```
 */
export async function pretrained(
  arch: string | ModelEntry,
  weights = 'DEFAULT',
  opts: PretrainedOptions = {},
): Promise<LayersModel> {
  const { onWarning, inputShape, classifierActivation, name, ...o } = checkOptions(
    'pretrained',
    opts,
    PRETRAINED_SPEC,
  );
  const [entry, w] = lookUp(arch, weights);
  const model = Object.entries({ inputShape, classifierActivation, name }).filter(
    ([, value]) => value !== undefined,
  );
  const net = entry.build({
    ...Object.fromEntries(model),
    classes: CATEGORY_COUNTS[w.categories],
    skipInit: true,
  });
  try {
    const { path } = await fetchWeights(entry, weights, o);
    await loadTorchWeights(net, path, entry.stateDict, {
      from: 'torchvision',
      ...(onWarning ? { onWarning } : {}),
    });
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}
