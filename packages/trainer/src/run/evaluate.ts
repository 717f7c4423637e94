import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { EvaluationData } from '../data/types';

/** Top-1/top-5 error and loss over an evaluation set. */
export interface EvaluationResult {
  /** Top-1 error (%): images whose label did not score highest. */
  top1Error: number;
  /** Top-5 error (%) (top-k with k = min(5, classes)). */
  top5Error: number;
  /** Mean cross-entropy. */
  loss: number;
  /** Images evaluated. */
  images: number;
}

/**
 * Whether a model ends in a softmax (outputs probabilities rather than logits).
 *
 * @param model - Any model; its last layer's activation (or a Softmax layer) decides.
 * @returns True when the last layer has a softmax activation or is a `Softmax` layer.
 * @throws TypeError when the model has no layers.
 * @example
 * ```ts
 * outputsProbabilities(cifarResNet(20)); // true: ends in a softmax
 * outputsProbabilities(cifarResNet(20, { classifierActivation: null })); // false: logits
 * ```
 */
export function outputsProbabilities(model: LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  return config.activation === 'softmax' || last.getClassName() === 'Softmax';
}

/**
 * Class probabilities from a model's outputs.
 *
 * @param outputs - `[n, classes]` outputs.
 * @param probabilities - Whether they already are probabilities ({@link outputsProbabilities}); if not, their softmax is returned.
 * @returns `outputs` itself when they are probabilities (not a copy), else a new tensor of their softmax over the classes.
 * @throws Error from tfjs when softmax is needed and `outputs` is not float32.
 * @example
 * ```ts
 * const probs = tf.tidy(() => toProbabilities(model.predict(images) as tf.Tensor2D, outputsProbabilities(model)));
 * ```
 */
export function toProbabilities(outputs: tf.Tensor2D, probabilities: boolean): tf.Tensor2D {
  return probabilities ? outputs : tf.softmax(outputs);
}

/**
 * Counts the rows of a score matrix whose label scores highest, and within
 * the five highest. Unlike `tf.inTopK`, a tie is never in the label's favour:
 * a label counts at top-k only when fewer than k other classes score at least
 * as high, and a row holding NaN counts as wrong. So a model whose outputs are
 * all equal (zero weights) or NaN scores 0% correct, not 100%.
 *
 * @param scores - `n × classes` scores (logits or probabilities), row-major.
 * @param labels - `n` class indices.
 * @param classes - Columns per row.
 * @returns How many rows count as correct at top-1 and at top-5 (top-k with k = min(5, classes)).
 * @example
 * ```ts
 * countCorrect([0.1, 0.7, 0.2, 0.5, 0.3, 0.2], [1, 2], 3); // { top1: 1, top5: 2 }
 * countCorrect([0.5, 0.5, 0], [0], 3); // { top1: 0, top5: 1 }: tied at top-1
 * ```
 */
export function countCorrect(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): {
  /** Rows whose label scores highest. */
  top1: number;
  /** Rows whose label is among the min(5, classes) highest. */
  top5: number;
} {
  const k = Math.min(5, classes);
  let top1 = 0;
  let top5 = 0;
  rows: for (let i = 0; i < labels.length; i++) {
    const o = i * classes;
    const label = labels[i];
    const target = scores[o + label];
    // Rank = how many other classes score at least as high (ties count against the label).
    let rivals = 0;
    for (let c = 0; c < classes; c++) {
      const score = scores[o + c];
      if (Number.isNaN(score)) continue rows;
      if (c !== label && score >= target) rivals++;
    }
    if (rivals === 0) top1++;
    if (rivals < k) top5++;
  }
  return { top1, top5 };
}

/**
 * Evaluates a model in inference mode (BN uses its running statistics) over
 * an evaluation set; with several views per image (10-crop) the views'
 * probabilities are averaged, as in AlexNet §4.1 and ResNet §3.4.
 *
 * @param model - The model (logits or softmax outputs).
 * @param data - The evaluation set ({@link folderEvaluationData}, {@link arrayEvaluationData}).
 * @returns Top-1/top-5 error (%), mean cross-entropy and the image count.
 * @throws Error when the data yields no images.
 * @example
 * ```ts
 * const { top1Error, top5Error } = await evaluate(model, folderEvaluationData(val, { transform: tenCrop() }));
 * ```
 * @see He et al., arXiv 1512.03385, §3.4 (10-crop testing).
 */
export async function evaluate(
  model: LayersModel,
  data: EvaluationData,
): Promise<EvaluationResult> {
  const probabilities = outputsProbabilities(model);
  const views = data.views;
  let images = 0;
  let correct1 = 0;
  let correct5 = 0;
  let lossSum = 0;
  for await (const batch of data.batches()) {
    const n = batch.labels.shape[0];
    const [scores, losses] = tf.tidy(() => {
      const out = model.apply(batch.images, { training: false }) as tf.Tensor2D;
      const classes = out.shape[1];
      const p = toProbabilities(out, probabilities);
      const averaged =
        views > 1 ? (tf.mean(tf.reshape(p, [n, views, classes]), 1) as tf.Tensor2D) : p;
      const onehot = tf.oneHot(batch.labels, classes);
      const nll = tf.neg(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(averaged, 1e-7, 1))), 1));
      return [averaged.dataSync(), nll.dataSync()];
    });
    const labels = batch.labels.dataSync();
    const classes = scores.length / n;
    const c = countCorrect(scores, labels, classes);
    correct1 += c.top1;
    correct5 += c.top5;
    for (const l of losses) lossSum += l;
    images += n;
    tf.dispose([batch.images, batch.labels]);
  }
  if (images === 0) throw new Error('evaluate: the evaluation data yielded no images.');
  return {
    top1Error: (100 * (images - correct1)) / images,
    top5Error: (100 * (images - correct5)) / images,
    loss: lossSum / images,
    images,
  };
}
