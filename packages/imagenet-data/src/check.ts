import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  ImageDecodeError,
  openImage,
  readHeader,
  readImageFile,
  checkDecodeOption,
  toRgb,
  type DecodeOptions,
  type ResolvedDecodeOptions,
} from './decode';
import { byCodeUnit, imageFolder, imageFolderSplits, isHidden, type Sample } from './folder';
import {
  checkBoolean,
  checkOptions,
  checkPositiveInt,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/** What {@link checkImageFolder} found. */
export interface ImageFolderReport {
  /** The folder checked. */
  readonly root: string;
  /** Every class with its image count, in class-index order. */
  readonly classes: readonly { readonly name: string; readonly count: number }[];
  /** Classes whose folder holds no image. */
  readonly emptyClasses: readonly string[];
  /** Number of image files listed. */
  readonly images: number;
  /** Count per detected format (`jpeg`, `png`, …), from the content, not the extension. */
  readonly formats: Readonly<Record<string, number>>;
  /** Count per stored colour space (`srgb`, `b-w`, `cmyk`, …). */
  readonly colourSpaces: Readonly<Record<string, number>>;
  /** Images whose content is not what their extension says (e.g. a PNG named `.JPEG`). */
  readonly mislabelledFormats: readonly { readonly path: string; readonly format: string }[];
  /** Every file that cannot be decoded, with why. */
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
  /**
   * Files that are not images by extension (skipped by the loader); on a
   * root with splits, also the root's other entries (not checked).
   */
  readonly ignored: readonly string[];
  /**
   * Present when `root` holds `train/` (and `val/`), the layout that the
   * trainer's `--data` accepts: each split's own report, `val` checked
   * against the training classes as training reads it. The fields above then
   * cover both: `classes` are the training classes with their images in both
   * splits, `emptyClasses` name the split (`train/<class>`, `val/<class>`),
   * and the counts and lists add up the splits'.
   */
  readonly splits?: { readonly train: ImageFolderReport; readonly val?: ImageFolderReport };
}

/** Options of {@link checkImageFolder}. */
export interface CheckImageFolderOptions {
  /**
   * Fully decode every image to catch truncation; `false` reads headers only (much faster).
   *
   * @defaultValue true
   */
  fullDecode?: boolean;
  /**
   * Files checked at once.
   *
   * @defaultValue 8
   */
  concurrency?: number;
  /**
   * Decode options (pixel limit, …), as the loader will use them.
   *
   * @defaultValue `{}` (every {@link DecodeOptions} default)
   */
  decode?: DecodeOptions;
}

/** The one declaration of {@link CheckImageFolderOptions}. */
const CHECK_IMAGE_FOLDER_SPEC = {
  fullDecode: withDefault(checkBoolean, true),
  concurrency: withDefault(checkPositiveInt, 8),
  decode: checkDecodeOption,
} satisfies OptionSpec<CheckImageFolderOptions>;

const EXTENSION_FORMATS: Record<string, string> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.jfif': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.gif': 'gif',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.avif': 'heif',
  '.heic': 'heif',
};

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Checks an image folder (`root/<class>/<image>`) before a long run: counts
 * per class, formats, colour spaces, mislabelled formats, and every file that
 * cannot be decoded, so that bad files are found in minutes, not at epoch 40.
 * A root that holds `train/` (and `val/`), the layout that the trainer's
 * `--data` accepts, is checked split by split (see `splits` in the report),
 * not as a folder whose classes are `train` and `val`.
 *
 * @example
 * ```ts
 * const report = await checkImageFolder('/data/imagenet/train');
 * for (const { path, reason } of report.unreadable) console.warn(path, reason);
 * ```
 * @param root - The dataset folder, laid out as `root/<class>/<image>`, or a
 *   root holding `train/<class>/<image>` and optionally `val/<class>/<image>`.
 * @param options - Full decode or headers only, concurrency and decode
 *   options (default `{}`: full decode, 8 at once, default decoding).
 * @returns The report; unreadable files are listed in it, not thrown.
 * @throws Error when an option is unknown or invalid, or when `root` cannot be
 *   listed as an image folder (missing, or without class folders; see
 *   {@link imageFolder}), or when `val/` has a class folder that `train/`
 *   lacks (as training fails). Empty class folders are reported, not thrown.
 */
