// Degenerate shapes (issue #13, items 7 and 8): empty batches, empty
// reductions, convolutions whose window is larger than the input. Each kernel
// matches tfjs-cpu: the same empty result where cpu returns one, an error
// where the shapes make no sense. The cases that crashed the process run in a
// child process first, so that a crash fails the test rather than the runner.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../src/addon';
import { outputs, runChild } from './child';
import { backendName, ensureNative, on } from './helpers';

beforeAll(ensureNative);

/** Shapes and values of `fn`'s result on a backend, every tensor disposed. */
async function result(backend: string, fn: () => tf.Tensor) {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const t = tf.tidy(fn);
  const out = { shape: t.shape, values: Array.from(t.dataSync()) };
  t.dispose();
  expect(tf.memory().numTensors, `${backend} leaked tensors`).toBe(before);
  return out;
}

const matMulCases: [string, () => tf.Tensor][] = [
  ['M = 0', () => tf.matMul(tf.zeros([0, 3]), tf.ones([3, 4]))],
  ['N = 0', () => tf.matMul(tf.ones([2, 3]), tf.zeros([3, 0]))],
  ['K = 0', () => tf.matMul(tf.zeros([2, 0]), tf.zeros([0, 4]))],
  ['batch 0', () => tf.matMul(tf.zeros([0, 2, 3]), tf.ones([1, 3, 4]))],
  ['transposed, M = 0', () => tf.matMul(tf.zeros([3, 0]), tf.ones([4, 3]), true, true)],
  [
    'fused with bias and relu, M = 0 (a dense layer on an empty batch)',
    () =>
      tf.fused.matMul({
        a: tf.zeros([0, 5]),
        b: tf.ones([5, 7]),
        bias: tf.ones([7]),
        activation: 'relu',
      }),
  ],
  [
    'fused with bias, K = 0',
    () => tf.fused.matMul({ a: tf.zeros([3, 0]), b: tf.zeros([0, 2]), bias: tf.tensor1d([1, -2]) }),
  ],
];

describe('matMul with an empty dimension (item 7)', () => {
  it('does not kill the process (it died with SIGFPE)', () => {
    const r = runChild(
      `await native.register();
       await tf.setBackend(native.backendName);
       for (const [a, b, ta, tb] of [[[0, 3], [3, 4]], [[2, 3], [3, 0]], [[0, 2, 3], [1, 3, 4]], [[3, 0], [4, 3], true, true]]) {
         const c = tf.matMul(tf.zeros(a), tf.ones(b), ta, tb);
         out(c.shape);
       }
       const y = tf.fused.matMul({ a: tf.zeros([0, 5]), b: tf.ones([5, 7]), bias: tf.ones([7]), activation: 'relu' });
       out(y.shape);`,
    );
    expect(r.status, r.summary).toBe(0);
    expect(outputs(r)).toEqual([
      [0, 4],
      [2, 0],
      [0, 2, 4],
      [0, 4],
      [0, 7],
    ]);
  });

  it.each(matMulCases)('%s: the result cpu gives', async (_, fn) => {
    expect(await result(backendName, fn)).toEqual(await result('cpu', fn));
  });

  it('the addon itself writes nothing and does not divide by zero for M, N or batch 0', () => {
    const r = runChild(
      `const addon = require(native.nativeInfo().path);
       const z = new Float32Array(0);
       // [batchA, batchB, m, n, k, transposeA, transposeB, biasLength, activation]
       addon.matMul(z, new Float32Array(12), null, z, [1, 1, 0, 4, 3, 0, 0, 0, 0]);
       addon.matMul(new Float32Array(6), z, null, z, [1, 1, 2, 0, 3, 0, 0, 0, 0]);
       addon.matMul(z, new Float32Array(12), null, z, [0, 1, 2, 4, 3, 0, 0, 0, 0]);
       const c = new Float32Array(8).fill(NaN);
       addon.matMul(z, z, new Float32Array([1, 2, 3, 4]), c, [1, 1, 2, 4, 0, 0, 0, 4, 0]);
       out(Array.from(c));`,
    );
    expect(r.status, r.summary).toBe(0);
    expect(outputs(r)).toEqual([[1, 2, 3, 4, 1, 2, 3, 4]]);
  });
});

