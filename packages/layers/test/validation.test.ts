import * as tf from '@tensorflow/tfjs-core';
import { input } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  basicBlock,
  bottleneckBlock,
  convBn,
  convBnRelu,
  LocalResponseNormalization,
  residualStage,
  shortcut,
  summarize,
  ZeroPadChannels,
} from '../src';
import { wrap } from './helpers';

const x = () => input({ shape: [8, 8, 4] });

describe('options are validated before any layer is built', () => {
  it.each([
    [
      'negative filters',
      () => convBn(x(), { name: 'c', filters: -3 }),
      /convBn: option "filters" must be a positive integer; received -3/,
    ],
    [
      'fractional filters',
      () => convBnRelu(x(), { name: 'c', filters: 2.5 }),
      /"filters" must be a positive integer; received 2.5/,
    ],
    [
      'stride 3 in a block',
      () => basicBlock(x(), { name: 'b', filters: 4, stride: 3 }),
      /basicBlock: option "stride" must be one of 1, 2; received 3/,
    ],
    [
      'stride 3 in a shortcut',
      () => shortcut(x(), { name: 's', filters: 4, stride: 3 }),
      /shortcut: option "stride" must be one of 1, 2; received 3/,
    ],
    [
      'option A reducing channels',
      () => basicBlock(x(), { name: 'b', filters: 2, shortcut: 'A' }),
      /option "A" cannot reduce channels: the input has 4, filters is 2/,
    ],
    [
      'an unknown shortcut option',
      () => basicBlock(x(), { name: 'b', filters: 4, shortcut: 'D' as 'A' }),
      /option "shortcut" must be one of "A", "B", "C"; received "D"/,
    ],
    [
      'an unknown option (typo)',
      () => convBn(x(), { name: 'c', filters: 4, strides: 2 } as never),
      /convBn: unknown option "strides"; allowed options are "name", "filters"/,
    ],
    [
      "the old name of convBn's stride",
      () => convBnRelu(x(), { name: 'c', filters: 4, strides: 2 } as never),
      /convBnRelu: unknown option "strides"; allowed options are .*\("strides" is now "stride"\)/,
    ],
    [
      "the old name of shortcut's shortcut option",
      () => shortcut(x(), { name: 's', filters: 4, option: 'A' } as never),
      /shortcut: unknown option "option"; allowed options are .*\("option" is now "shortcut"\)/,
    ],
    [
      'an unknown block option',
      () => bottleneckBlock(x(), { name: 'k', filters: 4, expansion: 2 } as never),
      /bottleneckBlock: unknown option "expansion"/,
    ],
    [
      'a bad strideIn',
      () => bottleneckBlock(x(), { name: 'k', filters: 4, strideIn: '2x2' as '1x1' }),
      /option "strideIn" must be one of "3x3", "1x1"; received "2x2"/,
    ],
    [
      'strideIn on a basic stage',
      () =>
        residualStage(x(), { name: 's', block: 'basic', filters: 4, blocks: 2, strideIn: '1x1' }),
      /"strideIn" applies to bottleneck blocks only/,
    ],
    [
      'zero blocks',
      () => residualStage(x(), { name: 's', block: 'basic', filters: 4, blocks: 0 }),
      /residualStage: option "blocks" must be a positive integer; received 0/,
    ],
    [
      'an unknown block kind',
      () => residualStage(x(), { name: 's', block: 'dense' as 'basic', filters: 4, blocks: 1 }),
      /option "block" must be one of "basic", "bottleneck"; received "dense"/,
    ],
    [
      'a missing name',
      () => convBn(x(), { filters: 4 } as never),
      /convBn: option "name" must be a non-empty string.*received undefined/,
    ],
    [
      'a name with a slash',
      () => convBn(x(), { name: 'a/b', filters: 4 }),
      /option "name" must be a non-empty string without spaces or "\/"; received "a\/b"/,
    ],
    [
      'a bad padding',
      () => convBn(x(), { name: 'c', filters: 4, padding: 'full' as 'same' }),
      /option "padding" must be "symmetric", "same", "valid"/,
    ],
    [
      'a negative padding',
      () => convBn(x(), { name: 'c', filters: 4, padding: -1 }),
      /option "padding" must be a non-negative integer; received -1/,
    ],
    [
      'a kernel size pair of three',
      () => convBn(x(), { name: 'c', filters: 4, kernelSize: [3, 3, 3] as never }),
      /option "kernelSize" must be an integer or a \[height, width\] pair; received \[3, 3, 3\]/,
    ],
    [
      'BN momentum of 1',
      () => convBn(x(), { name: 'c', filters: 4, bnMomentum: 1 }),
      /option "bnMomentum" must be a number in \[0, 1\); received 1/,
    ],
    [
      'BN epsilon of 0',
      () => basicBlock(x(), { name: 'b', filters: 4, bnEpsilon: 0 }),
      /option "bnEpsilon" must be a finite number greater than 0; received 0/,
    ],
    [
      'a non-boolean flag',
      () => basicBlock(x(), { name: 'b', filters: 4, plain: 'yes' as never }),
      /option "plain" must be true or false; received "yes"/,
    ],
    [
      'a concrete tensor as input',
      () => convBn(tf.zeros([1, 8, 8, 4]) as never, { name: 'c', filters: 4 }),
      /the input must be a SymbolicTensor/,
    ],
    [
      'a rank-3 input',
      () => convBn(input({ shape: [8, 4] }) as never, { name: 'c', filters: 4 }),
      /the input must be rank 4, \[batch, height, width, channels\].*received shape \[null, 8, 4\]/,
    ],
    [
      'an input smaller than the kernel',
      () =>
        convBn(input({ shape: [2, 2, 1] }), {
          name: 'c',
          filters: 4,
          kernelSize: 7,
          padding: 'valid',
        }),
      /convBn "c": the input is 2 pixels high, too small for a 7-pixel kernel with 0 pixels of padding; expected at least 7/,
    ],
    [
      'an even LRN size',
      () => new LocalResponseNormalization({ size: 4 }),
      /option "size" must be an odd positive integer; received 4/,
    ],
    [
      'a negative LRN alpha',
      () => new LocalResponseNormalization({ alpha: -1 }),
      /option "alpha" must be a finite number ≥ 0; received -1/,
    ],
    [
      'zero output channels',
      () => new ZeroPadChannels({ outChannels: 0 }),
      /option "outChannels" must be a positive integer; received 0/,
    ],
    [
      'summarize of a non-model',
      () => summarize({} as never),
      /summarize: expected a tf.LayersModel/,
    ],
  ])('rejects %s', (_what, build, message) => {
    expect(build).toThrow(message);
  });

  it('ZeroPadChannels refuses to drop channels when applied', () => {
    expect(() => new ZeroPadChannels({ name: 'z', outChannels: 2 }).apply(x())).toThrow(
      /option A cannot reduce channels: the input has 4, outChannels is 2/,
    );
  });

  it('a rejected option builds no layer', () => {
    // Every layer built gets a fresh auto-numbered input; a failed call must leave no stray layers behind,
    // so a model built afterwards has only the layers it asked for.
    expect(() => basicBlock(x(), { name: 'b', filters: 4, stride: 3 })).toThrow();
    const m = wrap([8, 8, 4], (t) => convBn(t, { name: 'ok', filters: 2 }));
    expect(m.layers.map((l) => l.name).slice(1)).toEqual(['ok_conv', 'ok_bn']);
  });
});
