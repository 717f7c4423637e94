import { summarize } from '@convnets/layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  cifarResNet,
  plain18,
  plain34,
  resnet101,
  resnet152,
  resnet18,
  resnet34,
  resnet50,
  RESNET_MODELS,
  type ResNetOptions,
} from '../src';

// From ../shared/reference/NUMBERS.md: torchvision 0.14's parameter counts,
// BN running-statistic counts, and multiply-adds per 224×224 image for both
// stride placements (the paper's Table 1 "FLOPs").
const TORCHVISION = {
  resnet18: {
    factory: resnet18,
    params: 11_689_512,
    bnStats: 9_600,
    v1: 1_814_073_344,
    v15: 1_814_073_344,
  },
  resnet34: {
    factory: resnet34,
    params: 21_797_672,
    bnStats: 17_024,
    v1: 3_663_761_408,
    v15: 3_663_761_408,
  },
  resnet50: {
    factory: resnet50,
    params: 25_557_032,
    bnStats: 53_120,
    v1: 3_857_973_248,
    v15: 4_089_184_256,
  },
  resnet101: {
    factory: resnet101,
    params: 44_549_160,
    bnStats: 105_344,
    v1: 7_570_194_432,
    v15: 7_801_405_440,
  },
  resnet152: {
    factory: resnet152,
    params: 60_192_808,
    bnStats: 151_424,
    v1: 11_282_415_616,
    v15: 11_513_626_624,
  },
};

/** Builds (never runs) a model, summarises it and frees its weights. */
function counts(build: () => LayersModel) {
  const net = build();
  const s = summarize(net);
  net.dispose();
  return s;
}

describe.each(Object.entries(TORCHVISION))('%s', (_name, expected) => {
  it("has torchvision's parameter counts and the paper's multiply-adds with the stride in the 1×1 conv", () => {
    const s = counts(() => expected.factory({ strideIn: '1x1', skipInit: true } as ResNetOptions));
    expect(s.trainableParams).toBe(expected.params);
    expect(s.nonTrainableParams).toBe(expected.bnStats);
    expect(s.multiplyAdds).toBe(expected.v1);
  });

  it('has the v1.5 multiply-adds with the stride in the 3×3 conv (default)', () => {
    const s = counts(() => expected.factory({ skipInit: true }));
    expect(s.multiplyAdds).toBe(expected.v15);
    expect(s.trainableParams).toBe(expected.params);
  });
});

describe.each([
  // torchvision 0.14: sum(p.numel() for p in m.parameters()) and the BN running statistics.
  ['wide_resnet50_2', 68_883_240, 68_224],
  ['wide_resnet101_2', 126_886_696, 137_856],
] as const)('%s', (name, params, bnStats) => {
  it("has torchvision's parameter and BN statistic counts", () => {
    const s = counts(() => RESNET_MODELS[name].build({ skipInit: true }));
    expect(s.trainableParams).toBe(params);
    expect(s.nonTrainableParams).toBe(bnStats);
  });
});

describe('plain nets', () => {
  // The same layers minus the three projection shortcuts (1×1 conv + BN) at conv3_1, conv4_1, conv5_1.
  const projections = 64 * 128 + 128 * 256 + 256 * 512 + 2 * (128 + 256 + 512);
  it("plain-18 and plain-34 have the residual nets' parameters minus the projections", () => {
    expect(counts(() => plain18({ skipInit: true })).trainableParams).toBe(
      11_689_512 - projections,
    );
    expect(counts(() => plain34({ skipInit: true })).trainableParams).toBe(
      21_797_672 - projections,
    );
  });
});

describe('CIFAR ResNets', () => {
  // The paper's Table 6, in millions (rounded to the digits it prints).
  it.each([
    [20, 0.27],
    [32, 0.46],
    [44, 0.66],
    [56, 0.85],
    [110, 1.7],
  ])('ResNet-%i has %fM parameters', (depth, millions) => {
    const params = counts(() => cifarResNet(depth, { skipInit: true })).trainableParams;
    const digits = millions < 1 ? 2 : 1;
    expect(Number((params / 1e6).toFixed(digits))).toBe(millions);
  });

  it('ResNet-20 has exactly the count worked out by hand (option A: no shortcut parameters)', () => {
    // conv1: 3·3·3·16 + BN; stage widths 16, 32, 64 with 3 basic blocks each; fc 64→10.
    const stage = (cin: number, c: number) =>
      9 * cin * c + 9 * c * c + 2 * 9 * c * c * 2 + 6 * 2 * c;
    const expected =
      9 * 3 * 16 + 2 * 16 + stage(16, 16) + stage(16, 32) + stage(32, 64) + 64 * 10 + 10;
    expect(counts(() => cifarResNet(20, { skipInit: true })).trainableParams).toBe(expected);
  });
});
