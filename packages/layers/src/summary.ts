import Table from 'cli-table3';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { checkBoolean, checkOptions, withDefault, type OptionSpec } from '@convnets/validate';

/** One row of a {@link ModelSummary}. */
export interface LayerSummary {
  /** Layer name (prefixed by the enclosing model's name for nested models). */
  name: string;
  /** tfjs class name, e.g. `Conv2D`. */
  className: string;
  /** Output shape, batch dimension first (`null` where unknown). */
  outputShape: (number | null)[] | (number | null)[][];
  /** Trainable parameters of the layer. */
  trainableParams: number;
  /** Non-trainable parameters of the layer (e.g. BN moving statistics). */
  nonTrainableParams: number;
  /** Multiply-adds per example (conv and dense layers only; 0 for the others). */
  multiplyAdds: number;
}

/** What {@link summarize} returns: counts that can be compared with the papers' tables. */
export interface ModelSummary {
  /** The model's name. */
  name: string;
  /** Per-layer rows, in the model's layer order. */
  layers: LayerSummary[];
  /** Trainable parameters (what torchvision's `sum(p.numel() for p in model.parameters())` counts). */
  trainableParams: number;
  /** Non-trainable parameters: BN moving means and variances, frozen layers. */
  nonTrainableParams: number;
  /** `trainableParams + nonTrainableParams`. */
  totalParams: number;
  /**
   * Multiply-adds per example in convolution and dense layers: what the
   * ResNet paper's Table 1 calls "FLOPs". Unknown spatial sizes count as 0.
   */
  multiplyAdds: number;
  /**
   * Renders the summary as a text table: one row per layer (name and class,
   * output shape, parameters, multiply-adds), then the totals.
   *
   * @returns The table, lines separated by `\n`.
   * @throws Never.
   */
  toTable(): string;
  /**
   * The summary as plain JSON-safe data (what `JSON.stringify` writes).
   *
   * @returns The counts and rows without the methods.
   * @throws Never.
   */
  toJSON(): Omit<ModelSummary, 'toTable' | 'toJSON'>;
}

/** Options of {@link summarize}. */
export interface SummarizeOptions {
  /**
   * Leave out rows of layers with neither parameters nor multiply-adds
   * (padding, activations, additions) from `layers` and the table. The totals
   * are the same.
   *
   * @defaultValue `false`
   */
  skipParameterFree?: boolean;
}

type AnyLayer = LayersModel['layers'][number];

const CONV_CLASSES = new Set(['Conv1D', 'Conv2D', 'Conv3D', 'DepthwiseConv2D']);
const TRANSPOSED_CONV_CLASSES = new Set(['Conv2DTranspose', 'Conv3DTranspose']);

function product(dims: readonly (number | null)[]): number {
  let n = 1;
  for (const d of dims) {
    if (d == null) return 0;
    n *= d;
  }
  return n;
}

