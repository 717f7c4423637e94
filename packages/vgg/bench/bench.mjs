// npm run bench: what our abstractions cost. Builds vgg16 with the package
// and the same network written directly with tf.layers below, and times a
// forward pass at batch 1 on the wasm backend, alternating the two.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { vgg16 } from '@convnets/vgg';
import { compareModels, forward, printRows } from '../../../scripts/bench-utils.mjs';

tf.env().set('PROD', true);
const L = tfl.layers;

function directVgg16() {
  const x = tfl.input({ shape: [224, 224, 3] });
  let y = x;
  for (const [convs, filters] of [
    [2, 64],
    [2, 128],
    [3, 256],
    [3, 512],
    [3, 512],
  ]) {
    for (let i = 0; i < convs; i++)
      y = L.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(y);
    y = L.maxPooling2d({ poolSize: 2, strides: 2 }).apply(y);
  }
  y = L.flatten().apply(y);
  y = L.dropout({ rate: 0.5 }).apply(L.dense({ units: 4096, activation: 'relu' }).apply(y));
  y = L.dropout({ rate: 0.5 }).apply(L.dense({ units: 4096, activation: 'relu' }).apply(y));
  return tfl.model({
    inputs: x,
    outputs: L.dense({ units: 1000, activation: 'softmax' }).apply(y),
  });
}

await tf.setBackend('wasm');
const x = tf.randomNormal([1, 224, 224, 3]);
const stats = await compareModels(vgg16, directVgg16, (m) => forward(m, x), {
  runs: 11,
  warmup: 1,
});
printRows('@convnets/vgg: cost of the abstractions (best of interleaved runs, both build orders)', [
  { workload: 'vgg16 forward, batch 1, 224²', backend: 'wasm', ...stats },
]);
tf.dispose(x);
