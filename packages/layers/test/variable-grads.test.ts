import * as tf from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { basicBlock, convBnRelu, variableGrads } from '../src';
import { wrap } from './helpers';

function smallResidualNet() {
  return wrap([8, 8, 3], (x) => {
    let h = convBnRelu(x, { filters: 4, kernelSize: 3, name: 'stem' });
    h = basicBlock(h, { filters: 8, stride: 2, name: 'block' });
    return layers
      .dense({ units: 5, name: 'fc' })
      .apply(layers.globalAveragePooling2d({}).apply(h)) as never;
  });
}

describe('variableGrads', () => {
  it('gives bitwise the same loss and gradients as tf.variableGrads on a residual net in training mode', () => {
    const m = smallResidualNet();
    const x = tf.randomNormal([3, 8, 8, 3], 0, 1, 'float32', 7);
    const labels = tf.oneHot(tf.tensor1d([0, 3, 4], 'int32'), 5);
    const loss = () =>
      tf.losses.softmaxCrossEntropy(
        labels,
        m.apply(x, { training: true }) as tf.Tensor,
      ) as tf.Scalar;
    const vars = m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const stock = tf.variableGrads(loss, vars);
    const ours = variableGrads(loss, vars);
    expect(ours.value.dataSync()).toEqual(stock.value.dataSync());
    expect(Object.keys(ours.grads).sort()).toEqual(Object.keys(stock.grads).sort());
    expect(Object.keys(ours.grads)).toHaveLength(vars.length);
    for (const name of Object.keys(stock.grads)) {
      expect(ours.grads[name]!.dataSync(), name).toEqual(stock.grads[name]!.dataSync());
    }
    tf.dispose([
      x,
      labels,
      stock.value,
      ours.value,
      ...Object.values(stock.grads),
      ...Object.values(ours.grads),
    ] as tf.Tensor[]);
  });

  it('leaves no tensor behind, also when it throws', () => {
    const w = tf.variable(tf.ones([4, 4]), true, 'vg_leak_w');
    const x = tf.randomNormal([4, 4], 0, 1, 'float32', 1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { value, grads } = variableGrads(() => tf.sum(tf.relu(tf.matMul(x, w))), [w]);
      tf.dispose([value, grads['vg_leak_w']!]);
    }
    expect(tf.memory().numTensors).toBe(before);
    // StridedSlice has no registered gradient in tfjs 4.x.
    expect(() =>
      variableGrads(() => tf.sum(tf.stridedSlice(tf.mul(x, w), [0, 0], [4, 4], [2, 2])), [w]),
    ).toThrow(/no gradient is registered for kernel StridedSlice/);
    expect(() => variableGrads(() => tf.mul(x, w) as unknown as tf.Scalar, [w])).toThrow(
      /must return a scalar tensor, got a rank-2 tensor/,
    );
    // f itself throws after recording kernels that saved tensors.
    expect(() =>
      variableGrads(() => {
        tf.relu(tf.matMul(x, w));
        throw new Error('boom in f');
      }, [w]),
    ).toThrow(/boom in f/);
    expect(tf.memory().numTensors).toBe(before);
    // The tape was cleared: stock autodiff still works and agrees.
    const stock = tf.variableGrads(() => tf.sum(tf.mul(x, w)), [w]);
    expect(stock.grads['vg_leak_w']!.dataSync()).toEqual(x.dataSync());
    tf.dispose([stock.value, stock.grads['vg_leak_w']!, x, w]);
  });

  it('maps non-trainable variables to null, leaves out unreached ones, and refuses an all-frozen list', () => {
    const a = tf.variable(tf.scalar(2), true, 'vg_a');
    const b = tf.variable(tf.scalar(5), true, 'vg_b_unused');
    const frozen = tf.variable(tf.scalar(3), false, 'vg_frozen');
    const { value, grads } = variableGrads(() => tf.mul(tf.square(a), frozen), [a, b, frozen]);
    // d(3a²)/da = 6a = 12.
    expect(value.dataSync()[0]).toBe(12);
    expect(grads['vg_a']!.dataSync()[0]).toBe(12);
    expect(grads['vg_frozen']).toBeNull();
    expect('vg_b_unused' in grads).toBe(false);
    expect(() => variableGrads(() => tf.mul(frozen, 2) as tf.Scalar, [frozen])).toThrow(
      /none of the 1 variables is trainable/,
    );
    expect(() => variableGrads(() => tf.scalar(1), [b])).toThrow(/no variable reaches/);
    tf.dispose([value, grads['vg_a']!, a, b, frozen]);
  });

  it('frees each gradient and saved tensor once the backward pass is past it', () => {
    // h_i = h_{i-1} · w_i for i = 1..n on a tensor x = h_0 of A bytes; loss = Σ h_n. A
    // probe right after h_1 records the tensor bytes alive when its gradient is asked
    // for, i.e. once the backward pass has gone through the products n..2. Counting
    // by hand (tf.memory().numBytes counts every tensor, clones included):
    //  - kept until the end (tf.variableGrads): the saved copies of h_0..h_{n-1} (n·A)
    //    and the gradients of h_1..h_n (n·A) — at least 2n·A;
    //  - freed as it goes: the saved copy of h_0 that product 1 still needs, and
    //    dL/dh_1 — 2·A, plus a few bytes of scalar gradients.
    const n = 16;
    const size = 1 << 16;
    const A = 4 * size;
    const x = tf.randomUniform([size], 0.5, 1.5, 'float32', 3);
    const ws = Array.from({ length: n }, (_, i) =>
      tf.variable(tf.scalar(1.01), true, `vg_chain_${i}`),
    );
    let seen = 0;
    const probe = tf.customGrad((...inputs) => ({
      value: tf.clone(inputs[0] as tf.Tensor),
      gradFunc: (dy: tf.Tensor) => {
        seen = tf.memory().numBytes;
        return tf.clone(dy);
      },
    }));
    const chain = () => {
      let h = probe(tf.mul(x, ws[0]!));
      for (let i = 1; i < n; i++) h = tf.mul(h, ws[i]!);
      return tf.sum(h) as tf.Scalar;
    };
    const base = tf.memory().numBytes;
    const measure = (run: typeof variableGrads) => {
      const { value, grads } = run(chain, ws);
      tf.dispose([value, ...(Object.values(grads) as tf.Tensor[])]);
      return (seen - base) / A;
    };
    const stock = measure(tf.variableGrads as typeof variableGrads);
    const ours = measure(variableGrads);
    expect(stock).toBeGreaterThanOrEqual(2 * n);
    expect(ours).toBeLessThan(2.01);
    tf.dispose([x, ...ws]);
  });

  it('matches tf.variableGrads where a custom gradient aliases tensors or returns one it does not own', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]), true, 'vg_alias_v');
    const ext = tf.tensor1d([0.25, 0.5, 0.75]);
    // The value is the input itself: two tape nodes list the same tensor as output.
    const passThrough = tf.customGrad((...inputs) => ({
      value: inputs[0] as tf.Tensor,
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, 0.5),
    }));
    // The gradient is a tensor from outside, which must survive the call.
    const constantGrad = tf.customGrad((...inputs) => ({
      value: tf.mul(inputs[0] as tf.Tensor, 1),
      gradFunc: () => ext,
    }));
    const cases: [string, () => tf.Scalar][] = [
      ['value aliases the input', () => tf.sum(passThrough(tf.mul(v, 2)))],
      ['gradient owned by the caller', () => tf.sum(tf.mul(constantGrad(tf.mul(v, 2)), 3))],
      // tfjs-core seeds with float32 ones even for an int32 result.
      ['int32 result', () => tf.cast(tf.sum(tf.mul(v, 2)), 'int32') as tf.Scalar],
    ];
    for (const [name, f] of cases) {
      const before = tf.memory().numTensors;
      const stock = tf.variableGrads(f, [v]);
      const ours = variableGrads(f, [v]);
      expect(ours.grads['vg_alias_v']!.dataSync(), name).toEqual(
        stock.grads['vg_alias_v']!.dataSync(),
      );
      tf.dispose([stock.value, ours.value, stock.grads['vg_alias_v']!, ours.grads['vg_alias_v']!]);
      expect(tf.memory().numTensors, name).toBe(before);
      expect(ext.isDisposed, name).toBe(false);
    }
    tf.dispose([v, ext]);
  });
});
