import { tensor, tidy } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { checkOptions, fail, oneOf, optional, type OptionSpec } from '@convnets/validate';
import {
  isFloatDtype,
  toFloat32,
  writeSafetensors,
  type Float32Entry,
  type SafetensorsTensor,
} from './safetensors';
import { excerpt, quote } from './excerpt';
import { readWeightsFile } from './read-file';
import { readStateDict } from './torch-checkpoint';
import { writeTorchStateDict } from './torch-write';
import {
  countNonFinite,
  type LoadWeightsReport,
  type MismatchedTensor,
  type NonFiniteTensor,
  type WeightsWarning,
} from './non-finite';
import { fromTorch, toTorch, torchShape, type TorchLayout } from './torch-layout';

/** Where one of our weights lives in a PyTorch state dict. */
export interface TorchWeight {
  /** State-dict key, e.g. `layer1.0.conv1.weight`. */
  key: string;
  /** Layout conversion between the two; see {@link TorchLayout}. */
  layout: TorchLayout;
}

/** One of our weights as a {@link StateDictFormat} sees it. */
export interface OurWeight {
  /** Layer name, e.g. `conv2_block1_1_conv`. */
  layer: string;
  /** Weight name within the layer, e.g. `kernel`, `gamma`, `moving_variance`. */
  weight: string;
  /** Its shape in the model. */
  shape: number[];
}

/**
 * A naming and layout convention of a family of PyTorch models, e.g.
 * torchvision's ResNets (`TORCHVISION_RESNET` in `@convnets/resnet`). Write
 * one to load another family's weights with {@link loadSafetensorsWeights}.
 *
 * @example
 * ```ts
 * // A model whose only weights are a dense layer "head", stored as "fc.*".
 * const format: StateDictFormat = {
 *   name: 'my head',
 *   map: ({ layer, weight }) =>
 *     layer !== 'head' ? null
 *     : weight === 'kernel' ? { key: 'fc.weight', layout: 'linear' }
 *     : { key: 'fc.bias', layout: 'vector' },
 * };
 * ```
 */
export interface StateDictFormat {
  /** Name used in error messages, e.g. `torchvision ResNet`. */
  name: string;
  /**
   * Maps one of our weights to its state-dict entry, or `null` if the format
   * has none (which makes loading and saving fail, naming the weight).
   *
   * @param weight - Layer, weight name and shape of one of the model's weights.
   * @param model - The whole model, for conventions that depend on its structure (VGG's layer indices).
   * @returns The state-dict key and layout, or `null`.
   * @throws Whatever the implementation throws; the built-in formats never do.
   */
  map(weight: OurWeight, model: LayersModel): TorchWeight | null;
  /**
   * State-dict keys that carry nothing to load (e.g. BN's `num_batches_tracked`):
   * not reported as unexpected.
   *
   * @defaultValue `undefined`: every key must belong to a weight
   */
  ignore?: RegExp;
  /**
   * The classifier's state-dict keys (torchvision's ResNets: `fc.*`; VGGs:
   * `classifier.*`): what a model built with `includeTop: false` leaves out,
   * so that loading a whole network's file into a backbone can skip them
   * (see `pretrained` in `@convnets/hub`).
   *
   * @defaultValue `undefined`: the format names no head
   */
  head?: RegExp;
  /**
   * Other spellings of state-dict keys that loading accepts, for families
   * whose repositories name the same weight differently (a classifier saved
   * as `linear.*` by some and `fc.*` by others): returns the key
   * {@link StateDictFormat.map} uses for a file's `key`, or `key` itself.
   * Messages name the file's key; saving writes `map`'s keys.
   *
   * @param key - A key of the file.
   * @returns The key `map` uses for the same weight.
   * @defaultValue `undefined`: every key is taken as it is
   * @example
   * ```ts
   * canonicalKey: (key) => key.replace(/^fc\./, 'linear.'),
   * ```
   */
  canonicalKey?(key: string): string;
}

