import { checkOptions, fail, oneOf, withDefault, type OptionSpec } from '@convnets/validate';
import {
  CIFAR_IMAGE_BYTES,
  CIFAR_LAYOUTS,
  batchToHwc,
  binaryBatch,
  layoutClasses,
  pythonBatch,
  type CifarBatch,
  type CifarFormat,
  type CifarLayout,
  type CifarName,
  type CifarSplit,
} from './cifar-layout';
import type { PixelDataset } from './pixels';
import { readTarMembers } from './tar-members';

export type { CifarFormat, CifarLayout, CifarName, CifarSplit };

/**
 * The four archives of the CIFAR page (https://www.cs.toronto.edu/~kriz/cifar.html):
 * CIFAR-10 and CIFAR-100, each as Python pickles (the version torchvision
 * downloads, with the same URL and MD5) and as binary records, with the
 * folder and files each holds.
 */
export const CIFAR_ARCHIVES: readonly CifarLayout[] = CIFAR_LAYOUTS;

/** One split of CIFAR-10 or CIFAR-100, in memory: 32×32 RGB images, HWC. */
export interface CifarDataset extends PixelDataset {
  /** Which dataset. */
  readonly name: CifarName;
  /** Which split. */
  readonly split: CifarSplit;
  /** `count × 32 × 32 × 3` bytes, image after image, each row-major RGB (as torchvision's `data`). */
  readonly images: Uint8Array;
  /** Always `[32, 32, 3]`. */
  readonly imageShape: readonly [32, 32, 3];
  /** CIFAR-100: the 20 superclasses. */
  readonly coarseClasses?: readonly string[];
  /** CIFAR-100: each image's superclass, indexing `coarseClasses`. */
  readonly coarseLabels?: Int32Array;
}

/** What {@link readCifarArchive} finds in an archive. */
export interface CifarArchive {
  /** Which dataset. */
  readonly name: CifarName;
  /** Which version of the archive. */
  readonly format: CifarFormat;
  /** The classes (CIFAR-100: the 100 fine labels), from the archive's meta file. */
  readonly classes: readonly string[];
  /** CIFAR-100: the 20 superclasses. */
  readonly coarseClasses?: readonly string[];
  /** The training images, when asked for. */
  readonly train?: CifarDataset;
  /** The test images, when asked for. */
  readonly test?: CifarDataset;
}

/** The largest meta file and the largest batch file read (CIFAR-100's train is about 155 MB). */
const META_BYTES = 2 ** 20;
const BATCH_BYTES = 200 * 2 ** 20;

/** How large a member may be, if it is one of a layout's meta files or of the splits asked for. */
function memberLimit(name: string, splits: readonly CifarSplit[]): number | undefined {
  for (const layout of CIFAR_LAYOUTS) {
    if (!name.startsWith(`${layout.folder}/`)) continue;
    const file = name.slice(layout.folder.length + 1);
    if (layout.meta.includes(file)) return META_BYTES;
    if (splits.some((s) => layout.splits[s].includes(file))) return BATCH_BYTES;
  }
  return undefined;
}

/** The layout whose folder the archive holds, with every file it needs among the `files` read. */
function findLayout(
  archive: string,
  names: readonly string[],
  files: ReadonlyMap<string, Buffer>,
  splits: readonly CifarSplit[],
) {
  const found = CIFAR_LAYOUTS.filter((l) =>
    names.some((n) => n === l.folder || n.startsWith(`${l.folder}/`)),
  );
  if (found.length !== 1) {
    const expected = CIFAR_LAYOUTS.map((l) => `${l.file} (${l.folder}/…)`).join(', ');
    const seen = names.slice(0, 4).join(', ') || 'no member';
    throw new Error(
      `${archive} is not one of the CIFAR archives: expected the members of ${expected}; found ${found.length > 1 ? 'the folders of several' : seen}.`,
    );
  }
  const layout = found[0];
  const needed = [...layout.meta, ...splits.flatMap((s) => layout.splits[s])].map(
    (f) => `${layout.folder}/${f}`,
  );
  const missing = needed.filter((n) => !files.has(n));
  if (missing.length > 0)
    throw new Error(
      `${archive} is ${layout.file} without ${missing.join(', ')} (as regular files); the archive is incomplete.`,
    );
  return layout;
}

