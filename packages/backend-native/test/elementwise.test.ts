import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, ensureNative, expectClose, on, randomValues } from './helpers';

beforeAll(ensureNative);

const t = (shape: number[], seed: number) =>
  tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);

/** Each case runs the same tfjs code on cpu and on the native backend. */
const cases: [string, () => tf.Tensor][] = [
  ['Add, same shape', () => tf.add(t([3, 5, 7, 9], 1), t([3, 5, 7, 9], 2))],
  ['Sub, channel broadcast', () => tf.sub(t([2, 5, 7, 9], 1), t([9], 2))],
  ['Multiply, both sides broadcast', () => tf.mul(t([2, 1, 7, 1], 1), t([1, 5, 1, 3], 2))],
  ['RealDiv, scalar', () => tf.div(t([4, 33], 1), tf.scalar(1.7))],
  ['RealDiv, scalar numerator', () => tf.div(tf.scalar(2), tf.add(t([4, 33], 1), 3))],
  [
    'Maximum and Minimum',
    () => tf.add(tf.maximum(t([6, 5], 1), t([5], 2)), tf.minimum(t([6, 1], 3), t([6, 5], 4))),
  ],
  ['SquaredDifference', () => tf.squaredDifference(t([2, 3, 4, 5], 1), t([1, 1, 1, 5], 2))],
  [
    'Relu, Relu6, Step via grad',
    () => tf.grad((x: tf.Tensor) => tf.sum(tf.relu(x)))(t([40, 17], 1)),
  ],
  [
    'Square, Neg, Abs, Sqrt, Rsqrt',
    () =>
      tf.addN([
        tf.square(t([99], 1)),
        tf.neg(t([99], 2)),
        tf.sqrt(tf.abs(t([99], 3))),
        tf.rsqrt(tf.add(tf.abs(t([99], 4)), 0.5)),
      ]),
  ],
  [
    'Exp, Log, Reciprocal',
    () => tf.add(tf.exp(t([50], 1)), tf.log(tf.reciprocal(tf.add(tf.abs(t([50], 2)), 0.1)))),
  ],
  ['Sum over N·H·W (column)', () => tf.sum(t([8, 17, 15, 19], 1), [0, 1, 2])],
  ['Mean over N·H·W, keepDims', () => tf.mean(t([8, 17, 15, 19], 1), [0, 1, 2], true)],
  ['Sum over the last axis', () => tf.sum(t([13, 7, 31], 1), -1)],
  ['Mean over H·W (global pooling)', () => tf.mean(t([3, 9, 9, 10], 1), [1, 2])],
  ['Sum over everything', () => tf.sum(t([3, 9, 9, 10], 1))],
  ['Sum over non-contiguous axes (cpu fallback)', () => tf.sum(t([3, 4, 5], 1), [0, 2])],
  ['Tile', () => tf.tile(t([1, 1, 3, 5], 1), [4, 3, 2, 1])],
  ['Tile, a channel vector over N·H·W', () => tf.tile(t([1, 1, 1, 16], 1), [6, 9, 7, 1])],
  ['Tile, one block repeated (large)', () => tf.tile(t([1, 3, 5], 1), [9000, 1, 1])],
  ['Tile, 1-D', () => tf.tile(t([7], 1), [5])],
  ['Tile, inner axis repeated (general path)', () => tf.tile(t([2, 1, 3], 1), [1, 4, 2])],
  ['Step with alpha over an odd length', () => tf.step(t([1001], 1), 0.25)],
  ['Sum over the last axis, long odd rows', () => tf.sum(t([5, 1001], 1), -1)],
  ['Sum over the last axis, many short rows', () => tf.sum(t([4099, 13], 1), -1)],
  ['Sum over N·H·W, odd count, wide rows', () => tf.sum(t([3, 101, 1500], 1), [0, 1])],
  ['Mean over N·H·W, large', () => tf.mean(t([16, 33, 31, 16], 1), [0, 1, 2])],
  ['Slice, strided', () => tf.slice(t([4, 9, 9, 6], 1), [1, 2, 3, 1], [2, 5, 4, 3])],
  [
    'PadV2',
    () =>
      tf.pad(
        t([2, 5, 5, 3], 1),
        [
          [0, 0],
          [1, 2],
          [2, 1],
          [3, 4],
        ],
        0.5,
      ),
  ],
  [
    'FusedBatchNorm',
    () =>
      tf.batchNorm(
        t([4, 5, 5, 6], 1),
        t([6], 2),
        tf.add(tf.abs(t([6], 3)), 0.1),
        t([6], 4),
        t([6], 5),
        1e-3,
      ),
  ],
  [
    'FusedBatchNorm without offset and scale',
    () => tf.batchNorm(t([4, 6], 1), t([6], 2), tf.add(tf.abs(t([6], 3)), 0.1)),
  ],
  ['AddN', () => tf.addN([t([3, 4, 5], 1), t([3, 4, 5], 2), t([3, 4, 5], 3)])],
  ['BatchMatMul, transposes', () => tf.matMul(t([3, 7, 11], 1), t([3, 13, 7], 2), true, true)],
  ['BatchMatMul, broadcast batch', () => tf.matMul(t([1, 9, 20], 1), t([4, 20, 6], 2))],
  [
    '_FusedMatMul, bias and relu',
    () =>
      tf.fused.matMul({
        a: t([64, 33], 1),
        b: t([33, 10], 2),
        bias: t([10], 3),
        activation: 'relu',
      }),
  ],
  [
    '_FusedMatMul, elu (cpu activation)',
    () =>
      tf.fused.matMul({
        a: t([5, 33], 1),
        b: t([10, 33], 2),
        transposeB: true,
        bias: t([10], 3),
        activation: 'elu',
      }),
  ],
  [
    '_FusedMatMul, per-element bias (cpu Add) then relu',
    () =>
      tf.fused.matMul({
        a: t([6, 33], 1),
        b: t([33, 10], 2),
        bias: t([6, 10], 3),
        activation: 'relu',
      }),
  ],
  [
    'FusedConv2D, per-position bias (cpu Add) then relu',
    () =>
      tf.fused.conv2d({
        x: t([2, 6, 6, 3], 1) as tf.Tensor4D,
        filter: t([3, 3, 3, 8], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: t([6, 6, 8], 3),
        activation: 'relu',
      }),
  ],
  [
    'FusedConv2D, scalar bias and leakyrelu (cpu activation)',
    () =>
      tf.fused.conv2d({
        x: t([2, 6, 6, 3], 1) as tf.Tensor4D,
        filter: t([3, 3, 3, 8], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'valid',
        bias: t([1], 3),
        activation: 'leakyrelu',
        leakyreluAlpha: 0.1,
      }),
  ],
  ['MaxPool 3×3/2 same', () => tf.maxPool(t([2, 9, 8, 5], 1) as tf.Tensor4D, 3, 2, 'same')],
  ['AvgPool 3×3/1 same', () => tf.avgPool(t([2, 7, 7, 4], 1) as tf.Tensor4D, 3, 1, 'same')],
  [
    'AvgPool 2×2/2 valid, odd size',
    () => tf.avgPool(t([3, 9, 7, 6], 1) as tf.Tensor4D, 2, 2, 'valid'),
  ],
  [
    'MaxPoolGrad 3×3/2 same',
    () =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), t([2, 5, 4, 5], 2))),
      )(t([2, 9, 8, 5], 1)),
  ],
  [
    'MaxPoolGrad 2×2/2 valid',
    () =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), t([1, 4, 4, 3], 2))),
      )(t([1, 8, 9, 3], 1)),
  ],
  [
    'AvgPoolGrad 3×3/2 same',
    () =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, 3, 2, 'same'), t([2, 5, 4, 5], 2))),
      )(t([2, 9, 8, 5], 1)),
  ],
  [
    'int32 add (cpu fallback)',
    () =>
      tf.cast(
        tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([4, 5, 6], [3], 'int32')),
        'float32',
      ),
  ],
];

describe('element-wise, reduction and data-movement kernels match the cpu backend', () => {
  for (const [name, fn] of cases) {
    it(name, async () => {
      const [cpu] = await on('cpu', fn);
      const [native] = await on(backendName, fn);
      expectClose(native, cpu, 64, name);
    });
  }

  it('propagates NaN through Maximum and Step like the cpu kernels', async () => {
    const fn = () =>
      tf.stack([
        tf.maximum(tf.tensor([NaN, 1]), tf.tensor([0, NaN])),
        tf.step(tf.tensor([NaN, -1])),
      ]);
    const [cpu] = await on('cpu', fn);
    const [native] = await on(backendName, fn);
    expect(Array.from(native)).toEqual(Array.from(cpu));
    // Long enough for the vector loop, NaN in every lane position and in the tail.
    const values = Float32Array.from({ length: 1003 }, (_, i) => (i % 7 === 0 ? NaN : (i % 5) - 2));
    const step = () => tf.step(tf.tensor1d(values), 0.25);
    const [cpuStep] = await on('cpu', step);
    const [nativeStep] = await on(backendName, step);
    expect(Array.from(nativeStep)).toEqual(Array.from(cpuStep));
  });
});
