import type { LayersModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { pretrainedWeights } from '@convnets/layers';
import { sameBits } from '../../../test-utils/models.ts';
import { expectTorchvisionWeights, readWeightsTable } from '../../../test-utils/weights-table.ts';
import { cifarResNet, RESNET_ALIASES, RESNET_MODELS, resnet18 } from '../src';

/** torchvision 0.14's `torchvision.models.list_models()` ResNets. */
const TORCHVISION_RESNETS = [
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
  'wide_resnet50_2',
  'wide_resnet101_2',
];

describe('RESNET_MODELS', () => {
  it("holds torchvision's ResNets, the plain nets and the CIFAR nets of Table 6, under snake_case names", () => {
    const depths = [18, 34, 50, 101, 152];
    const cifar = [20, 32, 44, 56, 110, 1202];
    expect(Object.keys(RESNET_MODELS).sort()).toEqual(
      [
        ...TORCHVISION_RESNETS,
        ...depths.map((d) => `plain${d}`),
        ...cifar.flatMap((d) => [`cifar_resnet${d}`, `cifar_plain${d}`]),
      ].sort(),
    );
    const inTorchvision = Object.values(RESNET_MODELS).filter((e) => e.inTorchvision);
    expect(inTorchvision.map((e) => e.name).sort()).toEqual([...TORCHVISION_RESNETS].sort());
    for (const [key, entry] of Object.entries(RESNET_MODELS)) expect(entry.name).toBe(key);
  });

  it('keeps the older command-line spellings as aliases of the CIFAR nets', () => {
    expect(RESNET_ALIASES['cifar-resnet20']).toBe('cifar_resnet20');
    expect(RESNET_ALIASES['cifar-plain1202']).toBe('cifar_plain1202');
    expect(Object.values(RESNET_ALIASES).every((name) => name in RESNET_MODELS)).toBe(true);
  });

  it("describes the paper's recipes: ImageNet at 224 with 256–480 scale augmentation, CIFAR at 32 with 4-pixel padding", () => {
    const imagenet = RESNET_MODELS.resnet50;
    expect([imagenet.defaultImageSize, imagenet.dataset]).toEqual([224, 'imagenet']);
    expect(imagenet.preprocessing.train).toEqual({
      kind: 'scale-augmentation',
      shorterSide: [256, 480],
    });
    expect(imagenet.torchvisionClassifierKey).toBe('fc.weight');
    const cifar = RESNET_MODELS.cifar_resnet56;
    expect([cifar.defaultImageSize, cifar.dataset]).toEqual([32, 'cifar10']);
    expect(cifar.preprocessing.train).toEqual({ kind: 'pad-and-crop', padding: 4 });
    // PyTorch CIFAR ResNets name the classifier `linear` (torchvision's `fc` is read too).
    expect(cifar.torchvisionClassifierKey).toBe('linear.weight');
  });

  it.each([
    // Table 1: 3-4-23-3 blocks in conv2_x … conv5_x; §4.2: 3 stages of n = 3 blocks at depth 20.
    [
      'wide_resnet50_2',
      ['conv2_block3_out', 'conv3_block4_out', 'conv4_block6_out', 'conv5_block3_out'],
    ],
    ['cifar_resnet20', ['conv2_block3_out', 'conv3_block3_out', 'conv4_block3_out']],
  ] as const)('names the layers ending the stages of %s', (name, layers) => {
    const entry = RESNET_MODELS[name];
    expect(entry.stages.map((s) => s.layer)).toEqual(layers);
    const net = entry.build({ skipInit: true, includeTop: false, inputShape: [32, 32, 3] });
    expect(net.name).toBe(name);
    expect(entry.stages.map((s) => net.getLayer(s.layer).name)).toEqual(layers);
    net.dispose();
  });
});

/** The flat values of the model's weights whose names match, in order. */
function values(net: LayersModel, names: RegExp): Float32Array[] {
  return net.weights
    .filter((w) => names.test(w.originalName))
    .map((w) => w.read().dataSync() as Float32Array);
}

describe('seed', () => {
  const small = { inputShape: [8, 8, 3] as [number, number, number], shortcut: 'B' as const };

  it('gives bitwise the same initial weights for the same seed, different ones for another', () => {
    const [a, b, c] = [7, 7, 8].map((seed) => cifarResNet(8, { ...small, seed }));
    const [wa, wb, wc] = [a, b, c].map((n) => values(n, /kernel$/));
    expect(wa.length).toBe(a.weights.filter((w) => w.originalName.endsWith('kernel')).length);
    wa.forEach((w, i) => expect(w).toEqual(wb[i]));
    wa.forEach((w, i) => expect(w).not.toEqual(wc[i]));
    // Without a seed every build draws afresh, as before.
    const [u, v] = [cifarResNet(8, small), cifarResNet(8, small)];
    expect(values(u, /conv1_conv/)[0]).not.toEqual(values(v, /conv1_conv/)[0]);
    [a, b, c, u, v].forEach((n) => n.dispose());
  });

  it('seed 0 is a seed, and distinct layers of one model draw distinct values', () => {
    const [a, b] = [0, 0].map((seed) => cifarResNet(8, { ...small, seed }));
    expect(values(a, /conv2_block1_1_conv/)[0]).toEqual(values(b, /conv2_block1_1_conv/)[0]);
    // Same shape (3×3×16×16), different layers: different draws.
    expect(values(a, /conv2_block1_1_conv/)[0]).not.toEqual(values(a, /conv2_block1_2_conv/)[0]);
    [a, b].forEach((n) => n.dispose());
  });

  it('seeds a full-size ResNet-18 (a few weights compared)', () => {
    const [a, b] = [1, 1].map((seed) => resnet18({ seed }));
    const picked = /^(conv1_conv|conv5_block2_2_conv|predictions)\/kernel$/;
    const [wa, wb] = [a, b].map((n) => values(n, picked));
    expect(wa.map((w, i) => sameBits(w, wb[i]))).toEqual([true, true, true]);
    [a, b].forEach((n) => n.dispose());
  });

  it('rejects a seed that is not a non-negative integer', () => {
    expect(() => resnet18({ seed: -1 })).toThrow(
      /resnet18: option "seed" must be a non-negative integer; received -1/,
    );
    expect(() => cifarResNet(20, { seed: 1.5 })).toThrow(
      /option "seed" must be a non-negative integer/,
    );
  });
});

describe('skipInit', () => {
  it('fills every kernel with zeros and keeps BN scales at 1', () => {
    const net = cifarResNet(8, { inputShape: [8, 8, 3], shortcut: 'B', skipInit: true, seed: 3 });
    for (const w of values(net, /kernel$/)) expect(w.every((v) => v === 0)).toBe(true);
    for (const g of values(net, /gamma$/)) expect(g.every((v) => v === 1)).toBe(true);
    net.dispose();
  });
});

describe("torchvision's pretrained weights", () => {
  const table = readWeightsTable(new URL('../fixtures/torchvision/weights.json', import.meta.url));

  it('lists every ResNet weights of torchvision 0.14 as its weights enums describe them', () => {
    expectTorchvisionWeights(RESNET_MODELS, table);
  });

  it('evaluates V1 weights at resize 256, V2 at 232, both cropped to 224', () => {
    const weights = Object.values(RESNET_MODELS).flatMap((e) => Object.values(e.weights));
    expect(weights).toHaveLength(12);
    for (const w of weights)
      expect([w.name, w.transforms.resizeSize, w.transforms.cropSize]).toEqual(
        w.name === 'IMAGENET1K_V2' ? [w.name, 232, 224] : ['IMAGENET1K_V1', 256, 224],
      );
  });

  it.each([
    // Copied from torchvision 0.14's models/resnet.py.
    ['resnet18', 'IMAGENET1K_V1', 'https://download.pytorch.org/models/resnet18-f37072fd.pth'],
    ['resnet50', 'IMAGENET1K_V2', 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth'],
    [
      'wide_resnet101_2',
      'DEFAULT',
      'https://download.pytorch.org/models/wide_resnet101_2-d733dc28.pth',
    ],
  ] as const)('%s %s is %s, its hash the one in the file name', (model, name, url) => {
    const w = pretrainedWeights(RESNET_MODELS[model], name);
    expect(w.url).toBe(url);
    expect(url).toContain(`-${w.sha256}.pth`);
    expect(w.sha256).toMatch(/^[0-9a-f]{8}$/);
  });

  it('has none for the plain and CIFAR nets, and names what there is for a wrong name', () => {
    expect(RESNET_MODELS.plain50.weights).toEqual({});
    expect(RESNET_MODELS.cifar_resnet20.weights).toEqual({});
    expect(() => pretrainedWeights(RESNET_MODELS.resnet18, 'IMAGENET1K_V2')).toThrow(
      'resnet18 has no weights "IMAGENET1K_V2"; expected one of IMAGENET1K_V1, DEFAULT.',
    );
    expect(() => pretrainedWeights(RESNET_MODELS.plain18, 'DEFAULT')).toThrow(
      'plain18 has no pretrained weights.',
    );
  });
});