/** One split: its batch files read, checked and turned into HWC images. */
function readSplit(
  layout: CifarLayout,
  split: CifarSplit,
  files: ReadonlyMap<string, Buffer>,
  names: { classes: string[]; coarseClasses?: string[] },
): CifarDataset {
  const counts = { classes: names.classes.length, coarseClasses: names.coarseClasses?.length };
  const batches: CifarBatch[] = layout.splits[split].map((f) => {
    const member = `${layout.folder}/${f}`;
    const read = layout.format === 'binary' ? binaryBatch : pythonBatch;
    return read(member, files.get(member)!, counts);
  });
  const count = batches.reduce((n, b) => n + b.count, 0);
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(count);
  const coarseLabels = names.coarseClasses ? new Int32Array(count) : undefined;
  let at = 0;
  for (const batch of batches) {
    batchToHwc(batch, images, at);
    labels.set(batch.fine, at);
    if (coarseLabels && batch.coarse) coarseLabels.set(batch.coarse, at);
    at += batch.count;
  }
  const shape = [32, 32, 3] as const;
  return {
    ...{
      name: layout.name,
      split,
      classes: names.classes,
      images,
      imageShape: shape,
      labels,
      count,
    },
    ...(coarseLabels ? { coarseClasses: names.coarseClasses, coarseLabels } : {}),
  };
}

/** A list of splits: `train` and/or `test`, at least one. */
function checkSplits(where: string, option: string, value: unknown): CifarSplit[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((s) => s === 'train' || s === 'test')
  )
    fail(where, option, value, 'a non-empty list of "train" and "test"');
  return [...new Set(value as CifarSplit[])];
}

/**
 * Reads one of the four official CIFAR archives as downloaded
 * (`cifar-10-python.tar.gz`, the version torchvision uses;
 * `cifar-10-binary.tar.gz`; `cifar-100-python.tar.gz`;
 * `cifar-100-binary.tar.gz`), recognised by its folder, straight from the
 * `.tar.gz`: nothing is extracted to disk. The python batches are pickles:
 * they are never executed; a restricted reader accepts only the numpy array,
 * lists and dicts they hold and refuses any other global by name. Sizes are
 * checked before anything is allocated: each member's against what a CIFAR
 * file can be, a binary batch's against whole records, an array's shape
 * against its data, the label count against the images. The class names come
 * from the archive's meta files.
 *
 * @example
 * ```ts
 * const { name, classes, train, test } = await readCifarArchive('cifar-10-python.tar.gz');
 * // 'cifar10', ['airplane', …, 'truck'], 50,000 and 10,000 images
 * ```
 * @param archive - Path of the archive (gzip'd or not).
 * @param splits - The splits to read (default both: `['train', 'test']`).
 * @returns The dataset, the archive's version, its class names and the splits asked for.
 * @throws Error naming the archive and member at fault: a file that is not a
 *   readable tar archive (truncated, damaged), not one of the four layouts or
 *   missing a member; a pickle that calls a global other than numpy's array
 *   reconstruction; a batch whose size, shape or label count does not add
 *   up; a label that is not a class index.
 */
export async function readCifarArchive(
  archive: string,
  splits: readonly CifarSplit[] = ['train', 'test'],
): Promise<CifarArchive> {
  const wanted = checkSplits('readCifarArchive', 'splits', splits);
  const { members, names } = await readTarMembers(archive, {
    limit: (name) => memberLimit(name, wanted),
  });
  const layout = findLayout(archive, names, members, wanted);
  let classes: { classes: string[]; coarseClasses?: string[] };
  const parts: Partial<Record<CifarSplit, CifarDataset>> = {};
  try {
    classes = layoutClasses(layout, members);
    for (const split of wanted) parts[split] = readSplit(layout, split, members, classes);
  } catch (error) {
    throw new Error(`${archive}: ${(error as Error).message}`, { cause: error });
  }
  return { name: layout.name, format: layout.format, ...classes, ...parts };
}

