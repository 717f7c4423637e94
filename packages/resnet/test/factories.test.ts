import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { expectSameAfterReload, topologyAfterReload } from '../../../test-utils/models.ts';
import { describe, expect, it } from 'vitest';
import {
  cifarPlain,
  cifarResNet,
  plain18,
  RESNETS,
  resnet18,
  resnet34,
  resnet50,
  stageOutputs,
} from '../src';

describe('every factory survives model.save → tf.loadLayersModel', () => {
  it('RESNETS lists the ten ImageNet networks of Table 1 and §4.1', () => {
    const depths = [18, 34, 50, 101, 152];
    expect(Object.keys(RESNETS)).toEqual([
      ...depths.map((d) => `resnet${d}`),
      ...depths.map((d) => `plain${d}`),
    ]);
    expect(RESNETS['resnet50']).toBe(resnet50);
    expect(RESNETS['plain18']).toBe(plain18);
  });

  // Topology: all ten, built with skipInit (zero weights, no random draw):
  // the reloaded model has the same Keras JSON and the same weights in order.
  it.each(Object.entries(RESNETS))(
    '%s at 32×32, named after its key: the same topology and weight list',
    async (name, factory) => {
      const net = factory({
        inputShape: [32, 32, 3],
        classes: 5,
        shortcut: 'C',
        strideIn: '1x1',
        skipInit: true,
      });
      expect(net.name).toBe(name);
      const { topology, weights } = await topologyAfterReload(net);
      expect(topology[1]).toBe(topology[0]);
      expect(weights[1]).toEqual(weights[0]);
    },
  );

  // Weights and predictions: random weights (the real initialisers) must
  // predict bitwise the same after the reload. One network per kind of block:
  // the ten ImageNet nets are one builder (resnet.ts) over basic or bottleneck
  // stages, with or without shortcuts, so resnet34/101/152 and plain34/50/101/152
  // only stack more of the layers these have, and the topology test above
  // reloads every one of them. The CIFAR nets below add option A (the custom
  // ZeroPadChannels layer), the plain CIFAR net and option B.
  it.each([
    ['resnet18 (basic blocks, projection shortcuts)', resnet18],
    ['resnet50 (bottleneck blocks)', resnet50],
    ['plain18 (no shortcuts)', plain18],
  ])('%s at 32×32: the same predictions', async (_name, factory) => {
    const net = factory({ inputShape: [32, 32, 3], classes: 5, shortcut: 'C', strideIn: '1x1' });
    const shape = await expectSameAfterReload(net);
    expect(shape).toEqual([1, 5]);
  });

  it.each([
    ['cifarResNet(20)', () => cifarResNet(20)],
    ['cifarPlain(20)', () => cifarPlain(20)],
    [
      'cifarResNet(8) with option B at 8×8',
      () => cifarResNet(8, { inputShape: [8, 8, 3], shortcut: 'B' }),
    ],
  ])('%s', async (_name, build) => {
    expect(await expectSameAfterReload(build(), 2)).toEqual([2, 10]);
  });
});

