import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { input } from '@tensorflow/tfjs-layers';
import {
  basicBlock,
  bottleneckBlock,
  convBn,
  convBnRelu,
  residualStage,
  shortcut,
  ZeroPadChannels,
} from '../src';
import { countOf, layerNames, wrap } from './helpers';

// Parameter counts are worked out by hand from the layer shapes:
// a k×k conv from c_in to c_out has k·k·c_in·c_out weights (no bias before BN);
// a BN over c channels has 2c trainable (gamma, beta) and 2c non-trainable (moving mean, variance).

describe('convBn and convBnRelu', () => {
  it('pads symmetrically, convolves, normalises: shapes, names, counts', () => {
    const m = wrap([8, 8, 3], (x) => convBnRelu(x, { name: 'stem', filters: 4, stride: 2 }));
    expect(layerNames(m).slice(1)).toEqual(['stem_pad', 'stem_conv', 'stem_bn', 'stem_relu']);
    // (8 + 2·1 − 3) / 2 + 1 = 4
    expect(m.outputs[0].shape).toEqual([null, 4, 4, 4]);
    expect(countOf(m.trainableWeights)).toBe(3 * 3 * 3 * 4 + 2 * 4);
    expect(countOf(m.nonTrainableWeights)).toBe(2 * 4);
  });

  it("at stride 1 uses TF's 'same', which equals explicit symmetric padding exactly", () => {
    const implicit = wrap([7, 6, 2], (x) => convBn(x, { name: 'a', filters: 3 }));
    const explicit = wrap([7, 6, 2], (x) => convBn(x, { name: 'a', filters: 3, padding: 1 }));
    expect(layerNames(implicit)).not.toContain('a_pad');
    expect(layerNames(explicit)).toContain('a_pad');
    explicit.setWeights(implicit.getWeights());
    const x = tf.randomNormal([2, 7, 6, 2], 0, 1, 'float32', 3);
    const a = implicit.predict(x) as tf.Tensor;
    const b = explicit.predict(x) as tf.Tensor;
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
  });

  it('uses PyTorch BN settings and no bias by default', () => {
    const m = wrap([8, 8, 3], (x) => convBn(x, { name: 'u', filters: 4 }));
    const bn = m.getLayer('u_bn').getConfig();
    expect(bn.momentum).toBe(0.9); // PyTorch momentum 0.1 in the Keras convention
    expect(bn.epsilon).toBe(1e-5);
    expect(m.getLayer('u_conv').getConfig().useBias).toBe(false);
    expect(layerNames(m)).not.toContain('u_relu');
  });

  it("builds no padding layer for 1×1 kernels and for TensorFlow's 'same'", () => {
    const one = wrap([8, 8, 3], (x) => convBn(x, { name: 'p', filters: 4, kernelSize: 1 }));
    expect(layerNames(one)).not.toContain('p_pad');
    const same = wrap([8, 8, 3], (x) =>
      convBn(x, { name: 's', filters: 4, padding: 'same', stride: 2 }),
    );
    expect(layerNames(same)).not.toContain('s_pad');
    expect(same.outputs[0].shape).toEqual([null, 4, 4, 4]);
  });

  it('honours an explicit bias, a 7×7 kernel with stride 2 and zero-initialised gamma', () => {
    const m = wrap([16, 16, 3], (x) =>
      convBn(x, {
        name: 'c',
        filters: 2,
        kernelSize: 7,
        stride: 2,
        useBias: true,
        zeroInitGamma: true,
      }),
    );
    // (16 + 2·3 − 7) / 2 + 1 = 8
    expect(m.outputs[0].shape).toEqual([null, 8, 8, 2]);
    expect(countOf(m.trainableWeights)).toBe(7 * 7 * 3 * 2 + 2 + 2 * 2);
    const gamma = m.getLayer('c_bn').getWeights()[0];
    expect(Array.from(gamma.dataSync())).toEqual([0, 0]);
  });
});

