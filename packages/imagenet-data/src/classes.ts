import { IMAGENET_CLASS_TABLE } from './data/imagenet-classes';

/** One ILSVRC-2012 class. */
export interface ImageNetClass {
  /** Class index, 0 … 999 (sorted wnid order, as every framework uses). */
  readonly index: number;
  /** WordNet id, e.g. `"n01440764"`; also the class's folder name. */
  readonly wnid: string;
  /** The first (most common) name, e.g. `"tench"`. */
  readonly name: string;
  /** Every name WordNet lists, e.g. `["tench", "Tinca tinca"]`. */
  readonly names: readonly string[];
}

/**
 * The 1000 ILSVRC-2012 classes in class-index order: `n01440764` (tench) → 0
 * … `n15075141` (toilet tissue) → 999. Shipped with the package (from the
 * ILSVRC-2012 `LOC_synset_mapping.txt`), no download needed.
 */
export const IMAGENET_CLASSES: readonly ImageNetClass[] = Object.freeze(
  IMAGENET_CLASS_TABLE.map(([wnid, names], index) => {
    const all = names.split(',').map((n) => n.trim());
    return Object.freeze({ index, wnid, name: all[0], names: Object.freeze(all) });
  }),
);

/** The 1000 ILSVRC-2012 wnids in class-index order (the folder names of a class-per-folder ImageNet). */
export const IMAGENET_WNIDS: readonly string[] = Object.freeze(IMAGENET_CLASSES.map((c) => c.wnid));

const byWnid = new Map(IMAGENET_CLASSES.map((c) => [c.wnid, c]));

/**
 * Looks up an ILSVRC-2012 class by wnid.
 *
 * @example
 * ```ts
 * imagenetClass('n01443537'); // { index: 1, wnid: 'n01443537', name: 'goldfish', … }
 * ```
 * @param wnid - A WordNet id such as `"n01440764"` (case-sensitive).
 * @returns The class: its index, wnid, first name and every name.
 * @throws Error if `wnid` is not one of the 1000 classes.
 */
export function imagenetClass(wnid: string): ImageNetClass {
  const found = byWnid.get(wnid);
  if (!found) {
    throw new Error(
      `imagenetClass: ${JSON.stringify(wnid)} is not one of the 1000 ILSVRC-2012 wnids (n01440764 … n15075141).`,
    );
  }
  return found;
}
