import { readFile, readdir } from 'node:fs/promises';
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
import { checkKnownOptions, fail } from './validate';

/** Options of {@link imagenetValidation}: which labels file comes with a flat folder. */
export interface ImageNetValidationOptions {
  /**
   * Path of the devkit's `ILSVRC2012_validation_ground_truth.txt` (one
   * ILSVRC2012_ID, 1 … 1000, per line, for `ILSVRC2012_val_00000001` onwards).
   * Needs `devkitClasses` to turn those ids into wnids.
   */
  groundTruth?: string;
  /**
   * The devkit's class list that maps ILSVRC2012_IDs to wnids: a path to a
   * file with lines `wnid id [name]` (the devkit's `map_clsloc.txt`), or the
   * 1000 wnids in ILSVRC2012_ID order (id 1 first).
   */
  devkitClasses?: string | readonly string[];
  /** Path of Kaggle's `LOC_val_solution.csv` (`ImageId,PredictionString`; the first wnid is the label). */
  kaggleSolution?: string;
}

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

async function devkitWnids(classes: string | readonly string[]): Promise<readonly string[]> {
  let wnids: string[];
  if (typeof classes === 'string') {
    const byId = new Map<number, string>();
    const lines = (await readFile(classes, 'utf8')).split(/\r?\n/);
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
  } else {
    wnids = [...classes];
  }
  const known = new Set(IMAGENET_WNIDS);
  if (wnids.length !== 1000 || new Set(wnids).size !== 1000 || !wnids.every((w) => known.has(w))) {
    fail(
      WHERE,
      'devkitClasses',
      classes,
      'the 1000 ILSVRC-2012 wnids in ILSVRC2012_ID order (ids 1 … 1000, each once)',
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

/**
 * The ILSVRC-2012 validation set in whichever layout you have, labelled with
 * the standard class indices ({@link IMAGENET_WNIDS}):
 *
 * - (a) class sub-folders (`val/n01440764/ILSVRC2012_val_00000293.JPEG`): no option;
 * - (b) one flat folder + the devkit's `ILSVRC2012_validation_ground_truth.txt`
 *   (`groundTruth`) and its class list (`devkitClasses`);
 * - (c) one flat folder + Kaggle's `LOC_val_solution.csv` (`kaggleSolution`).
 *
 * @example
 * ```ts
 * const val = await imagenetValidation('/data/ILSVRC/Data/CLS-LOC/val', {
 *   kaggleSolution: '/data/LOC_val_solution.csv',
 * });
 * ```
 */
export async function imagenetValidation(
  dir: string,
  options: ImageNetValidationOptions = {},
): Promise<ImageFolderDataset> {
  checkKnownOptions(WHERE, options, ['groundTruth', 'devkitClasses', 'kaggleSolution']);
  const { groundTruth, devkitClasses, kaggleSolution } = options;
  if (groundTruth !== undefined && kaggleSolution !== undefined) {
    throw new Error(
      `${WHERE}: give either "groundTruth" (devkit) or "kaggleSolution" (Kaggle), not both.`,
    );
  }
  if (groundTruth === undefined && kaggleSolution === undefined) {
    return imageFolder(dir, { classes: IMAGENET_WNIDS });
  }
  const { byId, ignored } = await flatImages(dir);
  const labels = new Map<string, string>();
  let source: string;
  if (groundTruth !== undefined) {
    if (devkitClasses === undefined) {
      fail(
        WHERE,
        'devkitClasses',
        devkitClasses,
        "the devkit's class list (map_clsloc.txt or 1000 wnids) to map ILSVRC2012_IDs to wnids",
      );
    }
    const wnids = await devkitWnids(devkitClasses);
    source = groundTruth;
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
  } else {
    source = kaggleSolution as string;
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
  }
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
