import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { expectSameAfterReload, topologyAfterReload } from '../../../test-utils/models.ts';
import {
  readSafetensors,
  readStateDict,
  writeSafetensors,
  type Float32Entry,
} from '@convnets/layers';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadWeights,
  saveWeights,
  VGG_MODELS,
  vgg11,
  vgg11Lrn,
  vgg13,
  vgg16,
  vgg16C,
  vgg19,
  type VggOptions,
} from '../src';

/** The configurations without BN, in the registry's order. */
const PLAIN = Object.values(VGG_MODELS).filter((e) => !e.name.endsWith('_bn'));

it('the registry builds configurations A, A-LRN, B, C, D and E of Table 1 with their factories', () => {
  expect(PLAIN.map((e) => e.name)).toEqual([
    'vgg11',
    'vgg11_lrn',
    'vgg13',
    'vgg16_c',
    'vgg16',
    'vgg19',
  ]);
  expect(VGG_MODELS.vgg11_lrn.build).toBe(vgg11Lrn);
  expect(VGG_MODELS.vgg16_c.build).toBe(vgg16C);
});

describe('every factory survives model.save → tf.loadLayersModel', () => {
  // Topology: every configuration, with and without BN, built with skipInit
  // (zero weights, no random draw): the reloaded model has the same Keras JSON
  // and the same weights in the same order.
  it.each(
    PLAIN.map((e) => [e.name, e.build as (o: VggOptions) => LayersModel] as const).flatMap(
      ([n, f]) =>
        [
          [n, f, false],
          [`${n} with BN`, f, true],
        ] as const,
    ),
  )('%s at 32×32: the same topology and weight list', async (_name, factory, batchNorm) => {
    const { topology, weights } = await topologyAfterReload(
      factory({ inputShape: [32, 32, 3], classes: 4, batchNorm, skipInit: true }),
    );
    expect(topology[1]).toBe(topology[0]);
    expect(weights[1]).toEqual(weights[0]);
  });

  // Weights and predictions: random weights (the real initialisers, which must
  // serialise too) must predict bitwise the same after the reload. One
  // configuration per kind of layer is enough: every VGG is built by the same
  // loop over its config list (vgg.ts), so vgg13, vgg16 and vgg19 only repeat
  // what vgg11 has, and the topology test above already reloads them all.
  //   vgg11          conv + ReLU, max pooling, flatten, dense, dropout, kaiming init
  //   vgg11 with BN  BatchNormalization and separate ReLU activations
  //   vgg11-lrn      the custom LocalResponseNormalization layer
  //   vgg16c         the 1×1 convolutions of configuration C
  it.each([
    ['vgg11', vgg11, false],
    ['vgg11 with BN', vgg11, true],
    ['vgg11-lrn', vgg11Lrn, false],
    ['vgg16c', vgg16C, false],
  ] as const)('%s at 32×32: the same predictions', async (_name, factory, batchNorm) => {
    const shape = await expectSameAfterReload(
      factory({ inputShape: [32, 32, 3], classes: 4, batchNorm }),
    );
    expect(shape).toEqual([1, 4]);
  });
});

describe('structure', () => {
  it("uses Keras' layer names, the paper's 1×1 convs in C and LRN in A-LRN", () => {
    const c = vgg16C({ skipInit: true, inputShape: [32, 32, 3] });
    expect(c.getLayer('block3_conv3').getConfig().kernelSize).toEqual([1, 1]);
    expect(c.getLayer('block3_conv2').getConfig().kernelSize).toEqual([3, 3]);
    expect(c.layers.map((l) => l.name)).toEqual(
      expect.arrayContaining(['block5_pool', 'flatten', 'fc1', 'fc2', 'predictions']),
    );
    const lrn = vgg11Lrn({ skipInit: true, inputShape: [32, 32, 3] });
    expect(lrn.layers[2].name).toBe('block1_lrn');
    expect(lrn.layers[2].getClassName()).toBe('LocalResponseNormalization');
    [c, lrn].forEach((n) => n.dispose());
  });

  it('dropout 0.5 after fc1 and fc2 by default, none with dropout: 0', () => {
    const count = (net: LayersModel) => {
      const rates = net.layers
        .filter((l) => l.getClassName() === 'Dropout')
        .map((l) => l.getConfig().rate);
      net.dispose();
      return rates;
    };
    expect(count(vgg11({ skipInit: true, inputShape: [32, 32, 3] }))).toEqual([0.5, 0.5]);
    expect(count(vgg11({ skipInit: true, inputShape: [32, 32, 3], dropout: 0 }))).toEqual([]);
  });

  it('without the top it accepts any input size and pools if asked', () => {
    // Shapes only: zero weights (skipInit) give the same shapes without the random draw.
    const net = vgg16({
      includeTop: false,
      inputShape: [null, null, 3],
      pooling: 'avg',
      skipInit: true,
    });
    const x = tf.zeros([1, 32, 64, 3]);
    const y = net.predict(x) as tf.Tensor;
    expect(y.shape).toEqual([1, 512]);
    tf.dispose([x, y]);
    net.dispose();
  });
});