const TORCH_BATCH_NORM_KEYS: Record<string, string> = {
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

/**
 * Where a batch-norm weight of ours lives in a PyTorch state dict: `gamma`,
 * `beta`, `moving_mean`, `moving_variance` are `nn.BatchNorm2d`'s `weight`,
 * `bias`, `running_mean`, `running_var` under `prefix`. A building block for
 * {@link StateDictFormat.map}; PyTorch's `num_batches_tracked` has no
 * counterpart (list it in {@link StateDictFormat.ignore}).
 *
 * @param prefix - The BN module's state-dict prefix, e.g. `layer1.0.bn1` or `features.1`.
 * @param weight - Our weight name within the layer, e.g. `moving_variance`.
 * @returns The key (e.g. `layer1.0.bn1.running_var`) with the `'vector'` layout, or `null` for any other weight name.
 *
 * @example
 * ```ts
 * torchBatchNormWeight('bn1', 'gamma'); // { key: 'bn1.weight', layout: 'vector' }
 * ```
 */
export function torchBatchNormWeight(prefix: string, weight: string): TorchWeight | null {
  return Object.hasOwn(TORCH_BATCH_NORM_KEYS, weight)
    ? { key: `${prefix}.${TORCH_BATCH_NORM_KEYS[weight]}`, layout: 'vector' }
    : null;
}

function ourWeights(model: LayersModel) {
  return model.weights.map((variable) => {
    const slash = variable.originalName.lastIndexOf('/');
    const ours: OurWeight = {
      layer: variable.originalName.slice(0, slash),
      weight: variable.originalName.slice(slash + 1),
      shape: variable.shape as number[],
    };
    return { variable, ours };
  });
}

function listProblems(title: string, problems: string[]): string {
  const shown = problems.slice(0, 25).map((p) => `  - ${p}`);
  if (problems.length > 25) shown.push(`  - … and ${problems.length - 25} more`);
  return `${title}:\n${shown.join('\n')}`;
}

/** A file's tensor under the key {@link StateDictFormat.map} uses, with the key the file gives it. */
interface KeyedTensor {
  tensor: SafetensorsTensor;
  fileKey: string;
}

/**
 * The file's tensors by the keys `format.map` uses ({@link StateDictFormat.canonicalKey});
 * two file keys for one weight are a problem.
 */
function canonicalTensors(
  tensors: Map<string, SafetensorsTensor>,
  format: StateDictFormat,
  problems: string[],
): Map<string, KeyedTensor> {
  const out = new Map<string, KeyedTensor>();
  for (const [fileKey, tensor] of tensors) {
    const key = format.canonicalKey?.(fileKey) ?? fileKey;
    const other = out.get(key);
    if (other) {
      problems.push(
        `${quote(other.fileKey)} and ${quote(fileKey)} are the same weight in the ${format.name} format; expected one of them`,
      );
    } else out.set(key, { tensor, fileKey });
  }
  return out;
}

/** Why one weight cannot be loaded: its kind decides whether `strict: false` forgives it. */
type Problem =
  | { kind: 'missing'; weight: string; text: string }
  | { kind: 'mismatched'; tensor: MismatchedTensor; text: string };

/** A deferred write of one weight, counting its NaN and infinite values. */
type Write = () => NonFiniteTensor | null;

/**
 * How one weight of `model` is loaded from `tensors`: a deferred write, the
 * problem that prevents it, or `null` when its key is to be skipped. Adds the
 * key it reads to `used`.
 */
function planWeight(
  model: LayersModel,
  tensors: Map<string, KeyedTensor>,
  format: StateDictFormat,
  { variable, ours }: ReturnType<typeof ourWeights>[number],
  { used, skip }: { used: Set<string>; skip?: RegExp },
): Problem | Write | null {
  const target = format.map(ours, model);
  const label = `${ours.layer}/${ours.weight}`;
  if (target === null) {
    const text = `${label} [${ours.shape.join(', ')}] has no counterpart in the ${format.name} format`;
    return { kind: 'missing', weight: label, text };
  }
  used.add(target.key);
  const keyed = tensors.get(target.key);
  if (skip?.test(keyed?.fileKey ?? target.key)) return null;
  if (keyed === undefined) {
    return {
      kind: 'missing',
      weight: label,
      text: `missing key ${quote(target.key)} (for ${label})`,
    };
  }
  const { tensor: found, fileKey } = keyed;
  const expected = torchShape(ours.shape, target.layout);
  const reason =
    found.shape.join(',') !== expected.join(',')
      ? `has shape ${excerpt(`[${found.shape.join(', ')}]`)}, expected [${expected.join(', ')}]`
      : !isFloatDtype(found.dtype)
        ? `has dtype ${found.dtype}; expected F32, F16, BF16 or F64`
        : undefined;
  if (reason !== undefined) {
    const tensor = { key: fileKey, weight: label, reason };
    return { kind: 'mismatched', tensor, text: `${quote(fileKey)} ${reason} (for ${label})` };
  }
  return () => {
    const decoded = toFloat32(found);
    const values = fromTorch(decoded, ours.shape, target.layout);
    tidy(() => {
      variable.write(tensor(values, ours.shape, 'float32'));
    });
    const { nan, infinite } = countNonFinite(decoded);
    return nan + infinite === 0
      ? null
      : { key: fileKey, weight: label, size: decoded.length, nan, infinite };
  };
}

/** Options of {@link importStateDict} (and of the loaders built on it). */
export interface ImportStateDictOptions {
  /**
   * Whether every weight must load (PyTorch's `load_state_dict(strict=True)`):
   * any missing or unexpected key or wrong shape fails and nothing is loaded.
   * With `false`, what fits is loaded, and the rest is reported in
   * {@link LoadWeightsReport}'s `missing`, `unexpected` and `mismatched`;
   * the weights not loaded keep their values. Two file keys for one weight
   * fail either way.
   *
   * @defaultValue `true`
   */
  strict?: boolean;
  /**
   * The file's keys not to load (tested on the file's spelling): the weights
   * they would fill keep their values, and they are neither missing nor
   * unexpected but listed in {@link LoadWeightsReport}'s `skipped`. For a
   * head that is replaced (`/^fc\./`) or left out (a format's
   * {@link StateDictFormat.head}).
   *
   * @defaultValue `undefined`: every key is loaded
   */
  skip?: RegExp;
}

/** The file's keys that no weight used, split into skipped and unexpected. */
function unusedKeys(
  keyed: Map<string, KeyedTensor>,
  used: Set<string>,
  format: StateDictFormat,
  skip: RegExp | undefined,
): { skipped: string[]; unexpected: string[] } {
  const skipped: string[] = [];
  const unexpected: string[] = [];
  for (const [key, { fileKey }] of keyed) {
    if (skip?.test(fileKey)) skipped.push(fileKey);
    else if (!used.has(key) && !format.ignore?.test(fileKey)) unexpected.push(fileKey);
  }
  return { skipped, unexpected };
}

/**
 * Sets the weights of `model` from a PyTorch state dict (as parsed safetensors
 * tensors), converting names and layouts with `format`.
 *
 * Strict by default, all-or-nothing: missing keys, unexpected keys, wrong
 * shapes and unsupported dtypes are all collected and thrown as one error
 * before any weight changes. With `strict: false` they are reported instead,
 * and what fits is loaded.
 *
 * @param model - The model whose weights are overwritten.
 * @param tensors - The state dict, e.g. `readSafetensors(bytes).tensors`.
 * @param format - How names and layouts map; see {@link StateDictFormat}.
 * @param opts - `strict` and `skip`; see {@link ImportStateDictOptions}.
 * @returns The tensors that hold NaN or infinite values (loaded nonetheless),
 *   and what was not loaded; see {@link LoadWeightsReport}. Nothing is printed.
 * @throws Error listing every problem (up to 25, then a count): a weight
 *   without a counterpart in the format, a missing or unexpected key, a wrong
 *   shape, or a non-floating-point dtype (with `strict: false`, only two
 *   file keys for one weight). Keys quoted are cut to 200 characters.
 *   Nothing is loaded then.
 *
 * @example
 * ```ts
 * import { TORCHVISION_RESNET } from '@convnets/resnet';
 * const { nonFinite } = importStateDict(model, readSafetensors(bytes).tensors, TORCHVISION_RESNET);
 * // A new 10-class head: everything but fc.* loaded.
 * importStateDict(net10, tensors, TORCHVISION_RESNET, { skip: /^fc\./ }).skipped; // ['fc.weight', 'fc.bias']
 * ```
 */
export function importStateDict(
  model: LayersModel,
  tensors: Map<string, SafetensorsTensor>,
  format: StateDictFormat,
  opts: ImportStateDictOptions = {},
): LoadWeightsReport {
  const { strict = true, skip } = opts;
  const fatal: string[] = [];
  const keyed = canonicalTensors(tensors, format, fatal);
  const used = new Set<string>();
  const writes: Write[] = [];
  const problems: Problem[] = [];
  for (const weight of ourWeights(model)) {
    const planned = planWeight(model, keyed, format, weight, { used, skip });
    if (typeof planned === 'function') writes.push(planned);
    else if (planned !== null) problems.push(planned);
  }
  const { skipped, unexpected } = unusedKeys(keyed, used, format, skip);
  const refused = strict
    ? [
        ...fatal,
        ...problems.map((p) => p.text),
        ...unexpected.map((k) => `unexpected key ${quote(k)}`),
      ]
    : fatal;
  if (refused.length > 0) {
    throw new Error(
      listProblems(
        `Cannot load ${format.name} weights into model "${model.name}" (nothing was loaded)`,
        refused,
      ),
    );
  }
  const nonFinite = writes.map((write) => write()).filter((n) => n !== null);
  return {
    nonFinite,
    missing: problems.flatMap((p) => (p.kind === 'missing' ? [p.weight] : [])),
    unexpected,
    mismatched: problems.flatMap((p) => (p.kind === 'mismatched' ? [p.tensor] : [])),
    skipped,
  };
}

/** The message of a {@link WeightsWarning} about non-finite tensors. */
function nonFiniteMessage(nonFinite: NonFiniteTensor[], loaded: number): string {
  return listProblems(
    `${nonFinite.length} of ${loaded} loaded tensors hold NaN or infinite values`,
    nonFinite.map(({ key, weight, size, nan, infinite }) => {
      const counts = [nan > 0 ? `${nan} NaN` : '', infinite > 0 ? `${infinite} infinite` : '']
        .filter(Boolean)
        .join(' and ');
      return `${quote(key)} (${weight}): ${counts} of ${size} values`;
    }),
  );
}

/**
 * Our weights as a PyTorch state dict in `format`'s names and layouts, ready
 * for {@link writeSafetensors}. Reads every weight from the backend (synchronously).
 *
 * @param model - The model to export.
 * @param format - How names and layouts map; see {@link StateDictFormat}.
 * @returns State-dict key → `{ shape, data }` in PyTorch's layout, in the model's weight order.
 * @throws Error listing every weight that has no counterpart in the format.
 *
 * @example
 * ```ts
 * import { TORCHVISION_RESNET } from '@convnets/resnet';
 * const bytes = writeSafetensors(exportStateDict(model, TORCHVISION_RESNET));
 * ```
 */
export function exportStateDict(
  model: LayersModel,
  format: StateDictFormat,
): Map<string, Float32Entry> {
  const out = new Map<string, Float32Entry>();
  const problems: string[] = [];
  for (const { variable, ours } of ourWeights(model)) {
    const target = format.map(ours, model);
    if (target === null) {
      problems.push(`${ours.layer}/${ours.weight} has no counterpart in the ${format.name} format`);
      continue;
    }
    const data = variable.read().dataSync() as Float32Array;
    out.set(target.key, {
      shape: torchShape(ours.shape, target.layout),
      data: toTorch(data, ours.shape, target.layout),
    });
  }
  if (problems.length > 0) {
    throw new Error(
      listProblems(`Cannot export model "${model.name}" as ${format.name} weights`, problems),
    );
  }
  return out;
}

/**
 * Where weights come from: a file path (Node only), or the file's bytes; a
 * safetensors file or a PyTorch checkpoint (`.pth`), told apart by content.
 */
export type WeightSource = string | Uint8Array | ArrayBuffer;

/** Options of {@link loadSafetensorsWeights}. */
export interface LoadSafetensorsOptions extends ImportStateDictOptions {
  /**
   * Largest accepted file, in bytes; a path's size is checked before it is read.
   *
   * @defaultValue `4 * 1024 ** 3` (4 GiB)
   */
  maxFileBytes?: number;
  /**
   * Called once per load with each {@link WeightsWarning}, after the weights
   * are set: for now, when some loaded tensors hold NaN or infinite values
   * (their keys and counts are in the warning). The same tensors are in the
   * returned {@link LoadWeightsReport}. Should it throw, the load rejects
   * with its error, the weights being set already.
   *
   * @param warning - What was found, with a message ready to print.
   * @defaultValue `undefined`: each warning's message goes to `console.warn`
   */
  onWarning?: (warning: WeightsWarning) => void;
}

/**
 * Reads a state dict, from a safetensors file or a PyTorch checkpoint
 * (`.pth`, `.pt`: `torch.save`'s zip or legacy format, read without running
 * its code; see `readTorchStateDict`), and imports it into `model` with
 * {@link importStateDict}. The format is told by content, not by name. A path
 * must name a regular file; its size, then its format (and a safetensors
 * header) are checked before its data is read.
 *
 * Tensors holding NaN or infinite values are loaded as they are (as PyTorch
 * does) and reported: in the result, and to `opts.onWarning` (by default,
 * `console.warn`).
 *
 * @param model - The model whose weights are overwritten.
 * @param source - A file path (Node only), a `Uint8Array` or an `ArrayBuffer`.
 * @param format - How names and layouts map; see {@link StateDictFormat}.
 * @param opts - File size limit and warning handler; see {@link LoadSafetensorsOptions}.
 * @returns The tensors that hold NaN or infinite values; see {@link LoadWeightsReport}.
 * @throws Error for a source of another type, a path that is not a regular
 *   file (a directory, FIFO, device…), a file larger than `maxFileBytes`, a
 *   file that cannot be read, data in neither format, invalid data (see
 *   `readStateDict`) or a state dict that does not fit (see
 *   {@link importStateDict}); for a path, the message starts with it. Nothing
 *   is loaded then.
 *
 * @example
 * ```ts
 * const { nonFinite } = await loadSafetensorsWeights(model, 'checkpoint.pth', myFormat, {
 *   maxFileBytes: 2 ** 30,
 *   onWarning: (w) => process.stderr.write(`warning: ${w.message}\n`),
 * });
 * ```
 */
export async function loadSafetensorsWeights(
  model: LayersModel,
  source: WeightSource,
  format: StateDictFormat,
  opts: LoadSafetensorsOptions = {},
): Promise<LoadWeightsReport> {
  let report: LoadWeightsReport;
  let path: string | undefined;
  const importOptions = { strict: opts.strict, skip: opts.skip };
  if (typeof source === 'string') {
    path = source;
    try {
      const bytes = await readWeightsFile(source, opts.maxFileBytes ?? 4 * 1024 ** 3);
      report = importStateDict(model, readStateDict(bytes).tensors, format, importOptions);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
    }
  } else if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    report = importStateDict(model, readStateDict(bytes).tensors, format, importOptions);
  } else {
    throw new Error(
      `loadWeights: the source must be a file path, a Uint8Array or an ArrayBuffer; received ${String(source)}.`,
    );
  }
  if (report.nonFinite.length > 0) {
    const message = nonFiniteMessage(report.nonFinite, model.weights.length);
    const warning: WeightsWarning = {
      kind: 'non-finite',
      message: path === undefined ? message : `${path}: ${message}`,
      ...(path === undefined ? {} : { path }),
      nonFinite: report.nonFinite,
    };
    if (opts.onWarning) opts.onWarning(warning);
    else console.warn(warning.message);
  }
  return report;
}

