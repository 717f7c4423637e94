import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { basicBlock, bottleneckBlock } from '../src';
import { wrap } from './helpers';

/** Gives every weight a seeded random value, so that the check is the same on every run. */
function seedWeights(m: LayersModel) {
  m.trainableWeights.forEach((w, i) => {
    const offset = w.originalName.endsWith('gamma') ? 1 : 0;
    w.write(
      tf.tidy(() =>
        tf.add(tf.randomNormal(w.shape as number[], 0, 0.5, 'float32', 100 + i), offset),
      ),
    );
  });
}

/**
 * Compares analytic gradients (tf.grad / tf.variableGrads) of
 * L = Σ y ⊙ r, with a fixed random r and BN in training mode, against central
 * finite differences at a handful of coordinates.
 *
 * A coordinate where a ReLU changes sign within ±eps has no meaningful finite
 * difference; such kinks show up as a difference quotient that changes with
 * the step, and are skipped (at most a few of them).
 */
function checkGradients(m: LayersModel, inputShape: number[]) {
  seedWeights(m);
  const x = tf.randomNormal(inputShape, 0, 1, 'float32', 1);
  const outShape = (m.outputs[0].shape as number[]).slice(1);
  const r = tf.randomNormal([inputShape[0], ...outShape], 0, 1, 'float32', 2);
  const loss = (input: tf.Tensor) =>
    tf.tidy(() => tf.sum(tf.mul(m.apply(input, { training: true }) as tf.Tensor, r)) as tf.Scalar);
  const lossValue = (input: tf.Tensor) => tf.tidy(() => loss(input).dataSync()[0]);
  const eps = 4e-3;
  const analytic: number[] = [];
  const numeric: number[] = [];
  let kinks = 0;
  /** Records the analytic value against central differences of `at`, unless a kink is in the way. */
  const compare = (grad: number, at: (delta: number) => number) => {
    const wide = (at(eps) - at(-eps)) / (2 * eps);
    const narrow = (at(eps / 2) - at(-eps / 2)) / eps;
    if (Math.abs(wide - narrow) > 5e-3 * Math.max(1, Math.abs(wide))) {
      kinks++;
      return;
    }
    analytic.push(grad);
    numeric.push(narrow);
  };

  // With respect to the input.
  const dx = tf.grad(loss)(x);
  const dxData = dx.dataSync();
  const xData = x.dataSync().slice();
  for (let i = 0; i < xData.length; i += Math.ceil(xData.length / 12)) {
    const bumped = (delta: number) => {
      const v = xData.slice();
      v[i] += delta;
      return tf.tidy(() => lossValue(tf.tensor(v, x.shape)));
    };
    compare(dxData[i], bumped);
  }

  // With respect to every trainable variable, a few coordinates each.
  const variables = m.trainableWeights.map((w) => w.read() as tf.Variable);
  const { grads, value } = tf.variableGrads(() => loss(x), variables);
  value.dispose();
  for (const v of variables) {
    const g = grads[v.name].dataSync();
    const original = v.dataSync().slice();
    for (let i = 0; i < original.length; i += Math.ceil(original.length / 3)) {
      const at = (delta: number) => {
        const copy = original.slice();
        copy[i] += delta;
        tf.tidy(() => v.assign(tf.tensor(copy, v.shape)));
        return lossValue(x);
      };
      compare(g[i], at);
      tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
    }
  }
  tf.dispose([x, r, dx, ...Object.values(grads)]);

  const diff = Math.hypot(...analytic.map((a, i) => a - numeric[i]));
  const scale = Math.hypot(...numeric);
  expect(scale).toBeGreaterThan(0);
  expect(kinks).toBeLessThanOrEqual(analytic.length / 5);
  expect(diff / scale).toBeLessThan(1e-2);
}

describe('gradients against central finite differences', () => {
  it('basic block with a projection shortcut', () => {
    const m = wrap([4, 4, 2], (x) => basicBlock(x, { name: 'b', filters: 3, stride: 2 }));
    checkGradients(m, [2, 4, 4, 2]);
    m.dispose();
  });

  it('basic block with an option-A shortcut', () => {
    const m = wrap([4, 4, 2], (x) =>
      basicBlock(x, { name: 'a', filters: 3, stride: 2, shortcut: 'A' }),
    );
    checkGradients(m, [2, 4, 4, 2]);
    m.dispose();
  });

  it('bottleneck block', () => {
    const m = wrap([4, 4, 4], (x) =>
      bottleneckBlock(x, { name: 'k', filters: 2, stride: 2, strideIn: '1x1' }),
    );
    checkGradients(m, [2, 4, 4, 4]);
    m.dispose();
  });
});