describe('torchvision weights', () => {
  it('round-trip saveWeights → loadWeights with torchvision names and identical weights', async () => {
    const a = vgg11({ batchNorm: true, inputShape: [64, 64, 3], classes: 3 });
    const b = vgg11({ batchNorm: true, inputShape: [64, 64, 3], classes: 3, skipInit: true });
    const bytes = await saveWeights(a);
    const keys = [...readSafetensors(bytes).tensors.keys()];
    // vgg11_bn: conv at features.0, BN at features.1, ReLU 2, pool 3, conv 4, …; classifier 0, 3, 6.
    expect(keys).toEqual(
      expect.arrayContaining([
        'features.0.weight',
        'features.1.running_var',
        'features.4.weight',
        'classifier.0.weight',
        'classifier.6.bias',
      ]),
    );
    expect(keys).not.toContain('features.3.weight');
    await loadWeights(b, bytes, { from: 'torchvision' });
    // Every weight, BN statistics included, bitwise and in order: two nets of
    // the same factory and options with the same weights predict the same, so
    // this is stronger than comparing predictions on one input (and skips two
    // ~3 s forward passes at 64×64 on the cpu backend).
    const snapshot = (net: LayersModel) =>
      Buffer.concat(
        net.weights.map((w) => Buffer.from((w.read().dataSync() as Float32Array).buffer)),
      );
    expect(b.weights.map((w) => w.originalName)).toEqual(a.weights.map((w) => w.originalName));
    expect(snapshot(b).equals(snapshot(a))).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('round-trip through a .pth file (torch.save format), found by its content', async () => {
    const a = vgg11({ inputShape: [32, 32, 3], classes: 3 });
    const b = vgg11({ inputShape: [32, 32, 3], classes: 3, skipInit: true });
    const dir = mkdtempSync(join(tmpdir(), 'convnets-vgg-'));
    const path = join(dir, 'vgg11.pth');
    const bytes = await saveWeights(a, path);
    expect(readStateDict(bytes).format).toBe('torch-zip');
    expect(readFileSync(path).equals(Buffer.from(bytes))).toBe(true);
    await loadWeights(b, path, { from: 'torchvision' });
    const snapshot = (net: LayersModel) =>
      Buffer.concat(
        net.weights.map((w) => Buffer.from((w.read().dataSync() as Float32Array).buffer)),
      );
    expect(snapshot(b).equals(snapshot(a))).toBe(true);
    // fileFormat overrides the extension.
    const safetensors = await saveWeights(a, undefined, { fileFormat: 'safetensors' });
    expect(readStateDict(safetensors).format).toBe('safetensors');
    rmSync(dir, { recursive: true });
    a.dispose();
    b.dispose();
  });

  it('plain VGG numbers its features as torchvision does (conv, ReLU, …, pool)', async () => {
    const net = vgg11({ inputShape: [32, 32, 3], classes: 3, skipInit: true });
    const keys = [...readSafetensors(await saveWeights(net)).tensors.keys()];
    // A: conv 0, relu 1, pool 2, conv 3, relu 4, pool 5, conv 6, relu 7, conv 8, …
    expect(keys.filter((k) => k.startsWith('features') && k.endsWith('weight'))).toEqual(
      [0, 3, 6, 8, 11, 13, 16, 18].map((i) => `features.${i}.weight`),
    );
    net.dispose();
  });

  it('permutes the first FC layer between the NCHW and NHWC flatten orders', async () => {
    // At 64×64 the last map is 2×2×512. torchvision's classifier.0.weight[o, c·4 + y·2 + x]
    // (NCHW flatten) is our fc1 kernel[(y·2 + x)·512 + c, o] (NHWC flatten).
    const source = vgg11({ inputShape: [64, 64, 3], classes: 3, skipInit: true });
    const { tensors } = readSafetensors(await saveWeights(source));
    source.dispose();
    const [o, c, y, x] = [7, 5, 1, 0];
    const entries = new Map<string, Float32Entry>();
    for (const [key, t] of tensors) {
      const data = new Float32Array(t.bytes.slice().buffer);
      if (key === 'classifier.0.weight') data[o * 2048 + c * 4 + y * 2 + x] = 1;
      entries.set(key, { shape: t.shape, data });
    }
    expect(tensors.get('classifier.0.weight')!.shape).toEqual([4096, 2048]);
    const target = vgg11({ inputShape: [64, 64, 3], classes: 3, skipInit: true });
    await loadWeights(target, writeSafetensors(entries), { from: 'torchvision' });
    const kernel = target.getLayer('fc1').getWeights()[0].dataSync();
    const nonZero = [...kernel.keys()].filter((i) => kernel[i] !== 0);
    expect(nonZero).toEqual([((y * 2 + x) * 512 + c) * 4096 + o]);
    target.dispose();
  });
});

describe('inputs that cannot work fail before any layer is built', () => {
  it.each([
    [
      'an input smaller than the total stride',
      () => vgg16({ inputShape: [31, 224, 3] }),
      /vgg16: an input 31 pixels in height is smaller than the network's total stride of 32/,
    ],
    [
      'zero classes',
      () => vgg19({ classes: 0 }),
      /vgg19: option "classes" must be a positive integer; received 0/,
    ],
    [
      'an unknown input size with the top',
      () => vgg13({ inputShape: [null, null, 3] }),
      /with includeTop the input size must be known/,
    ],
    [
      'a dropout of 1',
      () => vgg11({ dropout: 1 }),
      /option "dropout" must be a number in \[0, 1\); received 1/,
    ],
    [
      'a non-boolean batchNorm',
      () => vgg11({ batchNorm: 'yes' as never }),
      /option "batchNorm" must be true or false; received "yes"/,
    ],
    [
      'an unknown option',
      () => vgg16({ shortcut: 'A' } as never),
      /vgg16: unknown option "shortcut"/,
    ],
  ])('rejects %s', (_what, build, message) => {
    const before = tf.memory().numTensors;
    expect(build).toThrow(message);
    expect(tf.memory().numTensors).toBe(before);
  });
});