describe('convolutions whose window is larger than the input (item 8)', () => {
  // The repro of the issue: x [2,3,6,12], a 4×3 filter, 'valid' → output height 0.
  it("gradients of an empty 'valid' convolution read nothing outside their inputs (a worker thread died with SIGSEGV)", () => {
    // The convolution kernel kept per-thread row data between calls, and the
    // padding rows of a partial tile read a window at image -1 when an
    // earlier call on that thread had left them marked inside the image. In a
    // worker thread that depends on which blocks it ran; one thread and a
    // single partial tile make it deterministic. The first convolution marks
    // rows inside its 4M × 1 image (at rows ~4 million); the input gradient
    // of the empty convolution (batch 1 of the issue's shapes: 18 rows, so
    // 6 padding rows) then read dy, which has no values, ~4M rows × 4 columns
    // × 20 channels past its start.
    const r = runChild(
      `await native.register();
       await tf.setBackend(native.backendName);
       tf.conv2d(tf.ones([1, 1 << 22, 1, 1]), tf.ones([1, 1, 1, 1]), 1, 'valid').dataSync();
       const x = tf.ones([1, 3, 6, 12]);
       const f = tf.ones([4, 3, 12, 20]);
       const dy = tf.zeros([1, 0, 4, 20]);
       const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f },
         { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [1, 3, 6, 12] });
       const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
         { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [4, 3, 12, 20] });
       out([dx.shape, Math.max(...dx.dataSync().map(Math.abs)), dw.shape, Math.max(...dw.dataSync().map(Math.abs))]);`,
      { CONVNETS_NATIVE_THREADS: '1' },
    );
    expect(r.status, r.summary).toBe(0);
    expect(outputs(r)).toEqual([[[1, 3, 6, 12], 0, [4, 3, 12, 20], 0]]);
  });

  it("the gradients match cpu (zeros) for the issue's shapes", async () => {
    const x = tf.tidy(() => tf.randomNormal([2, 3, 6, 12], 0, 1, 'float32', 1));
    const filter = tf.tidy(() => tf.randomNormal([4, 3, 12, 20], 0, 1, 'float32', 2));
    const loss = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'));
    const grads = () => tf.grads(loss)([x, filter]);
    const [cpu, native] = [await on('cpu', grads), await on(backendName, grads)];
    expect(native.map((v) => v.length)).toEqual(cpu.map((v) => v.length));
    expect(native).toEqual(cpu);
    tf.dispose([x, filter]);
  });

  it('an empty output is the empty tensor cpu gives', async () => {
    const fn = () =>
      tf.conv2d(
        tf.ones([2, 3, 6, 12]) as tf.Tensor4D,
        tf.ones([4, 3, 12, 20]) as tf.Tensor4D,
        1,
        'valid',
      );
    expect(await result(backendName, fn)).toEqual(await result('cpu', fn));
    expect((await result(backendName, fn)).shape).toEqual([2, 0, 4, 20]);
  });

  it('a window larger than the padded input throws, naming the sizes (cpu returns a negative shape)', async () => {
    await tf.setBackend(backendName);
    const before = tf.memory().numTensors;
    expect(() =>
      tf.tidy(() =>
        tf.conv2d(
          tf.ones([1, 3, 3, 1]) as tf.Tensor4D,
          tf.ones([5, 5, 1, 1]) as tf.Tensor4D,
          1,
          'valid',
        ),
      ),
    ).toThrow(/Conv2D: the output would be -1×-1: the 5×5 window .* larger than the 3×3 input/);
    expect(() =>
      tf.tidy(() => tf.maxPool(tf.ones([1, 2, 2, 3]) as tf.Tensor4D, [4, 4], 1, 'valid')),
    ).toThrow(/MaxPool: the output would be -1×-1/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a gradient whose dy does not have the output shape throws rather than read past dy', async () => {
    await tf.setBackend(backendName);
    expect(() =>
      tf.tidy(() =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.ones([2, 5, 5, 3]), dy: tf.ones([2, 2, 2, 4]) },
            { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] },
          ),
      ),
    ).toThrow(
      /dy has shape \[2, 2, 2, 4\], expected the convolution's output shape \[2, 3, 3, 4\]/,
    );
  });
});

describe('reductions over an empty axis', () => {
  it.each([
    ['mean over an empty axis', () => tf.mean(tf.zeros([2, 0, 3]), 1)],
    ['mean of an empty tensor', () => tf.mean(tf.zeros([0]))],
    ['mean over empty leading axes', () => tf.mean(tf.zeros([0, 4]), 0)],
    ['sum over an empty axis', () => tf.sum(tf.zeros([3, 0]), 1)],
  ])('%s: 0 as on cpu (the means were NaN)', async (_, fn) => {
    const native = await result(backendName, fn);
    expect(native).toEqual(await result('cpu', fn));
    expect(native.values.every((v) => v === 0)).toBe(true);
  });
});

describe('the addon checks what it is given', () => {
  it('rejects buffers shorter than the geometry, naming the argument and the sizes', () => {
    const { addon } = loadAddon();
    if (!addon) throw new Error('the native addon did not load');
    // [batch, inH, inW, inC, kH, kW, outC, outH, outW, strides, dilations, padTop, padLeft, activation]
    const geometry = [1, 4, 4, 2, 3, 3, 5, 2, 2, 1, 1, 1, 1, 0, 0, 0];
    expect(() =>
      addon.conv2d(
        new Float32Array(31),
        new Float32Array(90),
        null,
        new Float32Array(20),
        geometry,
      ),
    ).toThrow('conv2d: x has 31 values but the shape needs 32');
    expect(() =>
      addon.matMul(
        new Float32Array(6),
        new Float32Array(5),
        null,
        new Float32Array(4),
        [1, 1, 2, 2, 3, 0, 0, 0, 0],
      ),
    ).toThrow('matMul: b has 5 values but the shape needs 6');
    const negative = [1, 3, 3, 1, 5, 5, 1, -1, -1, 1, 1, 1, 1, 0, 0, 0];
    expect(() =>
      addon.conv2d(new Float32Array(9), new Float32Array(25), null, new Float32Array(1), negative),
    ).toThrow('conv2d: output height is -1, expected at least 0');
  });
});