const SAFETENSORS_METADATA = { format: 'pt', producer: 'convnets' };

/** Writes `bytes` to `path` through a temporary file renamed over it. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const { rename, writeFile } = await import('node:fs/promises');
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

/**
 * Exports `model` in `format` and serialises it to safetensors bytes; writes
 * them to `path` too when one is given (Node only), atomically (temporary
 * file, then rename). The header's metadata is `{ format: 'pt', producer: 'convnets' }`.
 *
 * @param model - The model to save.
 * @param format - How names and layouts map; see {@link StateDictFormat}.
 * @param path - Where to write the file (Node only). Default: nothing is written.
 * @returns The file's bytes.
 * @throws Error when a weight has no counterpart in the format (see
 *   {@link exportStateDict}), or when the file cannot be written.
 *
 * @example
 * ```ts
 * const bytes = await saveSafetensorsWeights(model, myFormat, 'weights.safetensors');
 * ```
 */
export async function saveSafetensorsWeights(
  model: LayersModel,
  format: StateDictFormat,
  path?: string,
): Promise<Uint8Array> {
  const bytes = writeSafetensors(exportStateDict(model, format), SAFETENSORS_METADATA);
  if (path !== undefined) await writeAtomically(path, bytes);
  return bytes;
}

/**
 * Options of the model packages' `loadWeights`.
 *
 * @typeParam From - The naming conventions the package reads: `'torchvision'`
 *   (which timm's ResNets share), and `'cifar'` for `@convnets/resnet`.
 */