describe('options', () => {
  it('names layers as Keras does and puts the stride where asked', () => {
    // Structure only: zero weights (skipInit) throughout this test and the next ones.
    const v1 = resnet50({ strideIn: '1x1', inputShape: [64, 64, 3], skipInit: true });
    expect(v1.getLayer('conv3_block1_1_conv').outputShape).toEqual([null, 8, 8, 128]);
    const v15 = resnet50({ inputShape: [64, 64, 3], skipInit: true });
    expect(v15.getLayer('conv3_block1_1_conv').outputShape).toEqual([null, 16, 16, 128]);
    expect(v15.layers.map((l) => l.name)).toEqual(
      expect.arrayContaining(['conv1_conv', 'pool1_pool', 'avg_pool', 'predictions']),
    );
    v1.dispose();
    v15.dispose();
  });

  it('option A shortcuts have no parameters; option C projects every block', () => {
    const count = (net: LayersModel) => {
      const n = net.layers.filter((l) => /_0_conv$/.test(l.name)).length;
      net.dispose();
      return n;
    };
    const skipInit = true;
    expect(count(resnet18({ shortcut: 'A', inputShape: [32, 32, 3], skipInit }))).toBe(0);
    expect(count(resnet18({ shortcut: 'B', inputShape: [32, 32, 3], skipInit }))).toBe(3);
    expect(count(resnet18({ shortcut: 'C', inputShape: [32, 32, 3], skipInit }))).toBe(8);
    expect(count(cifarResNet(20, { skipInit }))).toBe(0);
  });

  it('without the top: the feature map, or its pooled vector; logits with classifierActivation null', () => {
    const x = tf.randomNormal([1, 64, 96, 3], 0, 1, 'float32', 5);
    // Zero weights: the shapes are the same, and the logits (all 0) still tell
    // a softmax (which would sum to 1) from none.
    const skipInit = true;
    const features = resnet18({ includeTop: false, inputShape: [null, null, 3], skipInit });
    const map = features.predict(x) as tf.Tensor;
    expect(map.shape).toEqual([1, 2, 3, 512]);
    const pooled = resnet18({
      includeTop: false,
      pooling: 'max',
      inputShape: [null, null, 3],
      skipInit,
    });
    const vector = pooled.predict(x) as tf.Tensor;
    expect(vector.shape).toEqual([1, 512]);
    const logitsNet = resnet18({
      classifierActivation: null,
      classes: 7,
      inputShape: [null, null, 3],
      skipInit,
    });
    const logits = logitsNet.predict(x) as tf.Tensor;
    expect(logits.shape).toEqual([1, 7]);
    expect(Math.abs(tf.sum(logits).dataSync()[0] - 1)).toBeGreaterThan(1e-3); // not a softmax
    expect(logitsNet.getLayer('predictions').getConfig().activation).toBe('linear');
    tf.dispose([x, map, vector, logits]);
    [features, pooled, logitsNet].forEach((n) => n.dispose());
  });

  it('zeroInitResidual zeroes the last BN gamma of every block', () => {
    // skipInit zeroes only kernels: BN gammas start at 1 unless zeroInitResidual says otherwise.
    const net = resnet50({ zeroInitResidual: true, inputShape: [32, 32, 3], skipInit: true });
    const lastBns = net.layers.filter((l) => /_3_bn$/.test(l.name));
    expect(lastBns).toHaveLength(16);
    for (const l of lastBns) expect(tf.max(tf.abs(l.getWeights()[0])).dataSync()[0]).toBe(0);
    const otherBns = net.layers.filter((l) => /_[12]_bn$/.test(l.name));
    expect(otherBns).toHaveLength(32);
    for (const l of otherBns) expect(tf.min(l.getWeights()[0]).dataSync()[0]).toBe(1);
    net.dispose();
  });
});

describe('stageOutputs', () => {
  it('gives conv2_x … conv5_x feature maps at strides 4, 8, 16, 32 for any input size', () => {
    const net = resnet50({ includeTop: false, inputShape: [null, null, 3], skipInit: true });
    const backbone = stageOutputs(net);
    // 32×64: the smallest input with every stage's map still twice as wide as high.
    const x = tf.randomNormal([1, 32, 64, 3], 0, 1, 'float32', 6);
    const maps = backbone.predict(x) as tf.Tensor[];
    expect(maps.map((m) => m.shape)).toEqual([
      [1, 8, 16, 256],
      [1, 4, 8, 512],
      [1, 2, 4, 1024],
      [1, 1, 2, 2048],
    ]);
    tf.dispose([x, ...maps]);
    net.dispose();
  });

  it('names the stages it lacks', () => {
    const net = cifarResNet(8, { inputShape: [8, 8, 3] });
    expect(() => stageOutputs(net, ['conv5'])).toThrow(
      /has no stage "conv5"; its stages are "conv2", "conv3", "conv4"/,
    );
    net.dispose();
  });
});

describe('inputs that cannot work fail before any layer is built', () => {
  it.each([
    [
      'an input smaller than the total stride',
      () => resnet50({ inputShape: [16, 64, 3] }),
      /resnet50: an input 16 pixels in height is smaller than the network's total stride of 32/,
    ],
    [
      'zero classes',
      () => resnet18({ classes: 0 }),
      /resnet18: option "classes" must be a positive integer; received 0/,
    ],
    [
      'a CIFAR depth that is not 6n+2',
      () => cifarResNet(21),
      /cifarResNet: depth must be 6n \+ 2 .*received 21/,
    ],
    ['a CIFAR depth of 2', () => cifarPlain(2), /cifarPlain: depth must be 6n \+ 2/],
    [
      'a bad shortcut',
      () => resnet34({ shortcut: 'D' as 'A' }),
      /resnet34: option "shortcut" must be one of "A", "B", "C"; received "D"/,
    ],
    [
      'a bad strideIn',
      () => resnet50({ strideIn: '3' as '3x3' }),
      /option "strideIn" must be one of "3x3", "1x1"; received "3"/,
    ],
    [
      'pooling with the top',
      () => resnet18({ pooling: 'avg' }),
      /option "pooling" applies only with includeTop: false/,
    ],
    [
      'an unknown option',
      () => resnet18({ dropout: 0.5 } as never),
      /resnet18: unknown option "dropout"/,
    ],
    [
      'a bad input shape',
      () => resnet18({ inputShape: [224, 224] as never }),
      /option "inputShape" must be \[height, width, channels\]/,
    ],
    [
      'a bad BN epsilon',
      () => resnet18({ bnEpsilon: -1 }),
      /option "bnEpsilon" must be a finite number greater than 0; received -1/,
    ],
  ])('rejects %s', (_what, build, message) => {
    const before = tf.memory().numTensors;
    expect(build).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  });
});
