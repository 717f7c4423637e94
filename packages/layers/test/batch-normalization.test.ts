import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { BatchNormalization, batchNormInTraining } from '../src';
import { saveAndLoad } from '../../../test-utils/models';

const args = { axis: -1, momentum: 0.9, epsilon: 1e-5 };

/** Our layer and tfjs' stock one, built on the same input shape with the same (non-trivial) weights. */
function pair(shape: number[]) {
  const ours = new BatchNormalization(args);
  const stock = tfl.layers.batchNormalization(args);
  ours.build([null, ...shape.slice(1)]);
  stock.build([null, ...shape.slice(1)]);
  const c = shape[shape.length - 1]!;
  const weights = [
    tf.randomUniform([c], 0.5, 1.5, 'float32', 11), // gamma
    tf.randomNormal([c], 0, 1, 'float32', 12), // beta
    tf.randomNormal([c], 0, 1, 'float32', 13), // moving mean
    tf.randomUniform([c], 0.5, 2, 'float32', 14), // moving variance
  ];
  ours.setWeights(weights);
  stock.setWeights(weights);
  tf.dispose(weights);
  return { ours, stock };
}

/** Gradients of Σ y ⊙ r with respect to x, gamma and beta, BN in training mode. */
function gradients(layer: tfl.layers.Layer, x: tf.Tensor, r: tf.Tensor) {
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const f = () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar;
  const dx = tf.grad((input: tf.Tensor) =>
    tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, r)),
  )(x);
  const { value, grads } = tf.variableGrads(f, [gamma!, beta!]);
  value.dispose();
  return { dx, dGamma: grads[gamma!.name]!, dBeta: grads[beta!.name]! };
}

function expectClose(a: tf.Tensor, b: tf.Tensor, tol: number) {
  const scale = Math.max(
    1,
    tf.tidy(() => tf.max(tf.abs(b)).dataSync()[0]!),
  );
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  expect(diff).toBeLessThanOrEqual(tol * scale);
}

describe('BatchNormalization (fast training path)', () => {
  const shape = [4, 5, 3, 6];

  it('computes what tfjs computes in training mode: output and moving statistics', () => {
    const { ours, stock } = pair(shape);
    const [m0, v0] = [2, 3].map((i) => ours.getWeights()[i]!.dataSync()[0]!);
    const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 1), 3), 2);
    const y1 = ours.apply(x, { training: true }) as tf.Tensor;
    const y2 = stock.apply(x, { training: true }) as tf.Tensor;
    expectClose(y1, y2, 1e-5);
    // moving_mean and moving_variance after one update.
    ours.getWeights().forEach((w, i) => expectClose(w, stock.getWeights()[i]!, 1e-6));
    // And by hand, for channel 0: moving ← 0.9·moving + 0.1·batch (biased variance).
    const x0 = Array.from(tf.tidy(() => tf.slice(x, [0, 0, 0, 0], [4, 5, 3, 1]).dataSync()));
    const mu = x0.reduce((s, v) => s + v, 0) / x0.length;
    const v = x0.reduce((s, t) => s + (t - mu) ** 2, 0) / x0.length;
    expect(ours.getWeights()[2]!.dataSync()[0]).toBeCloseTo(0.9 * m0 + 0.1 * mu, 5);
    expect(ours.getWeights()[3]!.dataSync()[0]).toBeCloseTo(0.9 * v0 + 0.1 * v, 4);
  });

  it('has the gradients of tfjs automatic differentiation (x, gamma, beta)', () => {
    const { ours, stock } = pair(shape);
    const x = tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 2), 2);
    const r = tf.randomNormal(shape, 0, 1, 'float32', 3);
    const a = gradients(ours, x, r);
    const b = gradients(stock, x, r);
    expectClose(a.dx, b.dx, 1e-4);
    expectClose(a.dGamma, b.dGamma, 1e-4);
    expectClose(a.dBeta, b.dBeta, 1e-4);
  });

  it('has the gradient of central finite differences', () => {
    const small = [2, 3, 2, 2];
    const x = tf.randomNormal(small, 0, 1, 'float32', 4);
    const r = tf.randomNormal(small, 0, 1, 'float32', 5);
    const gamma = tf.tensor1d([1.3, 0.7]);
    const beta = tf.tensor1d([0.2, -0.4]);
    const loss = (input: tf.Tensor) =>
      tf.tidy(() => {
        const [y, m, v] = batchNormInTraining(input, gamma, beta, 1e-5);
        tf.dispose([m, v]);
        return tf.sum(tf.mul(y, r)) as tf.Scalar;
      });
    const analytic = tf.grad(loss)(x).dataSync();
    const values = x.dataSync();
    const eps = 1e-2;
    for (const i of [0, 5, 11, 17, 23]) {
      const at = (d: number) => {
        const shifted = Float32Array.from(values);
        shifted[i]! += d;
        return tf.tidy(() => loss(tf.tensor(shifted, small)).dataSync()[0]!);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(analytic[i]! - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    }
  });

  it('runs far fewer kernels than tfjs for a training step', async () => {
    const count = async (layer: tfl.layers.Layer) => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 6);
      const r = tf.randomNormal(shape, 0, 1, 'float32', 7);
      const info = await tf.profile(() => {
        const dx = tf.grad((input: tf.Tensor) =>
          tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, r)),
        )(x);
        dx.dispose();
      });
      tf.dispose([x, r]);
      // Kernels that write a whole activation (Identity and Reshape copy nothing).
      return info.kernels.filter(
        (k) =>
          !['Identity', 'Reshape'].includes(k.name) && k.outputShapes.some((s) => s.length === 4),
      ).length;
    };
    const { ours, stock } = pair(shape);
    const [n1, n2] = [await count(ours), await count(stock)];
    // tfjs: 21 for batch norm plus 4 for the test's loss; ours: 10 plus the same 4.
    expect(n1).toBeLessThan(0.6 * n2);
  });

  it('falls back to tfjs for inference: identical results', () => {
    const { ours, stock } = pair(shape);
    const x = tf.randomNormal(shape, 0, 1, 'float32', 8);
    const y1 = (ours.apply(x) as tf.Tensor).dataSync();
    const y2 = (stock.apply(x) as tf.Tensor).dataSync();
    expect(Array.from(y1)).toEqual(Array.from(y2));
  });

  it('leaks no tensors in a training step', () => {
    const { ours } = pair(shape);
    const x = tf.randomNormal(shape, 0, 1, 'float32', 9);
    const r = tf.randomNormal(shape, 0, 1, 'float32', 10);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const g = gradients(ours, x, r);
      tf.dispose([g.dx, g.dGamma, g.dBeta]);
      tf.tidy(() => {
        ours.apply(x, { training: true });
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is saved as BatchNormalization and reloads as this class', async () => {
    const input = tfl.input({ shape: [4, 4, 3] });
    const m = tfl.model({
      inputs: input,
      outputs: new BatchNormalization({ ...args, name: 'bn' }).apply(input) as tfl.SymbolicTensor,
    });
    const json = m.toJSON(null, false) as { config: { layers: { class_name: string }[] } };
    expect(json.config.layers[1]!.class_name).toBe('BatchNormalization');
    const loaded = await saveAndLoad(m);
    expect(loaded.getLayer('bn')).toBeInstanceOf(BatchNormalization);
  });
});
