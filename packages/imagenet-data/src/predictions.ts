import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { IMAGENET_CLASSES } from './classes';
import { checkPositiveInt, describeValue } from '@convnets/validate';

/** One row of {@link decodePredictions}: a class and its probability. */
export interface PredictionRow {
  /** Class index, 0 … 999. */
  readonly index: number;
  /** WordNet id, e.g. `"n01440764"`. */
  readonly wnid: string;
  /** The class's first name, e.g. `"tench"`. */
  readonly name: string;
  /** The score given for this class (as passed in, not renormalised). */
  readonly probability: number;
}

const WHERE = 'decodePredictions';
const NUM_CLASSES = IMAGENET_CLASSES.length;

function topRows(scores: ArrayLike<number>, offset: number, topK: number): PredictionRow[] {
  const indices = Array.from({ length: NUM_CLASSES }, (_, i) => i);
  // Stable for ties: the lower class index comes first.
  indices.sort((a, b) => scores[offset + b] - scores[offset + a] || a - b);
  return indices.slice(0, topK).map((index) => {
    const { wnid, name } = IMAGENET_CLASSES[index];
    return { index, wnid, name, probability: scores[offset + index] };
  });
}

/**
 * The `topK` most probable ILSVRC-2012 classes of one prediction (a `[1000]`
 * tensor or array), best first.
 *
 * @example
 * ```ts
 * const probs = tf.squeeze(model.predict(image) as tf.Tensor2D) as tf.Tensor1D;
 * const [best] = decodePredictions(probs, 1);
 * console.log(`${best.name} (${best.wnid}): ${(best.probability * 100).toFixed(1)}%`);
 * ```
 * @param probabilities - One score per class: a `[1000]` tensor or array
 *   (probabilities or logits; the order is what counts). A tensor is read
 *   with `dataSync()` and not disposed.
 * @param topK - How many classes to return, 1 … 1000. Default 5.
 * @returns The `topK` best classes, highest score first (ties: lower index first).
 * @throws Error when `topK` is not an integer in 1 … 1000, or when
 *   `probabilities` does not hold exactly 1000 scores.
 */
export function decodePredictions(
  probabilities: Tensor1D | ArrayLike<number>,
  topK?: number,
): PredictionRow[];
/**
 * The `topK` most probable classes of each row of a `[batch, 1000]` tensor or array of rows.
 *
 * @param probabilities - A `[batch, 1000]` tensor or an array of `[1000]`
 *   rows, one per example. A tensor is read with `dataSync()` and not disposed.
 * @param topK - How many classes to return per example, 1 … 1000. Default 5.
 * @returns One list of rows per example, each best first.
 * @throws Error when `topK` is not an integer in 1 … 1000, or when a row does
 *   not hold exactly 1000 scores.
 */
export function decodePredictions(
  probabilities: Tensor2D | readonly ArrayLike<number>[],
  topK?: number,
): PredictionRow[][];
/**
 * A tensor of either rank: rows for rank 1, one list of rows per example for rank 2.
 *
 * @param probabilities - A `[1000]` or `[batch, 1000]` tensor of scores; read
 *   with `dataSync()` and not disposed.
 * @param topK - How many classes to return (per example), 1 … 1000. Default 5.
 * @returns `PredictionRow[]` for a rank-1 tensor, `PredictionRow[][]` for rank 2.
 * @throws Error when `topK` is not an integer in 1 … 1000, or when the tensor
 *   is not of shape `[1000]` or `[batch, 1000]`.
 */
export function decodePredictions(
  probabilities: Tensor,
  topK?: number,
): PredictionRow[] | PredictionRow[][];
export function decodePredictions(
  probabilities: Tensor | ArrayLike<number> | readonly ArrayLike<number>[],
  topK = 5,
): PredictionRow[] | PredictionRow[][] {
  checkPositiveInt(WHERE, 'topK', topK);
  if (topK > NUM_CLASSES)
    throw new Error(`${WHERE}: topK must be at most ${NUM_CLASSES}; received ${topK}.`);
  let values: ArrayLike<number>;
  let shape: number[];
  if (probabilities !== null && typeof probabilities === 'object' && 'dataId' in probabilities) {
    const tensor = probabilities as Tensor;
    shape = tensor.shape;
    values = tensor.dataSync() as ArrayLike<number>;
  } else if (
    Array.isArray(probabilities) &&
    probabilities.length > 0 &&
    typeof probabilities[0] === 'object'
  ) {
    const rows = probabilities as readonly ArrayLike<number>[];
    shape = [rows.length, rows[0].length];
    if (rows.some((r) => r.length !== NUM_CLASSES)) shape = [rows.length, -1];
    values = rows.flatMap((r) => Array.from(r));
  } else {
    values = probabilities as ArrayLike<number>;
    shape = [values.length];
  }
  const ok = (shape.length === 1 || shape.length === 2) && shape[shape.length - 1] === NUM_CLASSES;
  if (!ok) {
    throw new Error(
      `${WHERE}: expected probabilities of shape [${NUM_CLASSES}] or [batch, ${NUM_CLASSES}] (one score per ILSVRC-2012 class); received shape [${shape.join(', ')}] from ${describeValue(probabilities)}.`,
    );
  }
  if (shape.length === 1) return topRows(values, 0, topK);
  return Array.from({ length: shape[0] }, (_, row) => topRows(values, row * NUM_CLASSES, topK));
}
