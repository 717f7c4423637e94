import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { basicBlock, LocalResponseNormalization, ZeroPadChannels } from '../src';
import { wrap } from './helpers';

describe('ZeroPadChannels (option A)', () => {
  it('equals the input subsampled at stride 2 and zero-padded, exactly', () => {
    const [h, w, c, out] = [5, 5, 2, 5];
    const values = Array.from({ length: h * w * c }, (_, i) => i + 1);
    const x = tf.tensor4d(values, [1, h, w, c]);
    const y = new ZeroPadChannels({ outChannels: out, stride: 2 }).apply(x) as tf.Tensor;
    // Expected, element by element: rows/columns 0, 2, 4 of the input, then zeros.
    const expected: number[] = [];
    for (let i = 0; i < h; i += 2)
      for (let j = 0; j < w; j += 2)
        for (let k = 0; k < out; k++) expected.push(k < c ? values[(i * w + j) * c + k] : 0);
    expect(y.shape).toEqual([1, 3, 3, out]);
    expect(Array.from(y.dataSync())).toEqual(expected);
    tf.dispose([x, y]);
  });

  it('is what a basic block with option A adds to its branch', () => {
    const m = wrap([4, 4, 2], (x) =>
      basicBlock(x, { name: 'b', filters: 3, stride: 2, shortcut: 'A' }),
    );
    const padLayer = m.getLayer('b_0_pad');
    const x = tf.randomNormal([2, 4, 4, 2], 0, 1, 'float32', 7);
    const y = padLayer.apply(x) as tf.Tensor;
    const sub = tf.stridedSlice(x, [0, 0, 0, 0], [2, 4, 4, 2], [1, 2, 2, 1]);
    const expected = tf.concat([sub, tf.zeros([2, 2, 2, 1])], 3);
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, y, sub, expected]);
    m.dispose();
  });

  it("channelPadding 'both' puts the zeros on both sides, as PyTorch CIFAR ResNets' F.pad", () => {
    // Three rows, one column, channels [1, 2], [3, 4], [5, 6]; stride 2 keeps rows 0 and 2.
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 3, 1, 2]);
    const run = (outChannels: number, channelPadding?: 'end' | 'both') => {
      const y = new ZeroPadChannels({ outChannels, stride: 2, channelPadding }).apply(
        x,
      ) as tf.Tensor;
      const values = Array.from(y.dataSync());
      expect(y.shape).toEqual([1, 2, 1, outChannels]);
      y.dispose();
      return values;
    };
    // 4 extra channels: 2 before, 2 after (F.pad(…, (0, 0, 0, 0, 2, 2)) for planes = 8).
    expect(run(6, 'both')).toEqual([0, 0, 1, 2, 0, 0, 0, 0, 5, 6, 0, 0]);
    // An odd count: the extra zero goes after.
    expect(run(5, 'both')).toEqual([0, 1, 2, 0, 0, 0, 5, 6, 0, 0]);
    // 'end', the default: every zero after the input's channels.
    expect(run(6, 'end')).toEqual([1, 2, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0]);
    expect(run(6)).toEqual(run(6, 'end'));
    x.dispose();
  });

  it('keeps odd sizes like a strided 1×1 convolution: ceil(n / stride)', () => {
    const layer = new ZeroPadChannels({ outChannels: 8, stride: 2 });
    expect(layer.computeOutputShape([null, 7, 9, 4])).toEqual([null, 4, 5, 8]);
  });
});

describe('LocalResponseNormalization', () => {
  it("matches AlexNet's formula computed by hand", () => {
    const [c, size, alpha, beta, k] = [7, 5, 0.01, 0.75, 2];
    const values = Array.from({ length: 2 * c }, (_, i) => Math.sin(i + 1) * 3);
    const x = tf.tensor4d(values, [1, 1, 2, c]);
    const layer = new LocalResponseNormalization({ size, alpha, beta, k });
    const y = layer.apply(x) as tf.Tensor;
    const expected = values.map((v, idx) => {
      const pixel = Math.floor(idx / c);
      const ch = idx % c;
      let sum = 0;
      for (let j = Math.max(0, ch - 2); j <= Math.min(c - 1, ch + 2); j++)
        sum += values[pixel * c + j] ** 2;
      return v / (k + alpha * sum) ** beta;
    });
    const got = Array.from(y.dataSync());
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i], 5));
    tf.dispose([x, y]);
  });

  it('defaults to the AlexNet parameters', () => {
    const layer = new LocalResponseNormalization();
    expect([layer.size, layer.alpha, layer.beta, layer.k]).toEqual([5, 1e-4, 0.75, 2]);
  });
});
