import { extname } from 'node:path';
import {
  ImageDecodeError,
  openImage,
  readHeader,
  readImageFile,
  resolveDecodeOptions,
  toRgb,
  type DecodeOptions,
} from './decode';
import { imageFolder } from './folder';
import { checkKnownOptions, positiveInt } from './validate';

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
  /** Files that are not images by extension (skipped by the loader). */
  readonly ignored: readonly string[];
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
 *
 * @example
 * ```ts
 * const report = await checkImageFolder('/data/imagenet/train');
 * for (const { path, reason } of report.unreadable) console.warn(path, reason);
 * ```
 * @param root - The dataset folder, laid out as `root/<class>/<image>`.
 * @param options - Full decode or headers only, concurrency and decode
 *   options (default `{}`: full decode, 8 at once, default decoding).
 * @returns The report; unreadable files are listed in it, not thrown.
 * @throws Error when an option is unknown or invalid, or when `root` cannot be
 *   listed as an image folder (missing, or without class folders; see
 *   {@link imageFolder}). Empty class folders are reported, not thrown.
 */
export async function checkImageFolder(
  root: string,
  options: CheckImageFolderOptions = {},
): Promise<ImageFolderReport> {
  const where = 'checkImageFolder';
  checkKnownOptions(where, options, ['fullDecode', 'concurrency', 'decode']);
  const fullDecode = options.fullDecode ?? true;
  const concurrency = positiveInt(where, 'concurrency', options.concurrency ?? 8);
  const decode = resolveDecodeOptions(where, options.decode);
  const folder = await imageFolder(root, { allowEmptyClasses: true });
  const counts = new Array<number>(folder.classes.length).fill(0);
  for (const s of folder.samples) counts[s.label]++;
  const formats: Record<string, number> = {};
  const colourSpaces: Record<string, number> = {};
  const unreadable: { path: string; reason: string }[] = [];
  const mislabelled: { path: string; format: string }[] = [];
  const results = new Array<{ path: string; format?: string; space?: string; reason?: string }>(
    folder.samples.length,
  );
  let next = 0;
  const worker = async () => {
    while (next < folder.samples.length) {
      const i = next++;
      const { path } = folder.samples[i];
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
