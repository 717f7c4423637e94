import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendName, ensureNative, expectClose, on, randomValues, rng } from './helpers';

beforeAll(ensureNative);

type Pad =
  'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  batch: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  pad: Pad;
  dilation: number;
}

/** Randomised shapes: odd sizes, strides 1 and 2, 1×1/3×3/7×7, all padding kinds, batch 1 and many. */
function cases(count: number, seed: number): Case[] {
  const next = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const k = pick([1, 3, 3, 7]);
    const stride = pick([1, 2]);
    const h = k + Math.floor(next() * 12);
    const w = k + Math.floor(next() * 12);
    const padKind = pick(['same', 'valid', 'explicit'] as const);
    const p = () => Math.floor(next() * Math.min(k, 3));
    const pad: Pad =
      padKind === 'explicit'
        ? [
            [0, 0],
            [p(), p()],
            [p(), p()],
            [0, 0],
          ]
        : padKind;
    out.push({
      batch: pick([1, 2, 5]),
      h,
      w,
      cin: pick([1, 3, 4, 16, 19]),
      cout: pick([1, 8, 16, 33]),
      k,
      stride,
      pad,
      dilation: stride === 1 && k === 3 && padKind !== 'explicit' && next() < 0.2 ? 2 : 1,
    });
  }
  return out;
}

const label = (c: Case) =>
  `${c.batch}x${c.h}x${c.w}x${c.cin} → ${c.cout}, ${c.k}×${c.k}/${c.stride} d${c.dilation} pad ${JSON.stringify(c.pad)}`;

/** Runs the four convolution kernels on cpu and native and compares them. */
async function check(c: Case) {
  const xShape: [number, number, number, number] = [c.batch, c.h, c.w, c.cin];
  const fShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
  const xv = randomValues(tf.util.sizeFromShape(xShape), 1);
  const fv = randomValues(tf.util.sizeFromShape(fShape), 2);
  const bv = randomValues(c.cout, 3);
  const run = () => {
    const x = tf.tensor4d(xv, xShape);
    const f = tf.tensor4d(fv, fShape);
    const b = tf.tensor1d(bv);
    const conv = (input: tf.Tensor4D, filter: tf.Tensor4D) =>
      tf.conv2d(input, filter, c.stride, c.pad, 'NHWC', c.dilation);
    const y = conv(x, f);
    const fused = tf.fused.conv2d({
      x,
      filter: f,
      strides: c.stride,
      pad: c.pad,
      dilations: c.dilation,
      bias: b,
      activation: 'relu',
    });
    const dy = tf.tensor(randomValues(y.size, 4), y.shape);
    if (c.dilation > 1) return [y, fused];
    const dx = tf.conv2dTranspose(
      dy as tf.Tensor4D,
      f,
      xShape,
      c.stride,
      c.pad as 'same' | 'valid',
    );
    const df = tf.grad((filter: tf.Tensor) => tf.sum(tf.mul(conv(x, filter as tf.Tensor4D), dy)))(
      f,
    );
    return [y, fused, dx, df];
  };
  const cpu = await on('cpu', run);
  const native = await on(backendName, run);
  const terms = c.k * c.k * Math.max(c.cin, c.cout) * c.batch;
  ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'].forEach((name, i) => {
    if (cpu[i]) expectClose(native[i], cpu[i], terms, name);
  });
}

describe('convolution kernels match the cpu backend', () => {
  for (const c of cases(24, 7)) it(label(c), () => check(c));
});

const shape = (
  batch: number,
  h: number,
  cin: number,
  cout: number,
  k: number,
  stride: number,
  pad: Pad,
  dilation = 1,
  w = h,
): Case => ({ batch, h, w, cin, cout, k, stride, pad, dilation });

/**
 * Shapes aimed at the direct kernels' special cases: one- and two-vector
 * column slivers (16, 32, 48, 64 output channels), filter rows read as one
 * run (windows inside the image), passes over taps and over channel chunks
 * (more than 256 channels), several row blocks and filter-gradient chunks
 * (over 512 output pixels), and output channel counts the direct filter
 * gradient does not cover.
 */
const targeted: Case[] = [
  shape(2, 20, 16, 16, 3, 1, 'same'),
  shape(1, 14, 32, 48, 3, 1, 'same'),
  shape(1, 12, 64, 64, 3, 1, 'same'),
  shape(1, 9, 100, 32, 3, 1, 'valid'),
  shape(2, 5, 300, 16, 1, 1, 'valid'),
  shape(2, 17, 3, 64, 7, 2, 'valid'),
  shape(2, 16, 16, 32, 3, 2, 'valid'),
  shape(
    3,
    11,
    19,
    33,
    3,
    2,
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
    1,
    13,
  ),
  shape(1, 13, 24, 16, 5, 1, 'same', 2),
  shape(2, 9, 5, 16, 3, 1, 'valid', 1, 30),
];

describe("convolution kernels match the cpu backend on the direct kernels' special cases", () => {
  for (const c of targeted) it(label(c), () => check(c));
});

describe('convolutions over empty channel counts', () => {
  for (const [cin, cout] of [
    [0, 16],
    [3, 0],
    [0, 0],
  ]) {
    it(`${cin} → ${cout} channels: forward, both gradients and the fused bias + relu`, async () => {
      const run = () => {
        const x = tf.ones([1, 4, 4, cin]) as tf.Tensor4D;
        const f = tf.ones([3, 3, cin, cout]) as tf.Tensor4D;
        const conv = (input: tf.Tensor4D, filter: tf.Tensor4D) =>
          tf.conv2d(input, filter, 1, 'same');
        return [
          conv(x, f),
          tf.grad((filter: tf.Tensor) => tf.sum(conv(x, filter as tf.Tensor4D)))(f),
          tf.grad((input: tf.Tensor) => tf.sum(conv(input as tf.Tensor4D, f)))(x),
          tf.fused.conv2d({
            x,
            filter: f,
            strides: 1,
            pad: 'same',
            bias: tf.ones([cout]),
            activation: 'relu',
          }),
        ];
      };
      const cpu = await on('cpu', run);
      const native = await on(backendName, run);
      cpu.forEach((values, i) => expect(Array.from(native[i])).toEqual(Array.from(values)));
    });
  }
});
