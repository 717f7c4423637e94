import { access, readFile, readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { IMAGENET_WNIDS } from './classes';
import {
  IMAGE_EXTENSIONS,
  byCodeUnit,
  imageFolder,
  isHidden,
  type ImageFolderDataset,
  type Sample,
} from './folder';
import { readMatFile } from './matfile';
import { checkOptions, fail, optional, unchecked, type OptionSpec } from '@convnets/validate';

/** Options of {@link imagenetValidation}: which labels come with a flat folder. */
export interface ImageNetValidationOptions {
  /**
   * The ILSVRC-2012 devkit folder (`ILSVRC2012_devkit_t12`, extracted), as
   * downloaded: its `data/ILSVRC2012_validation_ground_truth.txt` gives each
   * image's ILSVRC2012_ID and its `data/meta.mat` maps those ids to wnids.
   * Replaces `groundTruth` and `devkitClasses`.
   *
   * @defaultValue `undefined` (labels from another option, or from class sub-folders)
   */
  devkit?: string;
  /**
   * Path of the devkit's `ILSVRC2012_validation_ground_truth.txt` (one
   * ILSVRC2012_ID, 1 … 1000, per line, for `ILSVRC2012_val_00000001` onwards).
   * Needs `devkitClasses` to turn those ids into wnids.
   *
   * @defaultValue `undefined` (not used)
   */
  groundTruth?: string;
  /**
   * What maps ILSVRC2012_IDs to wnids: a path to the devkit's `meta.mat`
   * (its `synsets` struct array, fields `ILSVRC2012_ID` and `WNID`), a path
   * to a text file with lines `wnid id [name]` (the later devkits'
   * `map_clsloc.txt`), or the 1000 wnids in ILSVRC2012_ID order (id 1 first).
   *
   * @defaultValue `undefined` (not used)
   */
  devkitClasses?: string | readonly string[];
  /**
   * Path of Kaggle's `LOC_val_solution.csv` (`ImageId,PredictionString`; the first wnid is the label).
   *
   * @defaultValue `undefined` (not used)
   */
  kaggleSolution?: string;
}

/** The one declaration of {@link ImageNetValidationOptions} (the paths are read where used). */
const IMAGENET_VALIDATION_SPEC = {
  devkit: optional((where, option, value) =>
    typeof value === 'string' ? value : fail(where, option, value, 'the path of the devkit folder'),
  ),
  groundTruth: unchecked<string | undefined>(),
  devkitClasses: unchecked<string | readonly string[] | undefined>(),
  kaggleSolution: unchecked<string | undefined>(),
} satisfies OptionSpec<ImageNetValidationOptions>;

const WHERE = 'imagenetValidation';
const VAL_ID = /^(ILSVRC2012_val_(\d{8}))$/;

async function flatImages(dir: string): Promise<{ byId: Map<string, string>; ignored: string[] }> {
  const byId = new Map<string, string>();
  const ignored: string[] = [];
  const names = (await readdir(dir)).filter((n) => !isHidden(n)).sort(byCodeUnit);
  for (const name of names) {
    const path = join(dir, name);
    if (IMAGE_EXTENSIONS.includes(extname(name).toLowerCase()))
      byId.set(basename(name, extname(name)), path);
    else ignored.push(path);
  }
  return { byId, ignored };
}

/** ILSVRC2012_ID → wnid from the devkit's `meta.mat` (ids above 1000 are the non-leaf synsets). */
function metaMatWnids(path: string, bytes: Uint8Array): string[] {
  let synsets;
  try {
    synsets = readMatFile(bytes).get('synsets');
  } catch (error) {
    throw new Error(`${WHERE}: cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (
    synsets?.kind !== 'struct' ||
    !synsets.fields.includes('ILSVRC2012_ID') ||
    !synsets.fields.includes('WNID')
  ) {
    throw new Error(
      `${WHERE}: ${path} has no "synsets" struct array with fields ILSVRC2012_ID and WNID; expected the ILSVRC-2012 devkit's data/meta.mat.`,
    );
  }
  const wnids: string[] = new Array<string>(1000).fill('');
  synsets.elements.forEach((synset, i) => {
    const id = synset.ILSVRC2012_ID;
    const wnid = synset.WNID;
    if (
      id?.kind !== 'numeric' ||
      id.data.length !== 1 ||
      wnid?.kind !== 'char' ||
      wnid.rows.length !== 1
    ) {
      throw new Error(
        `${WHERE}: ${path}: synsets(${i + 1}) does not have a numeric ILSVRC2012_ID and a one-line WNID.`,
      );
    }
    const k = id.data[0];
    if (Number.isInteger(k) && k >= 1 && k <= 1000) wnids[k - 1] = wnid.rows[0];
  });
  return wnids;
}

async function devkitWnids(classes: string | readonly string[]): Promise<readonly string[]> {
  let wnids: string[];
  if (typeof classes === 'string') {
    const bytes = await readFile(classes);
    if (bytes.subarray(0, 6).toString('latin1') === 'MATLAB') {
      wnids = metaMatWnids(classes, bytes);
    } else {
      const byId = new Map<number, string>();
      const lines = bytes.toString('utf8').split(/\r?\n/);
      lines.forEach((line, i) => {
        if (line.trim() === '') return;
        const m = /^\s*(n\d{8})\s+(\d+)\b/.exec(line);
        if (!m)
          throw new Error(
            `${WHERE}: ${classes} line ${i + 1} is not "wnid id [name]": ${JSON.stringify(line)}.`,
          );
        byId.set(Number(m[2]), m[1]);
      });
      wnids = Array.from({ length: byId.size }, (_, i) => byId.get(i + 1) ?? '');
    }
  } else {
    wnids = [...classes];
  }
  const known = new Set(IMAGENET_WNIDS);
  if (wnids.length !== 1000 || new Set(wnids).size !== 1000 || !wnids.every((w) => known.has(w))) {
    fail(
      WHERE,
      'devkitClasses',
      classes,
      'the 1000 ILSVRC-2012 wnids in ILSVRC2012_ID order (ids 1 … 1000, each once, each a known wnid)',
    );
  }
  return wnids;
}

function labelled(
  dir: string,
  byId: Map<string, string>,
  labels: Map<string, string>,
  source: string,
): Sample[] {
  const index = new Map(IMAGENET_WNIDS.map((w, i) => [w, i]));
  const samples: Sample[] = [];
  for (const [id, path] of byId) {
    const wnid = labels.get(id);
    if (wnid === undefined) throw new Error(`${WHERE}: ${path} has no label in ${source}.`);
    const label = index.get(wnid);
    if (label === undefined)
      throw new Error(`${WHERE}: ${source} gives ${id} the unknown wnid ${JSON.stringify(wnid)}.`);
    samples.push({ path, label });
  }
  if (samples.length === 0) throw new Error(`${WHERE}: ${dir} contains no image.`);
  return samples;
}

/** The devkit's two files, in `devkit/data/` (as extracted) or in `devkit/` itself. */
async function devkitFiles(devkit: string): Promise<{ groundTruth: string; meta: string }> {
  const tried: string[] = [];
  for (const folder of [join(devkit, 'data'), devkit]) {
    const groundTruth = join(folder, 'ILSVRC2012_validation_ground_truth.txt');
    const meta = join(folder, 'meta.mat');
    tried.push(folder);
    try {
      await Promise.all([access(groundTruth), access(meta)]);
      return { groundTruth, meta };
    } catch {
      // try the next folder
    }
  }
  throw new Error(
    `${WHERE}: option "devkit": found no ILSVRC2012_validation_ground_truth.txt and meta.mat in ${tried.join(' or ')}; expected the extracted ILSVRC2012_devkit_t12 folder.`,
  );
}

/** The labels of the devkit's ground truth file, by image id, mapped to wnids by `devkitClasses`. */
async function groundTruthLabels(
  groundTruth: string,
  devkitClasses: string | readonly string[] | undefined,
): Promise<{ labels: Map<string, string>; source: string }> {
  const labels = new Map<string, string>();
  if (devkitClasses === undefined) {
    fail(
      WHERE,
      'devkitClasses',
      devkitClasses,
      "the devkit's class list (map_clsloc.txt or 1000 wnids) to map ILSVRC2012_IDs to wnids",
    );
  }
  const wnids = await devkitWnids(devkitClasses);
  const ids = (await readFile(groundTruth, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  ids.forEach((line, i) => {
    const id = Number(line.trim());
    if (!Number.isInteger(id) || id < 1 || id > 1000) {
      throw new Error(
        `${WHERE}: ${groundTruth} line ${i + 1} must be an ILSVRC2012_ID in 1 … 1000; received ${JSON.stringify(line)}.`,
      );
    }
    labels.set(`ILSVRC2012_val_${String(i + 1).padStart(8, '0')}`, wnids[id - 1]);
  });
  return { labels, source: groundTruth };
}

/** The labels of Kaggle's `LOC_val_solution.csv`, by image id. */
async function kaggleLabels(
  source: string,
): Promise<{ labels: Map<string, string>; source: string }> {
  const labels = new Map<string, string>();
  const lines = (await readFile(source, 'utf8')).split(/\r?\n/).filter((l) => l.trim() !== '');
  lines.forEach((line, i) => {
    if (i === 0 && line.startsWith('ImageId')) return;
    const m = /^([^,]+),\s*(n\d{8})\b/.exec(line);
    if (!m)
      throw new Error(
        `${WHERE}: ${source} line ${i + 1} is not "ImageId,wnid …": ${JSON.stringify(line)}.`,
      );
    labels.set(m[1], m[2]);
  });
  return { labels, source };
}

/**
 * The ILSVRC-2012 validation set in whichever layout you have, labelled with
 * the standard class indices ({@link IMAGENET_WNIDS}):
 *
 * - (a) class sub-folders (`val/n01440764/ILSVRC2012_val_00000293.JPEG`): no option;
 * - (b) one flat folder + the ILSVRC-2012 devkit (`devkit`: its ground truth
 *   and `meta.mat`), or the ground truth file (`groundTruth`) and a class list
 *   (`devkitClasses`) given one by one;
 * - (c) one flat folder + Kaggle's `LOC_val_solution.csv` (`kaggleSolution`).
 *
 * @param dir - the validation images: class sub-folders, or one flat folder
 *   of `ILSVRC2012_val_NNNNNNNN.JPEG` files.
 * @param options - where the labels of a flat folder come from (default `{}`:
 *   `dir` must hold class sub-folders).
 * @returns the samples (sorted by file name within the layout), their class
 *   indices, and the non-image files that were left out.
 * @throws Error naming the file or line at fault: an unreadable or malformed
 *   labels file, a class list that is not the 1000 ILSVRC-2012 wnids, an image
 *   without a label, or options that contradict each other.
 *
 * @example
 * ```ts
 * // Flat folder + the devkit, as downloaded from image-net.org:
 * const val = await imagenetValidation('/data/ILSVRC2012_img_val', {
 *   devkit: '/data/ILSVRC2012_devkit_t12',
 * });
 * // Flat folder + Kaggle's labels:
 * const kaggle = await imagenetValidation('/data/ILSVRC/Data/CLS-LOC/val', {
 *   kaggleSolution: '/data/LOC_val_solution.csv',
 * });
 * ```
 */
export async function imagenetValidation(
  dir: string,
  options: ImageNetValidationOptions = {},
): Promise<ImageFolderDataset> {
  const { devkit, kaggleSolution, ...checked } = checkOptions(
    WHERE,
    options,
    IMAGENET_VALIDATION_SPEC,
  );
  let { groundTruth, devkitClasses } = checked;
  if (devkit !== undefined) {
    if (groundTruth !== undefined || devkitClasses !== undefined) {
      throw new Error(
        `${WHERE}: give either "devkit" (the devkit folder) or "groundTruth" and "devkitClasses" (its files), not both.`,
      );
    }
    ({ groundTruth, meta: devkitClasses } = await devkitFiles(devkit));
  }
  if (groundTruth !== undefined && kaggleSolution !== undefined) {
    throw new Error(
      `${WHERE}: give either "groundTruth"/"devkit" (devkit) or "kaggleSolution" (Kaggle), not both.`,
    );
  }
  if (groundTruth === undefined && kaggleSolution === undefined) {
    return imageFolder(dir, { classes: IMAGENET_WNIDS });
  }
  const { byId, ignored } = await flatImages(dir);
  const { labels, source } =
    groundTruth !== undefined
      ? await groundTruthLabels(groundTruth, devkitClasses)
      : await kaggleLabels(kaggleSolution as string);
  for (const id of byId.keys()) {
    if (!VAL_ID.test(id) && !labels.has(id)) {
      throw new Error(
        `${WHERE}: ${byId.get(id)} is not named ILSVRC2012_val_NNNNNNNN and has no label in ${source}.`,
      );
    }
  }
  return {
    root: dir,
    classes: IMAGENET_WNIDS,
    samples: labelled(dir, byId, labels, source),
    ignored,
  };
}
