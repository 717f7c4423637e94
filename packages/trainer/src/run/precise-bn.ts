import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TrainingData } from '../data/types';
import { allLayers, DROPOUT_PRECISE_BN, type DropoutSeeder } from './dropout';

/**
 * Precise BN: the BN running statistics become the plain average over `count`
 * training batches of the batches' means and variances. The batches come from
 * epoch `1_000_000 + epoch`, which the run never reaches, so the run's own
 * data order is untouched; Dropout is seeded from (`epoch`, batch).
 */
export async function recomputeBatchNorm(
  model: LayersModel,
  data: TrainingData,
  epoch: number,
  count: number,
  dropout: DropoutSeeder,
): Promise<void> {
  const bns = allLayers(model).filter(
    (l) => l.getClassName() === 'BatchNormalization',
  ) as unknown as { momentum: number }[];
  if (bns.length === 0 || count === 0) return;
  const saved = bns.map((b) => b.momentum);
  let k = 0;
  for await (const batch of data.batches(1_000_000 + epoch, 0)) {
    k++;
    // tfjs: moving ← moving − (moving − batch)·(1 − momentum); momentum (k−1)/k gives the running mean.
    for (const b of bns) b.momentum = (k - 1) / k;
    tf.tidy(() => {
      dropout.run([DROPOUT_PRECISE_BN, epoch, k], () =>
        model.apply(batch.images, { training: true }),
      );
    });
    tf.dispose([batch.images, batch.labels]);
    if (k >= count) break;
  }
  bns.forEach((b, i) => (b.momentum = saved[i]));
}