export interface LoadTorchWeightsOptions<
  From extends string = 'torchvision',
> extends LoadSafetensorsOptions {
  /** Naming convention of the file; required, e.g. `'torchvision'`. */
  from: From;
}

/** Whether `formats` is one {@link StateDictFormat} rather than a table of them. */
function isFormat(formats: object): formats is StateDictFormat {
  return typeof (formats as Partial<StateDictFormat>).map === 'function';
}

/**
 * What the model packages' `loadWeights` does: checks `opts.from` against
 * the family's conventions, then {@link loadSafetensorsWeights} with that one.
 *
 * @param model - The model whose weights are overwritten.
 * @param source - A file path (Node only), a `Uint8Array` or an `ArrayBuffer`.
 * @param formats - The family's conventions by `from` value, e.g.
 *   `{ torchvision: TORCHVISION_RESNET, cifar: CIFAR_RESNET }`; one format
 *   stands for `{ torchvision: format }`.
 * @param opts - `from` (a key of `formats`), and optionally `maxFileBytes` and `onWarning`.
 * @returns The tensors that hold NaN or infinite values; see {@link LoadWeightsReport}.
 * @throws Error when `opts.from` is not a key of `formats`, or for any reason
 *   {@link loadSafetensorsWeights} gives. Nothing is loaded then.
 *
 * @example
 * ```ts
 * import { TORCHVISION_VGG } from '@convnets/vgg';
 * await loadTorchWeights(model, 'vgg16.safetensors', TORCHVISION_VGG, { from: 'torchvision' });
 * ```
 */
