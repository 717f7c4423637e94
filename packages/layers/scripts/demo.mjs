// `npm run demo` until the trainer exists: a CIFAR-style ResNet-20 built from
// the blocks, its summary, and one forward pass on the tfjs cpu backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { convBnRelu, residualStage, summarize } from '@convnets/layers';

tf.env().set('PROD', true);
await tf.setBackend('cpu');

const x = tfl.input({ shape: [32, 32, 3], name: 'image' });
let y = convBnRelu(x, { name: 'conv1', filters: 16 });
for (const [i, filters] of [16, 32, 64].entries()) {
  y = residualStage(y, {
    name: `conv${i + 2}`,
    block: 'basic',
    filters,
    blocks: 3,
    stride: i === 0 ? 1 : 2,
    shortcut: 'A',
  });
}
y = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(y);
y = tfl.layers.dense({ units: 10, activation: 'softmax', name: 'fc' }).apply(y);
const model = tfl.model({ inputs: x, outputs: y, name: 'resnet20_demo' });

console.log(summarize(model, { skipParameterFree: true }).toTable());
const images = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 0);
const started = performance.now();
const probabilities = model.predict(images);
const top = tf.argMax(probabilities, 1).arraySync();
console.log(
  `\nForward pass of 4 random images: ${(performance.now() - started).toFixed(0)} ms on the "${tf.getBackend()}" backend; predicted classes ${top.join(', ')}.`,
);
tf.dispose([images, probabilities]);
model.dispose();
