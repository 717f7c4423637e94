import * as tf from '@tensorflow/tfjs-core';
import { variableGrads } from '@convnets/layers';
import { DROPOUT_TRAINING } from './dropout';
import { countCorrect } from './evaluate';
import type { RunContext } from './options';
import { NonFiniteLossError } from './results';

/** One micro-batch of an update. */
interface MicroBatch {
  readonly images: tf.Tensor4D;
  readonly labels: tf.Tensor1D;
}

/** What one update measured. */
export interface UpdateResult {
  /** Mean loss over the micro-batches. */
  readonly loss: number;
  /** Images whose label scored highest. */
  readonly correct1: number;
  /** Images whose label was among the five highest scores. */
  readonly correct5: number;
}

/** The cross-entropy of `outputs` (logits, or probabilities when `probabilities`) against `labels`. */
function crossEntropy(
  outputs: tf.Tensor2D,
  labels: tf.Tensor1D,
  classes: number,
  probabilities: boolean,
): tf.Scalar {
  const onehot = tf.oneHot(labels, classes);
  if (probabilities)
    return tf.neg(
      tf.mean(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(outputs, 1e-7, 1))), 1)),
    ) as tf.Scalar;
  return tf.losses.softmaxCrossEntropy(onehot, outputs) as tf.Scalar;
}

/** One micro-batch's forward and backward pass (training mode): its loss, hits and gradients (in `ctx.variables` order). */
function microBatch(ctx: RunContext, batch: MicroBatch, step: number, micro: number) {
  const model = ctx.options.model;
  const classes = ctx.options.data.classes.length;
  const vars = ctx.variables.map((v) => v.variable);
  let outputs: tf.Tensor | undefined;
  // Frees each gradient and saved activation once backward is past it (peak memory
  // about half of tf.variableGrads' on ResNet-50).
  const { value, grads } = variableGrads(() => {
    const out = ctx.dropout.run(
      [DROPOUT_TRAINING, step, micro],
      () => model.apply(batch.images, { training: true }) as tf.Tensor2D,
    );
    outputs = tf.keep(out);
    return crossEntropy(out, batch.labels, classes, ctx.probabilities);
  }, vars);
  const loss = value.dataSync()[0];
  const hits = countCorrect(outputs!.dataSync(), batch.labels.dataSync(), classes);
  tf.dispose([value, outputs!]);
  return { loss, hits, gradients: vars.map((v) => grads[v.name]!) };
}

/**
 * One update: `batches.length` micro-batches, averaged gradients, one SGD
 * step at `lr`. `step` is the updates done before it and `epoch` its epoch.
 *
 * @throws {@link NonFiniteLossError} when the mean loss is not finite (nothing is applied).
 */
export function updateOnce(
  ctx: RunContext,
  batches: readonly MicroBatch[],
  lr: number,
  step: number,
  epoch: number,
): UpdateResult {
  let sum: tf.Tensor[] | undefined;
  let lossTotal = 0;
  let correct1 = 0;
  let correct5 = 0;
  batches.forEach((batch, micro) => {
    const { loss, hits, gradients } = microBatch(ctx, batch, step, micro);
    lossTotal += loss;
    correct1 += hits.top1;
    correct5 += hits.top5;
    if (sum === undefined) sum = gradients;
    else {
      const previous = sum;
      sum = tf.tidy(() => previous.map((g, i) => tf.add(g, gradients[i])));
      tf.dispose([...previous, ...gradients]);
    }
  });
  const loss = lossTotal / batches.length;
  if (!Number.isFinite(loss)) {
    tf.dispose(sum!);
    throw new NonFiniteLossError(loss, step + 1, epoch, lr);
  }
  let gradients = sum!;
  if (batches.length > 1) {
    const s = sum!;
    gradients = tf.tidy(() => s.map((g) => tf.div(g, tf.scalar(batches.length))));
    tf.dispose(s);
  }
  ctx.optimizer.apply(ctx.variables, gradients, lr);
  tf.dispose(gradients);
  return { loss, correct1, correct5 };
}