export async function loadTorchWeights<From extends string = 'torchvision'>(
  model: LayersModel,
  source: WeightSource,
  formats: StateDictFormat | Readonly<Record<From, StateDictFormat>>,
  opts: LoadTorchWeightsOptions<From>,
): Promise<LoadWeightsReport> {
  const byName: Readonly<Record<string, StateDictFormat>> = isFormat(formats)
    ? { torchvision: formats }
    : formats;
  const names = Object.keys(byName);
  const from: unknown = opts?.from;
  if (typeof from !== 'string' || !Object.hasOwn(byName, from)) {
    const quoted = names.map((n) => `"${n}"`);
    fail(
      'loadWeights',
      'from',
      from,
      quoted.length === 1 ? quoted[0] : `one of ${quoted.join(', ')}`,
    );
  }
  const { from: _from, ...rest } = opts;
  return loadSafetensorsWeights(model, source, byName[from], rest);
}

/** The file formats {@link saveTorchWeights} writes. */
export type WeightsFileFormat = 'safetensors' | 'torch';

/** Options of {@link saveTorchWeights} (the model packages' `saveWeights`). */
export interface SaveTorchWeightsOptions {
  /**
   * The file's format: `'safetensors'`, or `'torch'` for `torch.save`'s zip
   * format (a `.pth` that `torch.load` reads; see `writeTorchStateDict`).
   *
   * @defaultValue from the path's extension: `'torch'` for `.pth`, `.pt` and
   *   `.th`, `'safetensors'` for any other extension and without a path
   */
  fileFormat?: WeightsFileFormat;
}

