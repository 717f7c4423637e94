import { summarize } from '@convnets/layers';
import { describe, expect, it } from 'vitest';
import { vgg11, vgg11Lrn, vgg13, vgg16, vgg16C, vgg19, type VggOptions } from '../src';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** Builds (never runs) a model, summarises it and frees its weights. */
function counts(build: () => LayersModel) {
  const net = build();
  const s = summarize(net);
  net.dispose();
  return s;
}

// From ../shared/reference/NUMBERS.md: torchvision 0.14's parameter counts
// (and BN running statistics of the _bn variants), multiply-adds per 224×224 image.
describe.each([
  ['vgg11', vgg11, 132_863_336, 132_868_840, 5_504, 7_609_090_048],
  ['vgg13', vgg13, 133_047_848, 133_053_736, 5_888, 11_308_466_176],
  ['vgg16', vgg16, 138_357_544, 138_365_992, 8_448, 15_470_264_320],
  ['vgg19', vgg19, 143_667_240, 143_678_248, 11_008, 19_632_062_464],
])('%s', (_name, factory, params, bnParams, bnStats, macs) => {
  it("has torchvision's parameter count and the multiply-adds at 224×224", () => {
    const s = counts(() => factory({ skipInit: true }));
    expect(s.trainableParams).toBe(params);
    expect(s.nonTrainableParams).toBe(0);
    expect(s.multiplyAdds).toBe(macs);
  });

  it("with batchNorm: torchvision's _bn counts", () => {
    const s = counts(() => factory({ batchNorm: true, skipInit: true } as VggOptions));
    expect(s.trainableParams).toBe(bnParams);
    expect(s.nonTrainableParams).toBe(bnStats);
  });
});

describe('configurations only in the paper (Table 2, millions)', () => {
  it.each([
    ['A-LRN', vgg11Lrn, 133],
    ['C', vgg16C, 134],
  ])('%s has %sM parameters', (_name, factory, millions) => {
    expect(Math.round(counts(() => factory({ skipInit: true })).trainableParams / 1e6)).toBe(
      millions,
    );
  });

  it('A-LRN has exactly the parameters of A (LRN has none); C is D with three 3×3 convs made 1×1', () => {
    expect(counts(() => vgg11Lrn({ skipInit: true })).trainableParams).toBe(132_863_336);
    const saved = (3 * 3 - 1) * (256 * 256 + 512 * 512 + 512 * 512);
    expect(counts(() => vgg16C({ skipInit: true })).trainableParams).toBe(138_357_544 - saved);
  });
});
