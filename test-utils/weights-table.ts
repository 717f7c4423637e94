import { readFileSync } from 'node:fs';
import { CATEGORY_COUNTS, pretrainedWeights, type ModelTable } from '@convnets/layers';
import { expect } from 'vitest';

/**
 * One weights entry of `scripts/fixtures/generate_weights_tables.py`'s
 * output: what torchvision 0.14's weights enums say.
 */
interface TorchvisionWeightsRow {
  url: string;
  hash: string;
  resizeSize: [number];
  cropSize: [number];
  interpolation: string;
  mean: number[];
  std: number[];
  categories: number | null;
  numParams: number;
  acc1: number | null;
  acc5: number | null;
}

/** model → its `DEFAULT` and weights, as the fixture lists them. */
type TorchvisionWeightsTable = Record<
  string,
  { DEFAULT: string; weights: Record<string, TorchvisionWeightsRow> }
>;

/** ImageNet's statistics as torchvision writes them: what `normalization: 'imagenet'` stands for. */
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Reads a `weights.json` fixture. */
export function readWeightsTable(path: URL): TorchvisionWeightsTable {
  return (JSON.parse(readFileSync(path, 'utf8')) as { models: TorchvisionWeightsTable }).models;
}

/**
 * Asserts that every model of `table` lists exactly torchvision's weights
 * (but those in `leftOut`), each as torchvision describes it, with the same
 * `DEFAULT`; models absent from torchvision's table have none.
 */
export function expectTorchvisionWeights(
  models: ModelTable,
  table: TorchvisionWeightsTable,
  leftOut: readonly string[] = [],
): void {
  for (const [name, entry] of Object.entries(models)) {
    const expected = table[name];
    if (!expected) {
      expect([name, entry.weights, entry.defaultWeights]).toEqual([name, {}, undefined]);
      continue;
    }
    const names = Object.keys(expected.weights).filter((w) => !leftOut.includes(`${name}.${w}`));
    expect([name, Object.keys(entry.weights).sort()]).toEqual([name, names.sort()]);
    expect([name, pretrainedWeights(entry, 'DEFAULT').name]).toEqual([name, expected.DEFAULT]);
    for (const w of names) {
      const row = expected.weights[w];
      const ours = entry.weights[w];
      expect({ model: name, ...ours }).toEqual({
        model: name,
        name: w,
        url: row.url,
        sha256: row.hash,
        categories: 'imagenet1k',
        transforms: {
          resizeSize: row.resizeSize[0],
          cropSize: row.cropSize[0],
          interpolation: row.interpolation,
          normalization: 'imagenet',
        },
        numParams: row.numParams,
        metrics: { acc1: row.acc1, acc5: row.acc5 },
      });
      expect({ mean: row.mean, std: row.std }).toEqual(IMAGENET);
      expect(row.categories).toBe(CATEGORY_COUNTS[ours.categories]);
    }
  }
}