/** Options of {@link cifar10} and {@link cifar100}. */
export interface CifarDatasetOptions {
  /** Path of the official archive, python or binary version (see {@link CIFAR_ARCHIVES}). */
  archive: string;
  /**
   * Which images: the 50,000 training images or the 10,000 test images.
   *
   * @defaultValue 'train'
   */
  split?: CifarSplit;
}

/** The one declaration of {@link CifarDatasetOptions}. */
const CIFAR_DATASET_SPEC = {
  archive: (where, option, value) =>
    typeof value === 'string' && value !== ''
      ? value
      : fail(where, option, value, 'the path of the archive'),
  split: withDefault(oneOf(['train', 'test'] as const), 'train'),
} satisfies OptionSpec<CifarDatasetOptions>;

/** One split of a CIFAR archive, which must be of dataset `name`. */
async function cifarSplit(
  where: string,
  name: CifarName,
  options: CifarDatasetOptions,
): Promise<CifarDataset> {
  const { archive, split } = checkOptions(where, options, CIFAR_DATASET_SPEC);
  const read = await readCifarArchive(archive, [split]);
  if (read.name !== name) {
    const file = CIFAR_LAYOUTS.filter((l) => l.name === name).map((l) => l.file);
    throw new Error(
      `${where}: ${archive} holds ${read.name === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'}; expected ${file.join(' or ')}.`,
    );
  }
  return read[split]!;
}

/**
 * One split of CIFAR-10 from its official archive, in memory: 32×32 RGB
 * images (HWC bytes, as torchvision's `CIFAR10.data`) and labels, in the
 * archive's order (batches 1 to 5 for training). The trainer's
 * `arrayTrainingData` takes it as it is, with `transform: cifarTrain()` for
 * the paper's augmentation (pad 4, random crop 32, flip) and normalisation.
 * To validate on held-out training images, as the ResNet paper's 45k/5k
 * split, use {@link holdOutPerClass}(dataset, 500).
 *
 * @example
 * ```ts
 * const all = await cifar10({ archive: 'data/cifar-10-python.tar.gz' });
 * const { train, val } = holdOutPerClass(all, 500); // 45,000 / 5,000
 * const data = arrayTrainingData(train, { transform: cifarTrain(), batchSize: 128, seed: 1 });
 * const validation = arrayEvaluationData(val, { transform: cifarEval(), batchSize: 100 });
 * const test = await cifar10({ archive: 'data/cifar-10-python.tar.gz', split: 'test' });
 * ```
 * @param options - The archive and the split (default `'train'`).
 * @returns The split: `classes` (airplane … truck), `images`, `labels`, `count`.
 * @throws Error when an option is invalid, the archive holds CIFAR-100, or
 *   as {@link readCifarArchive} does for an archive that cannot be read.
 */
export function cifar10(options: CifarDatasetOptions): Promise<CifarDataset> {
  return cifarSplit('cifar10', 'cifar10', options);
}

/**
 * One split of CIFAR-100 from its official archive, in memory, as
 * {@link cifar10}: `classes` and `labels` are the 100 fine classes;
 * `coarseClasses` and `coarseLabels` the 20 superclasses.
 *
 * @example
 * ```ts
 * const train = await cifar100({ archive: 'data/cifar-100-python.tar.gz' });
 * train.classes.length; // 100
 * train.coarseClasses?.length; // 20
 * ```
 * @param options - The archive and the split (default `'train'`).
 * @returns The split, with fine and coarse labels.
 * @throws Error when an option is invalid, the archive holds CIFAR-10, or
 *   as {@link readCifarArchive} does for an archive that cannot be read.
 */
export function cifar100(options: CifarDatasetOptions): Promise<CifarDataset> {
  return cifarSplit('cifar100', 'cifar100', options);
}
