import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  checkBoolean,
  checkOptions,
  fail,
  optional,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/** One image of a dataset: its file and its class index. */
export interface Sample {
  /** Path of the image file. */
  readonly path: string;
  /** Class index into the dataset's `classes`. */
  readonly label: number;
}

/**
 * What the loader needs from a dataset: a list of samples and the class
 * names their labels index into. Build one by hand for any other layout.
 */
export interface ImageDataset {
  /** Class names (for ImageNet, wnids); `label` indexes into this list. */
  readonly classes: readonly string[];
  /** Every sample, in a fixed order (the loader shuffles a copy of the indices). */
  readonly samples: readonly Sample[];
}

/** An {@link ImageDataset} read from a folder, with what was left out. */
export interface ImageFolderDataset extends ImageDataset {
  /** The folder that was listed. */
  readonly root: string;
  /**
   * Entries skipped and counted: files that are not images (by extension),
   * and symbolic links to the root or to a folder above them (which would
   * list the same images forever).
   */
  readonly ignored: readonly string[];
}

/**
 * File extensions (lower case, with the dot) that {@link imageFolder} lists;
 * matched case-insensitively. Decoding goes by the file's content, not by
 * this list, so a PNG named `.JPEG` still decodes.
 */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.jfif',
]);

/** Options of {@link imageFolder}. */
export interface ImageFolderOptions {
  /**
   * The class list, when it is known in advance (e.g. {@link IMAGENET_WNIDS}
   * for a subset of ImageNet, so that labels keep their standard indices).
   * Every class folder must then be in this list.
   *
   * @defaultValue the folder names under `root`, sorted by code unit
   */
  classes?: readonly string[];
  /**
   * Accept class folders that hold no image (when `false`, an empty class
   * folder is an error naming the folder).
   *
   * @defaultValue false
   */
  allowEmptyClasses?: boolean;
  /**
   * Extensions to list, lower case with the dot (matched case-insensitively).
   *
   * @defaultValue {@link IMAGE_EXTENSIONS}
   */
  extensions?: readonly string[];
}

const WHERE = 'imageFolder';

/** Hidden entries (`.DS_Store`, `.ipynb_checkpoints`, `._foo.jpg`) are never classes or samples. */
export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** Code-unit order, as Python's `sorted()` on ASCII names: `n01440764` before `n01443537`. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The identity (device and inode) of the folder an entry is or links to, or
 * `null` when it is not a folder. A symbolic link that cannot be followed
 * (dangling, or a loop of links) is not a folder: it is listed like a file,
 * and reading it fails like an unreadable image, naming the link.
 */
