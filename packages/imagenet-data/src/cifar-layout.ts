// The official CIFAR archives' layouts, and the readers of their batches and
// label names (https://www.cs.toronto.edu/~kriz/cifar.html).
import { pickleText, readPickle, type PickleValue } from './pickle';

/** Which CIFAR dataset. */
export type CifarName = 'cifar10' | 'cifar100';
/** Which version of the archive: Python pickles (what torchvision downloads) or binary records. */
export type CifarFormat = 'python' | 'binary';
/** The training images (50,000) or the test images (10,000). */
export type CifarSplit = 'train' | 'test';

/** Where an archive keeps its files. */
export interface CifarLayout {
  /** The dataset it holds. */
  readonly name: CifarName;
  /** Python pickles or binary records. */
  readonly format: CifarFormat;
  /** The archive's file name on the CIFAR page. */
  readonly file: string;
  /** Where the CIFAR page (and torchvision, for the python versions) downloads it. */
  readonly url: string;
  /** The archive's MD5, as the CIFAR page publishes it (and torchvision checks it). */
  readonly md5: string;
  /** The folder every member is in. */
  readonly folder: string;
  /** The batch files of each split, in order. */
  readonly splits: Readonly<Record<CifarSplit, readonly string[]>>;
  /** The files naming the classes (for CIFAR-100 binary: fine, then coarse). */
  readonly meta: readonly string[];
}