export async function checkImageFolder(
  root: string,
  options: CheckImageFolderOptions = {},
): Promise<ImageFolderReport> {
  const where = 'checkImageFolder';
  const settings = checkOptions(where, options, CHECK_IMAGE_FOLDER_SPEC);
  const splits = await imageFolderSplits(root);
  if (!splits) return checkOne(root, settings);
  const train = await checkOne(splits.train, settings);
  const classes = train.classes.map((c) => c.name);
  const val = splits.val ? await checkOne(splits.val, settings, classes) : undefined;
  const reports = val ? [train, val] : [train];
  const checked = val ? ['train', 'val'] : ['train'];
  const others = (await readdir(root))
    .filter((name) => !isHidden(name) && !checked.includes(name))
    .map((name) => join(root, name));
  const sum = (key: 'formats' | 'colourSpaces') => {
    const counts: Record<string, number> = {};
    for (const r of reports)
      for (const [k, n] of Object.entries(r[key])) counts[k] = (counts[k] ?? 0) + n;
    return counts;
  };
  return {
    root,
    classes: classes.map((name, i) => ({
      name,
      count: reports.reduce((n, r) => n + r.classes[i].count, 0),
    })),
    emptyClasses: [
      ...train.emptyClasses.map((c) => `train/${c}`),
      ...(val?.emptyClasses.map((c) => `val/${c}`) ?? []),
    ],
    images: reports.reduce((n, r) => n + r.images, 0),
    formats: sum('formats'),
    colourSpaces: sum('colourSpaces'),
    mislabelledFormats: reports.flatMap((r) => r.mislabelledFormats),
    unreadable: reports.flatMap((r) => r.unreadable),
    ignored: [...others, ...reports.flatMap((r) => r.ignored)].sort(byCodeUnit),
    splits: val ? { train, val } : { train },
  };
}

/** Reads (and with `fullDecode`, decodes) every sample, `concurrency` at a time. */
async function probeAll(
  samples: readonly Sample[],
  settings: { fullDecode: boolean; concurrency: number; decode: ResolvedDecodeOptions },
): Promise<{ path: string; format?: string; space?: string; reason?: string }[]> {
  const { fullDecode, concurrency, decode } = settings;
  const results = new Array<{ path: string; format?: string; space?: string; reason?: string }>(
    samples.length,
  );
  let next = 0;
  const worker = async () => {
    while (next < samples.length) {
      const i = next++;
      const { path } = samples[i];
      try {
        const buffer = await readImageFile(path, decode.maxFileBytes);
        const header = await readHeader(buffer, path, decode);
        if (fullDecode) await toRgb(openImage(buffer, decode, header), path, decode);
        results[i] = { path, format: header.format, space: header.space };
      } catch (error) {
        results[i] = {
          path,
          reason: error instanceof ImageDecodeError ? error.reason : (error as Error).message,
        };
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** Checks one image folder, `root/<class>/<image>`, with the given classes if any. */
async function checkOne(
  root: string,
  settings: { fullDecode: boolean; concurrency: number; decode: ResolvedDecodeOptions },
  classes?: readonly string[],
): Promise<ImageFolderReport> {
  const folder = await imageFolder(root, { allowEmptyClasses: true, classes });
  const counts = new Array<number>(folder.classes.length).fill(0);
  for (const s of folder.samples) counts[s.label]++;
  const formats: Record<string, number> = {};
  const colourSpaces: Record<string, number> = {};
  const unreadable: { path: string; reason: string }[] = [];
  const mislabelled: { path: string; format: string }[] = [];
  const results = await probeAll(folder.samples, settings);
  for (const r of results) {
    if (r.reason !== undefined) {
      unreadable.push({ path: r.path, reason: r.reason });
      continue;
    }
    bump(formats, r.format!);
    bump(colourSpaces, r.space!);
    const expected = EXTENSION_FORMATS[extname(r.path).toLowerCase()];
    if (expected && expected !== r.format) mislabelled.push({ path: r.path, format: r.format! });
  }
  return {
    root,
    classes: folder.classes.map((name, i) => ({ name, count: counts[i] })),
    emptyClasses: folder.classes.filter((_, i) => counts[i] === 0),
    images: folder.samples.length,
    formats,
    colourSpaces,
    mislabelledFormats: mislabelled,
    unreadable,
    ignored: folder.ignored,
  };
}
