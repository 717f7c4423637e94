import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
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

describe('convolution kernels match the cpu backend', () => {
  for (const c of cases(24, 7)) {
    it(label(c), async () => {
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
        const df = tf.grad((filter: tf.Tensor) =>
          tf.sum(tf.mul(conv(x, filter as tf.Tensor4D), dy)),
        )(f);
        return [y, fused, dx, df];
      };
      const cpu = await on('cpu', run);
      const native = await on(backendName, run);
      const terms = c.k * c.k * Math.max(c.cin, c.cout) * c.batch;
      ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'].forEach(
        (name, i) => {
          if (cpu[i]) expectClose(native[i], cpu[i], terms, name);
        },
      );
    });
  }
});