const KRIZ = 'https://www.cs.toronto.edu/~kriz';
const TRAIN_BATCHES = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}`);

/** The four archives of the CIFAR page. */
export const CIFAR_LAYOUTS: readonly CifarLayout[] = [
  {
    name: 'cifar10',
    format: 'python',
    file: 'cifar-10-python.tar.gz',
    url: `${KRIZ}/cifar-10-python.tar.gz`,
    md5: 'c58f30108f718f92721af3b95e74349a',
    folder: 'cifar-10-batches-py',
    splits: { train: TRAIN_BATCHES, test: ['test_batch'] },
    meta: ['batches.meta'],
  },
  {
    name: 'cifar10',
    format: 'binary',
    file: 'cifar-10-binary.tar.gz',
    url: `${KRIZ}/cifar-10-binary.tar.gz`,
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    folder: 'cifar-10-batches-bin',
    splits: { train: TRAIN_BATCHES.map((b) => `${b}.bin`), test: ['test_batch.bin'] },
    meta: ['batches.meta.txt'],
  },
  {
    name: 'cifar100',
    format: 'python',
    file: 'cifar-100-python.tar.gz',
    url: `${KRIZ}/cifar-100-python.tar.gz`,
    md5: 'eb9058c3a382ffc7106e4002c42a8d85',
    folder: 'cifar-100-python',
    splits: { train: ['train'], test: ['test'] },
    meta: ['meta'],
  },
  {
    name: 'cifar100',
    format: 'binary',
    file: 'cifar-100-binary.tar.gz',
    url: `${KRIZ}/cifar-100-binary.tar.gz`,
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    folder: 'cifar-100-binary',
    splits: { train: ['train.bin'], test: ['test.bin'] },
    meta: ['fine_label_names.txt', 'coarse_label_names.txt'],
  },
];

/** Bytes of one 32×32 RGB image: the red plane, then green, then blue, each row-major. */
export const CIFAR_IMAGE_BYTES = 3072;

/** One batch file read: its images (planar, as stored) and labels (fine, then coarse for CIFAR-100). */
export interface CifarBatch {
  /** The batch file's path in the archive. */
  readonly member: string;
  /** Images in it. */
  readonly count: number;
  /** The bytes holding the images: image `i` is the 3072 bytes from `offset + i · stride`, three 32×32 planes. */
  readonly planes: Uint8Array;
  readonly offset: number;
  readonly stride: number;
  /** The labels (CIFAR-100: the fine ones). */
  readonly fine: Int32Array;
  /** CIFAR-100: the superclasses. */
  readonly coarse?: Int32Array;
}

/** Class names: non-empty, distinct. */
function classNames(member: string, names: readonly string[]): string[] {
  const clean = names.map((n) => n.trim()).filter((n) => n !== '');
  if (clean.length === 0 || new Set(clean).size !== clean.length)
    throw new Error(
      `${member} does not list distinct class names (found ${JSON.stringify(clean.slice(0, 5))}…).`,
    );
  return clean;
}

/** A list of strings from a pickled dict, or an error naming the key. */
function stringList(member: string, dict: ReadonlyMap<string, PickleValue>, key: string): string[] {
  const list = dict.get(key);
  const names = Array.isArray(list) ? list.map(pickleText) : [];
  if (names.length === 0 || names.some((n) => n === undefined))
    throw new Error(`${member} has no list of class names under the key "${key}".`);
  return classNames(member, names as string[]);
}

/** A pickled dict, or an error naming the member. */
function pickledDict(member: string, bytes: Uint8Array): ReadonlyMap<string, PickleValue> {
  let value: PickleValue;
  try {
    value = readPickle(bytes);
  } catch (error) {
    throw new Error(`${member}: ${(error as Error).message}.`, { cause: error });
  }
  if (!(value instanceof Map)) throw new Error(`${member} does not hold a pickled dict.`);
  return value;
}

/**
 * The class names of a layout from its meta files: fine (for CIFAR-100) and,
 * for CIFAR-100, the 20 coarse ones.
 */
export function layoutClasses(
  layout: CifarLayout,
  files: ReadonlyMap<string, Buffer>,
): { classes: string[]; coarseClasses?: string[] } {
  const [first, second] = layout.meta.map((f) => `${layout.folder}/${f}`);
  if (layout.format === 'binary') {
    const lines = (member: string) =>
      classNames(member, files.get(member)!.toString('utf8').split('\n'));
    return second
      ? { classes: lines(first), coarseClasses: lines(second) }
      : { classes: lines(first) };
  }
  const meta = pickledDict(first, files.get(first)!);
  if (layout.name === 'cifar10') return { classes: stringList(first, meta, 'label_names') };
  return {
    classes: stringList(first, meta, 'fine_label_names'),
    coarseClasses: stringList(first, meta, 'coarse_label_names'),
  };
}

/** Checks that every label indexes one of `classes` classes. */
function checkLabels(member: string, labels: Int32Array, classes: number, kind: string): void {
  const bad = labels.findIndex((l) => l < 0 || l >= classes);
  if (bad >= 0)
    throw new Error(
      `${member}: the ${kind}label ${labels[bad]} of image ${bad} is not a class index 0 … ${classes - 1}.`,
    );
}

/**
 * A binary batch: records of `labelBytes` label bytes (CIFAR-100: coarse,
 * then fine) and 3072 pixel bytes, whose count must fill the file exactly.
 */
export function binaryBatch(
  member: string,
  bytes: Buffer,
  counts: { classes: number; coarseClasses?: number },
): CifarBatch {
  const labelBytes = counts.coarseClasses === undefined ? 1 : 2;
  const record = labelBytes + CIFAR_IMAGE_BYTES;
  if (bytes.length === 0 || bytes.length % record !== 0)
    throw new Error(
      `${member} holds ${bytes.length} bytes, not a whole number of ${record}-byte records (${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${CIFAR_IMAGE_BYTES} pixel bytes each).`,
    );
  const count = bytes.length / record;
  const fine = new Int32Array(count);
  const coarse = labelBytes === 2 ? new Int32Array(count) : undefined;
  for (let i = 0; i < count; i++) {
    if (coarse) coarse[i] = bytes[i * record];
    fine[i] = bytes[i * record + labelBytes - 1];
  }
  checkLabels(member, fine, counts.classes, coarse ? 'fine ' : '');
  if (coarse) checkLabels(member, coarse, counts.coarseClasses!, 'coarse ');
  return { member, count, planes: bytes, offset: labelBytes, stride: record, fine, coarse };
}

/** A pickled list of `count` labels under `key`. */
function labelList(
  member: string,
  batch: ReadonlyMap<string, PickleValue>,
  key: string,
  count: number,
): Int32Array {
  const list = batch.get(key);
  if (!Array.isArray(list) || !list.every((l) => Number.isInteger(l)))
    throw new Error(`${member} has no list of integer labels under the key "${key}".`);
  if (list.length !== count)
    throw new Error(
      `${member} holds ${count} images but ${list.length} labels under "${key}"; expected one label per image.`,
    );
  return Int32Array.from(list as number[]);
}

/** A python batch: a pickled dict with `data` (a uint8 array of N × 3072) and its labels. */
export function pythonBatch(
  member: string,
  bytes: Buffer,
  counts: { classes: number; coarseClasses?: number },
): CifarBatch {
  const batch = pickledDict(member, bytes);
  const data = batch.get('data');
  if (!(data instanceof Object) || (data as { kind?: string }).kind !== 'ndarray')
    throw new Error(`${member} has no numpy array under the key "data".`);
  const { shape, data: planes } = data as { shape: readonly number[]; data: Uint8Array };
  if (shape.length !== 2 || shape[1] !== CIFAR_IMAGE_BYTES)
    throw new Error(
      `${member}: "data" has the shape (${shape.join(', ')}); expected (N, ${CIFAR_IMAGE_BYTES}), one 32×32×3 image per row.`,
    );
  const count = shape[0];
  const coarseKey = counts.coarseClasses === undefined ? undefined : 'coarse_labels';
  const fine = labelList(member, batch, coarseKey ? 'fine_labels' : 'labels', count);
  const coarse = coarseKey ? labelList(member, batch, coarseKey, count) : undefined;
  checkLabels(member, fine, counts.classes, coarse ? 'fine ' : '');
  if (coarse) checkLabels(member, coarse, counts.coarseClasses!, 'coarse ');
  return { member, count, planes, offset: 0, stride: CIFAR_IMAGE_BYTES, fine, coarse };
}

/** Copies a batch's planar images (R, G, B planes of 32×32) into `out` as HWC RGB, from image `at`. */
export function batchToHwc(batch: CifarBatch, out: Uint8Array, at: number): void {
  const { planes, offset, stride, count } = batch;
  const plane = CIFAR_IMAGE_BYTES / 3;
  for (let i = 0; i < count; i++) {
    const src = offset + i * stride;
    const dst = (at + i) * CIFAR_IMAGE_BYTES;
    for (let p = 0; p < plane; p++) {
      out[dst + 3 * p] = planes[src + p];
      out[dst + 3 * p + 1] = planes[src + plane + p];
      out[dst + 3 * p + 2] = planes[src + 2 * plane + p];
    }
  }
}