const SAVE_SPEC = {
  fileFormat: optional(oneOf(['safetensors', 'torch'] as const)),
} satisfies OptionSpec<SaveTorchWeightsOptions>;

/**
 * What the model packages' `saveWeights` does: exports `model` in `format`
 * (see {@link exportStateDict}) and serialises it as safetensors or as
 * `torch.save`'s zip format, chosen by `opts.fileFormat`, else by the
 * path's extension (`.pth`, `.pt`, `.th`: torch; anything else, or no path:
 * safetensors); writes it to `path` too when one is given (Node only),
 * atomically (temporary file, then rename).
 *
 * @param model - The model to save.
 * @param format - How names and layouts map; see {@link StateDictFormat}.
 * @param path - Where to write the file (Node only). Default: nothing is written.
 * @param opts - `fileFormat`; see {@link SaveTorchWeightsOptions}.
 * @returns The file's bytes.
 * @throws Error for an unknown option or a `fileFormat` other than
 *   `'safetensors'` and `'torch'`, a weight without a counterpart in the
 *   format (see {@link exportStateDict}), or a file that cannot be written.
 *
 * @example
 * ```ts
 * await saveTorchWeights(model, myFormat, 'weights.pth'); // Python: torch.load('weights.pth')
 * const bytes = await saveTorchWeights(model, myFormat, undefined, { fileFormat: 'torch' });
 * ```
 */
export async function saveTorchWeights(
  model: LayersModel,
  format: StateDictFormat,
  path?: string,
  opts: SaveTorchWeightsOptions = {},
): Promise<Uint8Array> {
  const { fileFormat } = checkOptions('saveWeights', opts, SAVE_SPEC);
  const torch =
    fileFormat === undefined ? /\.(pth|pt|th)$/i.test(path ?? '') : fileFormat === 'torch';
  const stateDict = exportStateDict(model, format);
  const bytes = torch
    ? writeTorchStateDict(stateDict)
    : writeSafetensors(stateDict, SAFETENSORS_METADATA);
  if (path !== undefined) await writeAtomically(path, bytes);
  return bytes;
}