describe('basicBlock', () => {
  it('with a projection shortcut (option B) where the shape changes', () => {
    const m = wrap([8, 8, 4], (x) => basicBlock(x, { name: 'b', filters: 8, stride: 2 }));
    expect(m.outputs[0].shape).toEqual([null, 4, 4, 8]);
    const conv = 3 * 3 * 4 * 8 + 3 * 3 * 8 * 8 + 1 * 1 * 4 * 8;
    expect(countOf(m.trainableWeights)).toBe(conv + 3 * 2 * 8);
    expect(countOf(m.nonTrainableWeights)).toBe(3 * 2 * 8);
    expect(layerNames(m)).toEqual(
      expect.arrayContaining([
        'b_1_conv',
        'b_1_bn',
        'b_1_relu',
        'b_2_conv',
        'b_2_bn',
        'b_0_conv',
        'b_0_bn',
        'b_add',
        'b_out',
      ]),
    );
    expect(basicBlock.expansion).toBe(1);
  });

  it('with an identity shortcut when the shape is kept (option B)', () => {
    const m = wrap([8, 8, 4], (x) => basicBlock(x, { name: 'b', filters: 4 }));
    expect(m.outputs[0].shape).toEqual([null, 8, 8, 4]);
    expect(countOf(m.trainableWeights)).toBe(2 * (3 * 3 * 4 * 4) + 2 * 2 * 4);
    expect(layerNames(m).filter((n) => n.startsWith('b_0'))).toEqual([]);
  });

  it('with option A: no parameters in the shortcut', () => {
    const m = wrap([8, 8, 4], (x) =>
      basicBlock(x, { name: 'b', filters: 8, stride: 2, shortcut: 'A' }),
    );
    expect(m.outputs[0].shape).toEqual([null, 4, 4, 8]);
    expect(countOf(m.trainableWeights)).toBe(3 * 3 * 4 * 8 + 3 * 3 * 8 * 8 + 2 * 2 * 8);
    expect(m.getLayer('b_0_pad').getClassName()).toBe('ZeroPadChannels');
  });

  it('with option C: a projection even where the shape is kept', () => {
    const m = wrap([8, 8, 4], (x) => basicBlock(x, { name: 'b', filters: 4, shortcut: 'C' }));
    expect(countOf(m.trainableWeights)).toBe(2 * (3 * 3 * 4 * 4) + 4 * 4 + 3 * 2 * 4);
  });

  it('plain: the same layers without shortcut or addition', () => {
    const m = wrap([8, 8, 4], (x) =>
      basicBlock(x, { name: 'b', filters: 8, stride: 2, plain: true }),
    );
    expect(m.outputs[0].shape).toEqual([null, 4, 4, 8]);
    expect(layerNames(m).some((n) => n.startsWith('b_0') || n === 'b_add')).toBe(false);
    expect(countOf(m.trainableWeights)).toBe(3 * 3 * 4 * 8 + 3 * 3 * 8 * 8 + 2 * 2 * 8);
  });

  it('zeroInitResidual zeroes the last BN gamma of the branch only', () => {
    const m = wrap([8, 8, 4], (x) =>
      basicBlock(x, { name: 'b', filters: 4, zeroInitResidual: true }),
    );
    const gamma = (layer: string) => Array.from(m.getLayer(layer).getWeights()[0].dataSync());
    expect(gamma('b_2_bn')).toEqual([0, 0, 0, 0]);
    expect(gamma('b_1_bn')).toEqual([1, 1, 1, 1]);
  });
});

describe('bottleneckBlock', () => {
  it('expands by 4 and projects the shortcut', () => {
    const m = wrap([8, 8, 16], (x) => bottleneckBlock(x, { name: 'k', filters: 4, stride: 2 }));
    expect(m.outputs[0].shape).toEqual([null, 4, 4, 16]);
    const conv = 16 * 4 + 3 * 3 * 4 * 4 + 4 * 16 + 16 * 16;
    const bn = 2 * (4 + 4 + 16 + 16);
    expect(countOf(m.trainableWeights)).toBe(conv + bn);
    expect(countOf(m.nonTrainableWeights)).toBe(bn);
    expect(bottleneckBlock.expansion).toBe(4);
  });

  it("strideIn '3x3' (torchvision) strides the 3×3 conv; '1x1' (paper) the first 1×1", () => {
    const v15 = wrap([8, 8, 16], (x) => bottleneckBlock(x, { name: 'k', filters: 4, stride: 2 }));
    expect(v15.getLayer('k_1_conv').outputShape).toEqual([null, 8, 8, 4]);
    expect(v15.getLayer('k_2_conv').outputShape).toEqual([null, 4, 4, 4]);
    const v1 = wrap([8, 8, 16], (x) =>
      bottleneckBlock(x, { name: 'k', filters: 4, stride: 2, strideIn: '1x1' }),
    );
    expect(v1.getLayer('k_1_conv').outputShape).toEqual([null, 4, 4, 4]);
    expect(v1.getLayer('k_2_conv').outputShape).toEqual([null, 4, 4, 4]);
  });

  it('zeroInitResidual zeroes the third BN gamma', () => {
    const m = wrap([8, 8, 16], (x) =>
      bottleneckBlock(x, { name: 'k', filters: 4, zeroInitResidual: true }),
    );
    expect(Array.from(m.getLayer('k_3_bn').getWeights()[0].dataSync()).every((g) => g === 0)).toBe(
      true,
    );
    expect(Array.from(m.getLayer('k_2_bn').getWeights()[0].dataSync()).every((g) => g === 1)).toBe(
      true,
    );
  });
});

