import type { LayersModel } from '@tensorflow/tfjs-layers';
import { fail } from '@convnets/validate';
import type { WeightsWarning } from './weights/non-finite';

/**
 * What a model factory's `weights` option brings with it: the weights'
 * name, how to load them, and where to download them from. Everything but
 * `weights` is `@convnets/hub`'s `pretrained` option of the same name, which
 * the factory calls (Node only; install `@convnets/hub`).
 */
export interface FactoryWeightsOptions {
  /**
   * A name of the model's torchvision weights (`'IMAGENET1K_V2'`), or
   * `'DEFAULT'` (the most accurate), as torchvision's `weights=`. With it the
   * factory returns a promise of the model, its weights loaded.
   */
  weights: string;
  /**
   * Whether every weight of the model must load (`true`), or what fits loads
   * and the rest is left as initialised (`false`). A head left out
   * (`includeTop: false`) or replaced (`classes` other than the weights')
   * is skipped either way.
   *
   * @defaultValue `true`
   */
  strict?: boolean;
  /** The cache folder. @defaultValue `$CONVNETS_HOME`, else `~/.cache/convnets` */
  home?: string;
  /** A mirror of the weights' server (see `@convnets/hub`). @defaultValue `$CONVNETS_WEIGHTS_MIRROR`, else none */
  mirror?: string;
  /** Told of the download's progress. */
  onProgress?: (progress: { readonly done: number; readonly total: number | undefined }) => void;
  /** Milliseconds without data before a request is abandoned. @defaultValue 60000 */
  timeoutMs?: number;
  /** Attempts after a failure that a later request may not repeat. @defaultValue 2 */
  retries?: number;
  /** Aborts the download. */
  signal?: AbortSignal;
  /** Told when loaded tensors hold NaN or infinite values. @defaultValue `console.warn` */
  onWarning?: (warning: WeightsWarning) => void;
}

/**
 * A registry model's factory: synchronous without `weights`, a promise of
 * the model, pretrained, with them.
 *
 * @typeParam Options - The factory's model options (`ResNetOptions`, `VggOptions`).
 */
export interface ModelFactory<Options extends object> {
  (options: Options & FactoryWeightsOptions): Promise<LayersModel>;
  (options?: Options & { weights?: undefined }): LayersModel;
}

/** What this package uses of `@convnets/hub`. */
interface HubModule {
  pretrained(arch: string, weights: string, opts: object): Promise<LayersModel>;
}

/** The package that downloads weights; never imported unless `weights` is given. */
const HUB = '@convnets/hub';

/**
 * `import(specifier)` that bundlers leave alone (the specifier is a
 * variable, and marked for webpack and Vite): `@convnets/hub` is Node only
 * and optional.
 */
const importModule = (specifier: string): Promise<unknown> =>
  import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);

/** Whether `error` says that `specifier` itself (not one of its imports) is not installed. */
function notFound(error: unknown, specifier: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  return (
    (missing || !code) &&
    typeof message === 'string' &&
    (message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`))
  );
}

/**
 * `@convnets/hub`, or an error saying to install it.
 *
 * @param where - The factory, for the message.
 * @param specifier - The module to import. Default `'@convnets/hub'`.
 * @internal
 */
export async function importHub(where: string, specifier = HUB): Promise<HubModule> {
  let hub: Partial<HubModule>;
  try {
    hub = (await importModule(specifier)) as Partial<HubModule>;
  } catch (e) {
    if (!notFound(e, specifier)) throw e;
    throw new Error(
      `${where}: option "weights" needs the package ${specifier} (Node only), which is not installed; install it with \`npm install ${specifier}\`.`,
      { cause: e },
    );
  }
  if (typeof hub.pretrained !== 'function')
    throw new Error(
      `${where}: option "weights" needs ${specifier}'s pretrained(); the installed ${specifier} has none (expected version 0.x).`,
    );
  return hub as HubModule;
}

/**
 * A registry model's factory that also takes `weights`: without them it is
 * `build`; with them it resolves to `@convnets/hub`'s `pretrained(arch,
 * weights, options)`, which builds the model with `build` and loads the
 * weights (the one implementation of both).
 *
 * @param arch - The model's registry name (`resnet50`), which `@convnets/hub`
 *   looks up, or that name from the options (`vgg16_bn` for `vgg16({ batchNorm: true })`).
 * @param build - The synchronous factory.
 * @returns The factory.
 * @example
 * ```ts
 * export const resnet50 = withWeights('resnet50', (o: ResNetOptions = {}) => named('resnet50', o));
 * ```
 */
export function withWeights<Options extends object>(
  arch: string | ((options: Options) => string),
  build: (options?: Options) => LayersModel,
): ModelFactory<Options> {
  function factory(options: Options & FactoryWeightsOptions): Promise<LayersModel>;
  function factory(options?: Options & { weights?: undefined }): LayersModel;
  function factory(options?: Options & { weights?: string }): LayersModel | Promise<LayersModel> {
    const { weights, ...rest } = options ?? {};
    if (weights === undefined) return build(rest as Options);
    const name = typeof arch === 'string' ? arch : arch(rest as Options);
    if (typeof weights !== 'string')
      fail(name, 'weights', weights, "a weights name such as 'IMAGENET1K_V1', or 'DEFAULT'");
    return importHub(name).then((hub) => hub.pretrained(name, weights, rest));
  }
  return factory;
}
