import type { LayersModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { pretrainedWeights } from '@convnets/layers';
import { sameBits } from '../../../test-utils/models.ts';
import { expectTorchvisionWeights, readWeightsTable } from '../../../test-utils/weights-table.ts';
import { VGG_ALIASES, VGG_MODELS, vgg11, vgg16Bn } from '../src';

/** torchvision 0.14's `torchvision.models.list_models()` VGGs. */
const TORCHVISION_VGGS = ['vgg11', 'vgg13', 'vgg16', 'vgg19'].flatMap((n) => [n, `${n}_bn`]);

describe('VGG_MODELS', () => {
  it("holds torchvision's eight VGGs and the paper's A-LRN and C", () => {
    expect(Object.keys(VGG_MODELS).sort()).toEqual(
      [...TORCHVISION_VGGS, 'vgg11_lrn', 'vgg16_c'].sort(),
    );
    const inTorchvision = Object.values(VGG_MODELS).filter((e) => e.inTorchvision);
    expect(inTorchvision.map((e) => e.name).sort()).toEqual([...TORCHVISION_VGGS].sort());
    expect(VGG_MODELS.vgg16_bn.torchvisionClassifierKey).toBe('classifier.6.weight');
    expect(VGG_MODELS.vgg16.preprocessing.train).toEqual({ kind: 'fixed-scale', shorterSide: 256 });
  });

  it('keeps the older command-line spellings as aliases', () => {
    expect(VGG_ALIASES).toEqual({
      'vgg11-bn': 'vgg11_bn',
      'vgg11-lrn': 'vgg11_lrn',
      'vgg13-bn': 'vgg13_bn',
      'vgg16-bn': 'vgg16_bn',
      'vgg19-bn': 'vgg19_bn',
      vgg16c: 'vgg16_c',
    });
  });

  it.each(Object.entries(VGG_MODELS))(
    '%s builds a model of that name whose five stages end in the listed pools',
    (name, entry) => {
      // §2.1: five max-pooling layers, each halving the map (32 → 1).
      const net = entry.build({ skipInit: true, includeTop: false, inputShape: [32, 32, 3] });
      expect(net.name).toBe(name);
      expect(entry.stages.map((s) => net.getLayer(s.layer).outputShape[1])).toEqual([
        16, 8, 4, 2, 1,
      ]);
      net.dispose();
    },
  );

  it('vgg16Bn is vgg16 with batch normalisation', () => {
    const net = vgg16Bn({ skipInit: true, includeTop: false, inputShape: [32, 32, 3] });
    expect(net.name).toBe('vgg16_bn');
    expect(net.layers.filter((l) => l.getClassName() === 'BatchNormalization')).toHaveLength(13);
    net.dispose();
  });
});

/** The flat values of the model's kernels. */
const kernels = (net: LayersModel) =>
  net.weights
    .filter((w) => w.originalName.endsWith('kernel'))
    .map((w) => w.read().dataSync() as Float32Array);

describe('seed', () => {
  it('gives bitwise the same initial weights for the same seed, different ones for another', () => {
    // Without the top: the fully connected layers hold most of VGG's weights.
    const opts = { includeTop: false, inputShape: [32, 32, 3] as [number, number, number] };
    const [a, b, c] = [5, 5, 6].map((seed) => vgg11({ ...opts, seed }));
    const [ka, kb, kc] = [a, b, c].map(kernels);
    expect(ka).toHaveLength(8);
    expect(ka.map((k, i) => sameBits(k, kb[i]))).toEqual(ka.map(() => true));
    expect(ka.map((k, i) => sameBits(k, kc[i]))).toEqual(ka.map(() => false));
    [a, b, c].forEach((n) => n.dispose());
  });

  it('seeds the fully connected layers too (at the smallest input, 32×32)', () => {
    const opts = { inputShape: [32, 32, 3] as [number, number, number], classes: 3 };
    const [a, b] = [9, 9].map((seed) => vgg11({ ...opts, seed }));
    const fc = (n: LayersModel, layer: string) =>
      n.getLayer(layer).getWeights()[0].dataSync() as Float32Array;
    expect(['fc1', 'fc2', 'predictions'].map((l) => sameBits(fc(a, l), fc(b, l)))).toEqual([
      true,
      true,
      true,
    ]);
    [a, b].forEach((n) => n.dispose());
  });

  it('rejects a seed that is not a non-negative integer', () => {
    expect(() => vgg11({ seed: -2 })).toThrow(
      /vgg11: option "seed" must be a non-negative integer; received -2/,
    );
  });
});

describe("torchvision's pretrained weights", () => {
  const table = readWeightsTable(new URL('../fixtures/torchvision/weights.json', import.meta.url));

  it("lists every VGG weights of torchvision 0.14 as its enums describe them, but vgg16's features-only weights", () => {
    expectTorchvisionWeights(VGG_MODELS, table, ['vgg16.IMAGENET1K_FEATURES']);
    // What leaves them out: no categories, NaN accuracy (a NaN classifier), SSD's normalisation.
    const features = table.vgg16.weights.IMAGENET1K_FEATURES;
    expect([features.categories, features.acc1, features.std[0]]).toEqual([null, null, 1 / 255]);
  });

  it.each([
    // Copied from torchvision 0.14's models/vgg.py.
    ['vgg11', 'https://download.pytorch.org/models/vgg11-8a719046.pth'],
    ['vgg16_bn', 'https://download.pytorch.org/models/vgg16_bn-6c64b313.pth'],
    ['vgg19_bn', 'https://download.pytorch.org/models/vgg19_bn-c79401a0.pth'],
  ] as const)(
    '%s DEFAULT is IMAGENET1K_V1 at %s, resized to 256 and cropped to 224',
    (model, url) => {
      const w = pretrainedWeights(VGG_MODELS[model], 'DEFAULT');
      expect([w.name, w.url, w.transforms.resizeSize, w.transforms.cropSize]).toEqual([
        'IMAGENET1K_V1',
        url,
        256,
        224,
      ]);
      expect(url).toContain(`-${w.sha256}.pth`);
    },
  );

  it("has none for the paper's A-LRN and C", () => {
    expect([VGG_MODELS.vgg11_lrn.weights, VGG_MODELS.vgg16_c.weights]).toEqual([{}, {}]);
  });
});
