import * as tf from '@tensorflow/tfjs-core';
import { basicBlock, bottleneckBlock } from '@convnets/layers';
import {
  input,
  layers,
  model,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, bitwiseEqual, ensureNative, expectClose, on, randomValues } from './helpers';

beforeAll(ensureNative);

/** Builds a model and gives its weights fixed values, so both backends start alike. */
function seeded(build: () => LayersModel): LayersModel {
  const m = build();
  m.trainableWeights.forEach((w, i) => {
    const size = tf.util.sizeFromShape(w.shape as number[]);
    const offset = w.originalName.endsWith('gamma') ? 1 : 0;
    const values = randomValues(size, 100 + i).map((v) => v * 0.5 + offset);
    w.write(tf.tensor(values, w.shape as number[]));
  });
  return m;
}

const wrap = (shape: number[], block: (x: SymbolicTensor) => SymbolicTensor) => () => {
  const x = input({ shape });
  return model({ inputs: x, outputs: block(x) });
};

/** Gradients of Σ y ⊙ r with respect to the input and every weight, BN in training mode. */
function blockGradients(build: () => LayersModel, inputShape: number[]) {
  return () => {
    const m = seeded(build);
    const x = tf.tensor(randomValues(tf.util.sizeFromShape(inputShape), 1), inputShape);
    const outShape = [inputShape[0], ...(m.outputs[0].shape.slice(1) as number[])];
    const r = tf.tensor(randomValues(tf.util.sizeFromShape(outShape), 2), outShape);
    const loss = (inp: tf.Tensor) =>
      tf.sum(tf.mul(m.apply(inp, { training: true }) as tf.Tensor, r)) as tf.Scalar;
    const dx = tf.grad(loss)(x);
    const variables = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads, value } = tf.variableGrads(() => loss(x), variables);
    const out = [value, dx, ...variables.map((v) => grads[v.name])];
    m.dispose();
    return out;
  };
}

const blocks: [string, () => LayersModel, number[]][] = [
  [
    'basic block, projection shortcut, stride 2',
    wrap([9, 9, 8], (x) => basicBlock(x, { name: 'b', filters: 16, stride: 2, shortcut: 'B' })),
    [3, 9, 9, 8],
  ],
  [
    'basic block, option A shortcut',
    wrap([8, 8, 8], (x) => basicBlock(x, { name: 'a', filters: 16, stride: 2, shortcut: 'A' })),
    [2, 8, 8, 8],
  ],
  [
    'bottleneck block, stride 2',
    wrap([11, 11, 16], (x) => bottleneckBlock(x, { name: 'c', filters: 8, stride: 2 })),
    [2, 11, 11, 16],
  ],
];

describe('gradients through whole residual blocks equal the cpu backend', () => {
  for (const [name, build, shape] of blocks) {
    it(name, async () => {
      const cpu = await on('cpu', blockGradients(build, shape));
      const native = await on(backendName, blockGradients(build, shape));
      expect(native.length).toBe(cpu.length);
      cpu.forEach((c, i) => expectClose(native[i], c, 4096, `${name} #${i}`));
    });
  }
});

/** A tiny conv net: stem, one basic block, pooling, dense. */
function tinyNet(): LayersModel {
  const x = input({ shape: [12, 12, 3] });
  let y = layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false })
    .apply(x) as SymbolicTensor;
  y = layers.batchNormalization().apply(y) as SymbolicTensor;
  y = layers.activation({ activation: 'relu' }).apply(y) as SymbolicTensor;
  y = basicBlock(y, { name: 'block', filters: 16, stride: 2, shortcut: 'B' });
  y = layers.globalAveragePooling2d({}).apply(y) as SymbolicTensor;
  y = layers.dense({ units: 5 }).apply(y) as SymbolicTensor;
  return model({ inputs: x, outputs: y });
}

/** Losses of a few SGD-momentum steps, then the final weights. */
function train(steps: number) {
  return () => {
    const m = seeded(tinyNet);
    const x = tf.tensor(randomValues(16 * 12 * 12 * 3, 7), [16, 12, 12, 3]);
    const labels = tf.oneHot(
      tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0], 'int32'),
      5,
    );
    const optimizer = tf.train.momentum(0.05, 0.9);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const cost = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(labels, m.apply(x, { training: true }) as tf.Tensor),
        true,
      );
      losses.push(cost!.dataSync()[0]);
      cost!.dispose();
    }
    const weights = m.trainableWeights.map((w) => w.read().clone());
    optimizer.dispose();
    m.dispose();
    return [tf.tensor1d(losses), ...weights];
  };
}

describe('training', () => {
  it('gives the same loss curve as the cpu backend', async () => {
    const [cpuLosses] = await on('cpu', train(5));
    const [nativeLosses] = await on(backendName, train(5));
    expectClose(nativeLosses, cpuLosses, 1e4, 'losses');
    expect(nativeLosses[4]).toBeLessThan(nativeLosses[0]);
  });

  it('is bitwise deterministic: outputs, gradients and trained weights repeat exactly', async () => {
    const first = await on(backendName, train(3));
    const second = await on(backendName, train(3));
    first.forEach((v, i) => expect(bitwiseEqual(v, second[i]), `tensor ${i}`).toBe(true));
    const [name, build, shape] = blocks[2];
    const g1 = await on(backendName, blockGradients(build, shape));
    const g2 = await on(backendName, blockGradients(build, shape));
    g1.forEach((v, i) => expect(bitwiseEqual(v, g2[i]), `${name} gradient ${i}`).toBe(true));
  });

  it('leaks no tensors across training steps', async () => {
    await tf.setBackend(backendName);
    const m = seeded(tinyNet);
    const x = tf.tensor(randomValues(4 * 12 * 12 * 3, 7), [4, 12, 12, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5);
    const optimizer = tf.train.momentum(0.05, 0.9);
    const step = () =>
      tf.dispose(
        optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(labels, m.apply(x, { training: true }) as tf.Tensor),
          true,
        ) ?? [],
      );
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, labels]);
    optimizer.dispose();
    m.dispose();
    await tf.setBackend('cpu');
  });
});
