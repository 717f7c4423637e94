import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import { patchCpuKernels, unpatchCpuKernels } from '../src';

describe('patchCpuKernels', () => {
  it('computes the convolution filter gradient bitwise like the stock cpu kernel', () => {
    const cases: [number[], number[], number, 'same' | 'valid'][] = [
      [[2, 7, 7, 3], [3, 3, 3, 5], 1, 'same'],
      [[2, 8, 8, 4], [3, 3, 4, 6], 2, 'same'],
      [[1, 9, 6, 2], [1, 1, 2, 3], 2, 'valid'],
      [[3, 5, 5, 2], [7, 7, 2, 2], 2, 'same'],
    ];
    for (const [xShape, wShape, stride, pad] of cases) {
      const grads = () =>
        tf.tidy(() => {
          const x = tf.randomNormal(xShape, 0, 1, 'float32', 7);
          const w = tf.randomNormal(wShape, 0, 1, 'float32', 8);
          const f = (k: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, stride, pad);
          const dy = tf.randomNormal(f(w).shape, 0, 1, 'float32', 9);
          return tf.grad(f)(w, dy).dataSync();
        });
      unpatchCpuKernels();
      const stock = grads();
      expect(patchCpuKernels()).toBe(true);
      const fast = grads();
      expect(Buffer.from(fast.buffer).equals(Buffer.from(stock.buffer))).toBe(true);
    }
  });
});
