// Composing blocks: a residual network of your own, and a pretrained-style
// backbone with a new head.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { basicBlock, convBnRelu, residualStage, summarize } from '@convnets/layers';
import { resnet18, stageOutputs } from '@convnets/resnet';

/** A small residual network for 64×64 images, built from the blocks. */
export function tinyResNet(classes: number): tfl.LayersModel {
  const input = tfl.input({ shape: [64, 64, 3], name: 'image' });
  let x = convBnRelu(input, { name: 'stem', filters: 32, kernelSize: 3, stride: 2 });
  x = residualStage(x, { name: 'stage1', block: 'basic', filters: 32, blocks: 2 });
  x = residualStage(x, {
    name: 'stage2',
    block: 'bottleneck',
    filters: 16,
    blocks: 2,
    stride: 2,
    strideIn: '1x1',
  });
  // One more block with a parameter-free (option A) shortcut.
  x = basicBlock(x, { name: 'widen', filters: 96, stride: 2, shortcut: 'A' });
  x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers
    .dense({ units: classes, activation: 'softmax', name: 'classifier' })
    .apply(x);
  return tfl.model({ inputs: input, outputs: output as tfl.SymbolicTensor, name: 'tiny_resnet' });
}

/** ResNet-18's conv4_x and conv5_x features feeding a new two-scale head. */
export function backboneWithHead(classes: number): tfl.LayersModel {
  const backbone = stageOutputs(resnet18({ includeTop: false, inputShape: [null, null, 3] }), [
    'conv4',
    'conv5',
  ]);
  backbone.trainable = false; // freeze the backbone, train only the head
  const input = tfl.input({ shape: [null, null, 3], name: 'image' });
  const [c4, c5] = backbone.apply(input) as tfl.SymbolicTensor[];
  const pooled = [c4, c5].map(
    (f, i) =>
      tfl.layers
        .globalAveragePooling2d({ name: `head_pool${i + 4}` })
        .apply(f) as tfl.SymbolicTensor,
  );
  const joined = tfl.layers
    .concatenate({ name: 'head_concat' })
    .apply(pooled) as tfl.SymbolicTensor;
  const output = tfl.layers
    .dense({ units: classes, activation: 'softmax', name: 'head_fc' })
    .apply(joined);
  return tfl.model({
    inputs: input,
    outputs: output as tfl.SymbolicTensor,
    name: 'resnet18_two_scale',
  });
}

export function main() {
  const own = tinyResNet(10);
  console.log(summarize(own, { skipParameterFree: true }).toTable());
  const detector = backboneWithHead(5);
  const s = summarize(detector);
  console.log(
    `${detector.name}: ${s.trainableParams} trainable, ${s.nonTrainableParams} frozen parameters`,
  );
  const x = tf.zeros([2, 64, 64, 3]);
  const [a, b] = [own.predict(x), detector.predict(x)] as tf.Tensor[];
  const shapes = [a.shape, b.shape];
  tf.dispose([x, a, b]);
  own.dispose();
  detector.dispose();
  return { shapes, trainable: s.trainableParams, frozen: s.nonTrainableParams };
}