describe('shortcut', () => {
  it('returns the input itself for an identity', () => {
    const m = wrap([8, 8, 4], (x) => {
      const y = shortcut(x, { name: 's', filters: 4, shortcut: 'A' });
      expect(y).toBe(x);
      return convBn(y, { name: 'c', filters: 1, kernelSize: 1 });
    });
    expect(layerNames(m)).not.toContain('s_pad');
  });
});

describe('channelPadding', () => {
  it("reaches option A's pad layer through shortcut, blocks and stages; 'end' by default", () => {
    const padding = (m: { getLayer(name: string): unknown }, name: string) =>
      (m.getLayer(name) as ZeroPadChannels).channelPadding;
    const s = wrap([8, 8, 4], (x) =>
      shortcut(x, { name: 's', filters: 8, stride: 2, shortcut: 'A', channelPadding: 'both' }),
    );
    expect(padding(s, 's_pad')).toBe('both');
    const b = wrap([8, 8, 4], (x) =>
      basicBlock(x, { name: 'b', filters: 8, stride: 2, shortcut: 'A', channelPadding: 'both' }),
    );
    expect(padding(b, 'b_0_pad')).toBe('both');
    const stage = (channelPadding?: 'end' | 'both') =>
      wrap([8, 8, 4], (x) =>
        residualStage(x, {
          name: 'conv2',
          block: 'basic',
          filters: 8,
          blocks: 2,
          stride: 2,
          shortcut: 'A',
          channelPadding,
        }),
      );
    expect(padding(stage('both'), 'conv2_block1_0_pad')).toBe('both');
    expect(padding(stage(), 'conv2_block1_0_pad')).toBe('end');
  });

  it('is refused with projection shortcuts and outside its values, before any layer exists', () => {
    const x = input({ shape: [8, 8, 4] });
    expect(() =>
      basicBlock(x, { name: 'b', filters: 8, stride: 2, shortcut: 'B', channelPadding: 'both' }),
    ).toThrow(
      'shortcut "b_0": option "channelPadding" applies to option-A shortcuts only; received "both" with shortcut "B".',
    );
    expect(() =>
      shortcut(x, { name: 's', filters: 8, shortcut: 'A', channelPadding: 'start' as never }),
    ).toThrow('shortcut: option "channelPadding" must be one of "end", "both"; received "start".');
    expect(() => new ZeroPadChannels({ outChannels: 8, channelPadding: 'left' as never })).toThrow(
      'ZeroPadChannels: option "channelPadding" must be one of "end", "both"; received "left".',
    );
  });
});

describe('residualStage', () => {
  it('names blocks <stage>_block<i> and strides only the first', () => {
    const m = wrap([8, 8, 8], (x) =>
      residualStage(x, { name: 'conv3', block: 'bottleneck', filters: 4, blocks: 3, stride: 2 }),
    );
    expect(m.outputs[0].shape).toEqual([null, 4, 4, 16]);
    expect(m.getLayer('conv3_block1_2_conv').outputShape).toEqual([null, 4, 4, 4]);
    expect(m.getLayer('conv3_block3_out')).toBeDefined();
    // Only the first block changes the shape, so only it has a projection.
    expect(layerNames(m).filter((n) => /_0_conv$/.test(n))).toEqual(['conv3_block1_0_conv']);
    const block = 16 * 4 + 3 * 3 * 4 * 4 + 4 * 16 + 2 * (4 + 4 + 16);
    expect(countOf(m.trainableWeights)).toBe(
      8 * 4 + 3 * 3 * 4 * 4 + 4 * 16 + 8 * 16 + 2 * (4 + 4 + 16 + 16) + 2 * block,
    );
  });

  it('builds basic stages, plain stages and forwards shortcut options', () => {
    const m = wrap([8, 8, 4], (x) =>
      residualStage(x, {
        name: 'conv2',
        block: 'basic',
        filters: 8,
        blocks: 2,
        stride: 2,
        shortcut: 'A',
      }),
    );
    expect(m.getLayer('conv2_block1_0_pad')).toBeDefined();
    const plain = wrap([8, 8, 4], (x) =>
      residualStage(x, { name: 'conv2', block: 'basic', filters: 8, blocks: 2, plain: true }),
    );
    expect(layerNames(plain).some((n) => n.endsWith('_add'))).toBe(false);
  });
});