async function folderIdentity(
  path: string,
  entry: { isDirectory(): boolean; isSymbolicLink(): boolean },
): Promise<string | null> {
  if (!entry.isDirectory() && !entry.isSymbolicLink()) return null;
  let stats;
  try {
    stats = await stat(path, { bigint: true });
  } catch (error) {
    if (entry.isSymbolicLink()) return null;
    throw new Error(`${WHERE}: cannot read folder ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return stats.isDirectory() ? `${stats.dev}:${stats.ino}` : null;
}

async function readFolder(dir: string) {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => byCodeUnit(a.name, b.name));
  } catch (error) {
    throw new Error(`${WHERE}: cannot list folder ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function listInto(
  dir: string,
  extensions: readonly string[],
  above: ReadonlySet<string>,
  out: { images: string[]; ignored: string[] },
): Promise<void> {
  for (const entry of await readFolder(dir)) {
    if (isHidden(entry.name)) continue;
    const path = join(dir, entry.name);
    const id = await folderIdentity(path, entry);
    if (id !== null) {
      // A link back to this folder or one above it would list forever: skipped.
      if (above.has(id)) out.ignored.push(path);
      else await listInto(path, extensions, new Set([...above, id]), out);
    } else if (extensions.includes(extname(entry.name).toLowerCase())) {
      out.images.push(path);
    } else {
      out.ignored.push(path);
    }
  }
}

/**
 * Lists the image files under `dir` (recursively, following symbolic links),
 * sorted, and the entries skipped: files that are not images by extension,
 * and symbolic links back to `dir` or a folder between (which would list
 * forever). Entries named like images that are not regular files (FIFOs,
 * dangling links) are listed; reading them fails like an unreadable image.
 * `above` holds the identities of the folders above `dir`, if any.
 */
export async function listImages(
  dir: string,
  extensions: readonly string[],
  above: ReadonlySet<string> = new Set(),
): Promise<{ images: string[]; ignored: string[] }> {
  const out = { images: [] as string[], ignored: [] as string[] };
  const id = await folderIdentity(dir, { isDirectory: () => true, isSymbolicLink: () => false });
  await listInto(dir, extensions, id === null ? above : new Set([...above, id]), out);
  return out;
}

function checkClassList(where: string, option: string, classes: unknown): readonly string[] {
  if (
    !Array.isArray(classes) ||
    classes.length === 0 ||
    !classes.every((c) => typeof c === 'string')
  ) {
    fail(where, option, classes, 'a non-empty array of class names');
  }
  if (new Set(classes).size !== classes.length)
    fail(where, option, classes, 'a list without duplicates');
  return classes;
}

function checkExtensions(where: string, option: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((e) => typeof e === 'string')) {
    fail(where, option, value, 'an array of file extensions such as ".jpeg"');
  }
  return value;
}

/** The one declaration of {@link ImageFolderOptions}. */
const IMAGE_FOLDER_SPEC = {
  classes: optional(checkClassList),
  allowEmptyClasses: withDefault(checkBoolean, false),
  extensions: withDefault(checkExtensions, IMAGE_EXTENSIONS),
} satisfies OptionSpec<ImageFolderOptions>;

/**
 * The class folders of `root` (unsorted), the entries that are not, and the
 * identities of the folders above the images (the root's).
 */
async function classFolders(
  root: string,
): Promise<{ folders: string[]; ignored: string[]; above: Set<string> }> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw new Error(
      `${WHERE}: cannot read the dataset folder ${root}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const folders: string[] = [];
  const ignored: string[] = [];
  const rootId = await folderIdentity(root, {
    isDirectory: () => true,
    isSymbolicLink: () => false,
  });
  const above = new Set(rootId === null ? [] : [rootId]);
  for (const entry of entries) {
    if (isHidden(entry.name)) continue;
    const path = join(root, entry.name);
    const id = await folderIdentity(path, entry);
    // A class folder that links back to the root would list the dataset again.
    if (id !== null && !above.has(id)) folders.push(entry.name);
    else ignored.push(path);
  }
  return { folders, ignored, above };
}

/**
 * Lists an image-folder dataset laid out as `root/<class>/<image>` (ImageNet's
 * `train/`, a validation folder with class sub-folders, Imagenette, your own
 * photos). Classes are the sorted folder names, so for ILSVRC-2012
 * `n01440764` → 0 … `n15075141` → 999, as in torchvision's `ImageFolder`.
 *
 * Hidden files and folders are never classes or samples; extensions match
 * case-insensitively; images in nested folders of a class belong to it;
 * files that are not images are skipped and listed in `ignored`, as are
 * symbolic links that loop back to a folder above them. Symbolic links are
 * followed; an entry named like an image that is not a regular file (a FIFO,
 * a dangling link, a loop of links) is listed, and reading it fails like any
 * unreadable image, naming it.
 *
 * @example
 * ```ts
 * const train = await imageFolder('/data/imagenet/train');
 * train.classes.length; // 1000
 * train.samples[0]; // { path: '/data/imagenet/train/n01440764/n01440764_10026.JPEG', label: 0 }
 * ```
 * @param root - The dataset folder, laid out as `root/<class>/<image>`.
 * @param options - Class list, empty-folder policy and extensions (default `{}`:
 *   classes from the sorted folder names, every {@link IMAGE_EXTENSIONS}).
 * @returns The classes, every sample (sorted by class, then path), the root
 *   and the non-image files that were skipped.
 * @throws Error when `root` is missing or has no class folder, a class folder is
 *   empty (unless `allowEmptyClasses`) or not in `options.classes`, naming the
 *   folder; or when an option is unknown or invalid.
 */
export async function imageFolder(
  root: string,
  options: ImageFolderOptions = {},
): Promise<ImageFolderDataset> {
  const checked = checkOptions(WHERE, options, IMAGE_FOLDER_SPEC);
  const { classes: given, allowEmptyClasses: allowEmpty } = checked;
  const extensions = checked.extensions.map((e) => e.toLowerCase());

  const { folders, ignored, above } = await classFolders(root);
  folders.sort(byCodeUnit);
  if (folders.length === 0) {
    throw new Error(
      `${WHERE}: ${root} has no class folders; expected the layout root/<class>/<image> (e.g. train/n01440764/n01440764_10026.JPEG).`,
    );
  }
  const classes = given ?? folders;
  const indexOf = new Map(classes.map((c, i) => [c, i]));
  const samples: Sample[] = [];
  for (const folder of folders) {
    const label = indexOf.get(folder);
    if (label === undefined) {
      throw new Error(
        `${WHERE}: folder ${join(root, folder)} is not one of the ${classes.length} classes given in option "classes".`,
      );
    }
    const listed = await listImages(join(root, folder), extensions, above);
    if (listed.images.length === 0 && !allowEmpty) {
      throw new Error(
        `${WHERE}: class folder ${join(root, folder)} contains no image (extensions ${extensions.join(', ')}); remove it or pass allowEmptyClasses: true.`,
      );
    }
    for (const path of listed.images) samples.push({ path, label });
    ignored.push(...listed.ignored);
  }
  return { root, classes, samples, ignored: ignored.sort(byCodeUnit) };
}

/**
 * The splits of a dataset root laid out as `root/train/<class>/…` (with
 * `root/val/<class>/…` when there is one), the layout that the trainer's
 * `--data` accepts; `null` when `root` has no `train` folder (it is then one
 * image folder, `root/<class>/…`). Symbolic links to folders count as folders.
 *
 * @param root - The dataset root.
 * @returns The `train` folder and the `val` folder if there is one, or `null`.
 * @throws Nothing (a root that cannot be read has no splits).
 */
export async function imageFolderSplits(
  root: string,
): Promise<{ readonly train: string; readonly val?: string } | null> {
  const isFolder = (path: string) =>
    stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
  const train = join(root, 'train');
  if (!(await isFolder(train))) return null;
  const val = join(root, 'val');
  return (await isFolder(val)) ? { train, val } : { train };
}
