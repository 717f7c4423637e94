import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, ensureNative, expectClose, on, randomValues } from './helpers';

beforeAll(ensureNative);

/** The native backend's counts of deferred outputs computed and skipped. */
function stats(): { computed: number; skipped: number } {
  return {
    ...(
      tf.engine().findBackend(backendName) as unknown as {
        deferredStats: { computed: number; skipped: number };
      }
    ).deferredStats,
  };
}

const xShape: [number, number, number, number] = [2, 9, 9, 3];
const fShape: [number, number, number, number] = [3, 3, 3, 16];
const x = () => tf.tensor4d(randomValues(2 * 9 * 9 * 3, 1), xShape);
const f = () => tf.tensor4d(randomValues(3 * 3 * 3 * 16, 2), fShape);
const dy = () => tf.tensor4d(randomValues(2 * 9 * 9 * 16, 3), [2, 9, 9, 16]);
const dyStrided = () => tf.tensor4d(randomValues(2 * 5 * 5 * 16, 4), [2, 5, 5, 16]);

describe('deferred input gradients', () => {
  it('never computes the input gradient of a first layer that nothing reads', async () => {
    // tf.fused.conv2d's custom gradient returns dx as well as the filter gradient.
    const filterGrad = () =>
      tf.grad((filter: tf.Tensor) =>
        tf.sum(
          tf.fused.conv2d({
            x: x(),
            filter: filter as tf.Tensor4D,
            strides: 1,
            pad: 'same',
            bias: tf.ones([16]),
          }),
        ),
      )(f());
    const [cpu] = await on('cpu', filterGrad);
    const before = stats();
    const [native] = await on(backendName, filterGrad);
    expect(stats().computed).toBe(before.computed);
    expect(stats().skipped).toBe(before.skipped + 1);
    expectClose(native, cpu, 2 * 9 * 9, 'Conv2DBackpropFilter');
  });

  it('computes it once when it is read, after its inputs were disposed', async () => {
    await tf.setBackend(backendName);
    const before = stats();
    const dx = tf.tidy(() => tf.conv2dTranspose(dy(), f(), xShape, 1, 'same'));
    expect(stats().computed).toBe(before.computed);
    const values = dx.dataSync() as Float32Array;
    expect(stats().computed).toBe(before.computed + 1);
    dx.dataSync();
    expect(stats().computed).toBe(before.computed + 1);
    dx.dispose();
    const [cpu] = await on('cpu', () => tf.conv2dTranspose(dy(), f(), xShape, 1, 'same'));
    expectClose(values, cpu, 9 * 16 * 2, 'Conv2DBackpropInput');
  });

  it('is computed when another kernel reads it', async () => {
    const run = () => tf.relu(tf.conv2dTranspose(dy(), f(), xShape, 1, 'same'));
    const [cpu] = await on('cpu', run);
    const [native] = await on(backendName, run);
    expectClose(native, cpu, 9 * 16 * 2, 'Conv2DBackpropInput then Relu');
  });

  it('releases its inputs whether or not it is read: no tensor or data buffer leaks', async () => {
    await tf.setBackend(backendName);
    const before = tf.memory();
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => void tf.conv2dTranspose(dy(), f(), xShape, 1, 'same'));
      const read = tf.tidy(() => tf.conv2dTranspose(dyStrided(), f(), xShape, 2, 'same'));
      read.dataSync();
      read.dispose();
      const late = tf.tidy(() => tf.conv2dTranspose(dy(), f(), xShape, 1, 'same'));
      late.dispose();
    }
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
    expect(after.numBytes).toBe(before.numBytes);
  });
});
