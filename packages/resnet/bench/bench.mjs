// npm run bench: what our abstractions cost. Builds resnet18 and resnet50 with
// the package, and the same architectures written directly with tf.layers
// below, and times forward passes at batch 1 on the wasm backend; then a
// CIFAR ResNet-20 training step at batch 8 on the fastest backend here that
// can train (batch 1 on the slow cpu fallback). Ours and direct run alternately, so both see the same load.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { cifarResNet, resnet18, resnet50 } from '@convnets/resnet';
import {
  compareModels,
  forward,
  printRows,
  trainStep,
  trainingBackend,
} from '../../../scripts/bench-utils.mjs';

tf.env().set('PROD', true);
const L = tfl.layers;

/** Convolution + BN (+ ReLU) the way a PyTorch port written by hand would do it. */
function convBn(y, filters, kernel, stride, relu) {
  const pad = Math.floor(kernel / 2);
  if (stride > 1 && pad > 0) y = L.zeroPadding2d({ padding: pad }).apply(y);
  y = L.conv2d({
    filters,
    kernelSize: kernel,
    strides: stride,
    padding: stride > 1 ? 'valid' : 'same',
    useBias: false,
  }).apply(y);
  y = L.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(y);
  return relu ? L.reLU().apply(y) : y;
}

function directBlock(x, kind, filters, stride) {
  const out = kind === 'basic' ? filters : 4 * filters;
  let y;
  if (kind === 'basic') {
    y = convBn(x, filters, 3, stride, true);
    y = convBn(y, filters, 3, 1, false);
  } else {
    y = convBn(x, filters, 1, 1, true);
    y = convBn(y, filters, 3, stride, true);
    y = convBn(y, out, 1, 1, false);
  }
  const skip = stride !== 1 || x.shape[3] !== out ? convBn(x, out, 1, stride, false) : x;
  return L.reLU().apply(L.add().apply([y, skip]));
}

function directImageNetResNet(kind, blocks, inputShape) {
  const x = tfl.input({ shape: inputShape });
  let y = convBn(x, 64, 7, 2, true);
  y = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(L.zeroPadding2d({ padding: 1 }).apply(y));
  blocks.forEach((n, stage) => {
    for (let b = 0; b < n; b++)
      y = directBlock(y, kind, 64 * 2 ** stage, b === 0 && stage > 0 ? 2 : 1);
  });
  y = L.globalAveragePooling2d({}).apply(y);
  return tfl.model({
    inputs: x,
    outputs: L.dense({ units: 1000, activation: 'softmax' }).apply(y),
  });
}

function directCifarResNet(n) {
  const x = tfl.input({ shape: [32, 32, 3] });
  let y = convBn(x, 16, 3, 1, true);
  [16, 32, 64].forEach((filters, stage) => {
    for (let b = 0; b < n; b++) y = directBlock(y, 'basic', filters, b === 0 && stage > 0 ? 2 : 1);
  });
  y = L.globalAveragePooling2d({}).apply(y);
  return tfl.model({ inputs: x, outputs: L.dense({ units: 10 }).apply(y) });
}

const rows = [];
await tf.setBackend('wasm');
for (const [name, ours, direct] of [
  ['resnet18', () => resnet18(), () => directImageNetResNet('basic', [2, 2, 2, 2], [224, 224, 3])],
  [
    'resnet50',
    () => resnet50(),
    () => directImageNetResNet('bottleneck', [3, 4, 6, 3], [224, 224, 3]),
  ],
]) {
  const x = tf.randomNormal([1, 224, 224, 3]);
  rows.push({
    workload: `${name} forward, batch 1, 224²`,
    backend: 'wasm',
    ...(await compareModels(ours, direct, (m) => forward(m, x), { runs: 15 })),
  });
  process.stdout.write('.');
  tf.dispose(x);
}

const backend = await trainingBackend();
{
  // The cpu backend's backward pass takes minutes per batch-8 step: there, time one step at batch 1.
  const batch = backend === 'cpu' ? 1 : 8;
  const x = tf.randomNormal([batch, 32, 32, 3]);
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7].slice(0, batch), 'int32'), 10);
  const quick = backend === 'cpu' ? { runs: 1, warmup: 0 } : { runs: 15 };
  const stats = await compareModels(
    () => cifarResNet(20, { shortcut: 'B', classifierActivation: null }),
    () => directCifarResNet(3),
    (m) => trainStep(m, x, labels, tf.train.momentum(0.01, 0.9)),
    quick,
  );
  rows.push({ workload: `CIFAR ResNet-20 train step, batch ${batch}, 32²`, backend, ...stats });
  tf.dispose([x, labels]);
}
printRows(
  '@convnets/resnet: cost of the abstractions (best of interleaved runs, both build orders)',
  rows,
);