function singleShape(shape: unknown): (number | null)[] {
  const s = shape as (number | null)[] | (number | null)[][];
  return (Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
}

/**
 * Multiply-adds of one example through a layer. Every supported layer does one
 * multiply-add per kernel element per output position (per input position for
 * transposed convolutions), so the count is kernel size × positions.
 */
function layerMultiplyAdds(layer: AnyLayer): number {
  const className = layer.getClassName();
  const kernelSize = (kernelName: string) =>
    product(layer.weights.find((w) => w.originalName.endsWith(kernelName))?.shape ?? [0]);
  const positions = (shape: unknown) => product(singleShape(shape).slice(1, -1));
  if (CONV_CLASSES.has(className)) {
    const name = className === 'DepthwiseConv2D' ? 'depthwise_kernel' : 'kernel';
    return kernelSize(name) * positions(layer.outputShape);
  }
  if (TRANSPOSED_CONV_CLASSES.has(className)) {
    return kernelSize('kernel') * positions((layer.input as SymbolicTensor).shape);
  }
  if (className === 'SeparableConv2D') {
    return (
      (kernelSize('depthwise_kernel') + kernelSize('pointwise_kernel')) *
      positions(layer.outputShape)
    );
  }
  if (className === 'Dense') return kernelSize('kernel') * positions(layer.outputShape);
  return 0;
}

function sizeOf(weights: AnyLayer['weights']): number {
  return weights.reduce((n, w) => n + product(w.shape), 0);
}

function collectRows(model: LayersModel, prefix: string, rows: LayerSummary[]): void {
  for (const layer of model.layers) {
    const nested = (layer as unknown as { layers?: unknown }).layers;
    if (Array.isArray(nested)) {
      collectRows(layer as unknown as LayersModel, `${prefix}${layer.name}/`, rows);
      continue;
    }
    rows.push({
      name: prefix + layer.name,
      className: layer.getClassName(),
      outputShape: layer.outputShape as LayerSummary['outputShape'],
      trainableParams: sizeOf(layer.trainableWeights),
      nonTrainableParams: sizeOf(layer.nonTrainableWeights),
      multiplyAdds: layerMultiplyAdds(layer),
    });
  }
}

const formatCount = (n: number) => n.toLocaleString('en-US');
const formatShape = (shape: LayerSummary['outputShape']): string =>
  Array.isArray(shape[0])
    ? (shape as (number | null)[][]).map(formatShape).join(', ')
    : `[${(shape as (number | null)[]).map((d) => (d == null ? '?' : d)).join(', ')}]`;

/** The one declaration of {@link SummarizeOptions}: its keys and their checks. */
const SUMMARIZE_SPEC = {
  skipParameterFree: withDefault(checkBoolean, false),
} satisfies OptionSpec<SummarizeOptions>;

/**
 * Counts a model's parameters and multiply-adds, layer by layer, and renders
 * them as a table or JSON. The counts are what the papers and torchvision
 * report: trainable parameters, BN running statistics as non-trainable, and
 * multiply-adds of convolutions and dense layers per example. Nested models
 * are expanded, their rows prefixed with the nested model's name.
 *
 * Building a model does not run it, so summarising even ResNet-152 is quick.
 *
 * @param model - Any `tf.LayersModel` (functional or sequential).
 * @param opts - What to list; see {@link SummarizeOptions}.
 * @returns The per-layer rows and totals, with `toTable()` and `toJSON()`.
 * @throws Error when `model` is not a `tf.LayersModel`, or for an unknown option.
 *
 * @example
 * ```ts
 * const s = summarize(model);
 * console.log(s.toTable());
 * console.log(s.trainableParams, s.multiplyAdds);
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1 (the "FLOPs" row counts multiply-adds)](https://arxiv.org/abs/1512.03385)
 * @see [Simonyan & Zisserman, arXiv 1409.1556, Table 2 (parameters)](https://arxiv.org/abs/1409.1556)
 */
export function summarize(model: LayersModel, opts: SummarizeOptions = {}): ModelSummary {
  if (model == null || !Array.isArray((model as { layers?: unknown }).layers)) {
    throw new Error(`summarize: expected a tf.LayersModel; received ${String(model)}.`);
  }
  const { skipParameterFree } = checkOptions('summarize', opts, SUMMARIZE_SPEC);
  const allRows: LayerSummary[] = [];
  collectRows(model, '', allRows);
  const rows = skipParameterFree
    ? allRows.filter((r) => r.trainableParams + r.nonTrainableParams + r.multiplyAdds > 0)
    : allRows;
  const trainableParams = sizeOf(model.trainableWeights);
  const nonTrainableParams = sizeOf(model.nonTrainableWeights);
  const multiplyAdds = allRows.reduce((n, r) => n + r.multiplyAdds, 0);
  const data = {
    name: model.name,
    layers: rows,
    trainableParams,
    nonTrainableParams,
    totalParams: trainableParams + nonTrainableParams,
    multiplyAdds,
  };
  return {
    ...data,
    toJSON: () => data,
    toTable: () => {
      const table = new Table({
        head: ['Layer (type)', 'Output shape', 'Params', 'Mult-adds'],
        colAligns: ['left', 'left', 'right', 'right'],
        style: { head: [], border: [], compact: true },
      });
      for (const r of rows) {
        table.push([
          `${r.name} (${r.className})`,
          formatShape(r.outputShape),
          formatCount(r.trainableParams + r.nonTrainableParams),
          r.multiplyAdds > 0 ? formatCount(r.multiplyAdds) : '',
        ]);
      }
      return [
        `Model: ${model.name}`,
        table.toString(),
        `Trainable params:     ${formatCount(trainableParams)}`,
        `Non-trainable params: ${formatCount(nonTrainableParams)}`,
        `Total params:         ${formatCount(trainableParams + nonTrainableParams)}`,
        `Multiply-adds:        ${formatCount(multiplyAdds)} per example`,
      ].join('\n');
    },
  };
}
