import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { SgdOptimizer, isBatchNormParameter, isBiasParameter } from '../src';

function run(
  options: ConstructorParameters<typeof SgdOptimizer>[0],
  grads: number[][],
  lrs: number[],
  name = 'conv/kernel',
) {
  const v = tf.variable(tf.tensor1d([1, -2]));
  const sgd = new SgdOptimizer(options);
  const out: number[][] = [];
  grads.forEach((g, i) => {
    const t = tf.tensor1d(g);
    sgd.apply([{ name, variable: v }], [t], lrs[i]);
    t.dispose();
    out.push(Array.from(v.dataSync()));
  });
  sgd.dispose();
  v.dispose();
  return out;
}

describe('SgdOptimizer', () => {
  const grads = [
    [0.5, 1],
    [-1, 0.25],
    [2, -0.5],
  ];

  it("PyTorch's rule with weight decay, against hand-computed values", () => {
    const mu = 0.9;
    const wd = 0.01;
    const lrs = [0.1, 0.1, 0.01];
    let w = [1, -2];
    let v = [0, 0];
    const expected: number[][] = [];
    grads.forEach((g, i) => {
      const d = g.map((gi, k) => gi + wd * w[k]);
      v = i === 0 ? d : v.map((vi, k) => mu * vi + d[k]);
      w = w.map((wi, k) => wi - lrs[i] * v[k]);
      expected.push(w);
    });
    const got = run({ momentum: mu, weightDecay: wd }, grads, lrs);
    got.forEach((row, i) => row.forEach((x, k) => expect(x).toBeCloseTo(expected[i][k], 6)));
  });

  it("Caffe's rule: the velocity holds steps, so a learning-rate cut takes effect gradually", () => {
    const mu = 0.9;
    const wd = 0.01;
    const lrs = [0.1, 0.1, 0.01];
    let w = [1, -2];
    let v = [0, 0];
    const expected: number[][] = [];
    grads.forEach((g, i) => {
      v = v.map((vi, k) => mu * vi + lrs[i] * (g[k] + wd * w[k]));
      w = w.map((wi, k) => wi - v[k]);
      expected.push(w);
    });
    const got = run({ momentum: mu, weightDecay: wd, rule: 'caffe' }, grads, lrs);
    got.forEach((row, i) => row.forEach((x, k) => expect(x).toBeCloseTo(expected[i][k], 6)));
    // Equal to PyTorch's while the rate is constant, different after the cut.
    const pytorch = run({ momentum: mu, weightDecay: wd }, grads, lrs);
    expect(pytorch[1][0]).toBeCloseTo(got[1][0], 6);
    expect(Math.abs(pytorch[2][0] - got[2][0])).toBeGreaterThan(1e-3);
  });

  it('Nesterov momentum (PyTorch form)', () => {
    const mu = 0.9;
    let w = [1, -2];
    let v = [0, 0];
    const expected: number[][] = [];
    grads.forEach((g, i) => {
      v = i === 0 ? g : v.map((vi, k) => mu * vi + g[k]);
      w = w.map((wi, k) => wi - 0.1 * (g[k] + mu * v[k]));
      expected.push(w);
    });
    const got = run({ momentum: mu, weightDecay: 0, nesterov: true }, grads, [0.1, 0.1, 0.1]);
    got.forEach((row, i) => row.forEach((x, k) => expect(x).toBeCloseTo(expected[i][k], 6)));
  });

  it('leaves BN parameters and biases out of weight decay when asked', () => {
    expect(isBatchNormParameter('conv1_bn/gamma')).toBe(true);
    expect(isBatchNormParameter('3:conv1_bn/beta')).toBe(true);
    expect(isBatchNormParameter('conv1/kernel')).toBe(false);
    expect(isBiasParameter('fc/bias')).toBe(true);
    const zero = [[0, 0]];
    const decayed = run({ momentum: 0, weightDecay: 0.5 }, zero, [0.1], 'bn/gamma');
    expect(decayed[0]).toEqual([Math.fround(1 - 0.05), Math.fround(-2 + 0.1)]);
    expect(
      run({ momentum: 0, weightDecay: 0.5, excludeBatchNorm: true }, zero, [0.1], 'bn/gamma')[0],
    ).toEqual([1, -2]);
    expect(
      run({ momentum: 0, weightDecay: 0.5, excludeBias: true }, zero, [0.1], 'fc/bias')[0],
    ).toEqual([1, -2]);
    expect(
      run({ momentum: 0, weightDecay: 0.5, excludeBias: true }, zero, [0.1], 'fc/kernel')[0],
    ).not.toEqual([1, -2]);
  });

  it('rejects bad options by name', () => {
    expect(() => new SgdOptimizer({ momentum: 1 })).toThrow(
      /option "momentum" must be a number in \[0, 1\); received 1/,
    );
    expect(() => new SgdOptimizer({ rule: 'adam' as never })).toThrow(
      /option "rule" must be one of "pytorch", "caffe"/,
    );
    expect(() => new SgdOptimizer({ lr: 0.1 } as never)).toThrow(/unknown option "lr"/);
  });

  it('leaves no tensor behind and holds at most a few copies of one variable at a time', () => {
    // Two variables of n floats (4n bytes each); a probe on every kernel call records
    // the most tensor bytes alive while apply runs, above what lived before it
    // (weights, gradients, velocities). One scope for the whole update keeps every
    // temporary of both variables to the end (12 copies here with the pytorch rule).
    // Freeing each right after its use leaves at most those of the variable being
    // updated: the new velocity, η·v (or μ·v, λ·w, the Nesterov term) and the new
    // weight, with the old velocity and weight held until their assign — 6 at worst.
    const n = 1 << 14;
    const bytes = 4 * n;
    const configs = [
      { rule: 'pytorch' as const },
      { rule: 'pytorch' as const, nesterov: true, weightDecay: 0.1 },
      { rule: 'caffe' as const, nesterov: true, weightDecay: 0.1 },
    ];
    for (const options of configs) {
      const vars = ['a/kernel', 'b/kernel'].map((name, i) => ({
        name,
        variable: tf.variable(tf.randomNormal([n], 0, 1, 'float32', i)),
      }));
      const sgd = new SgdOptimizer(options);
      const grads = vars.map((_, i) => tf.randomNormal([n], 0, 1, 'float32', 10 + i));
      sgd.apply(vars, grads, 0.1);
      const before = tf.memory().numTensors;
      const base = tf.memory().numBytes;
      let peak = 0;
      type RunKernel = (...args: unknown[]) => unknown;
      const engine = tf.engine() as unknown as {
        state: { numBytes: number };
        runKernel: RunKernel;
      };
      const original = engine.runKernel.bind(engine);
      engine.runKernel = (...args) => {
        const out = original(...args);
        peak = Math.max(peak, engine.state.numBytes);
        return out;
      };
      try {
        for (let step = 0; step < 3; step++) sgd.apply(vars, grads, 0.1);
      } finally {
        Reflect.deleteProperty(engine, 'runKernel'); // back to the prototype's method
      }
      expect(tf.memory().numTensors, JSON.stringify(options)).toBe(before);
      expect((peak - base) / bytes, JSON.stringify(options)).toBeLessThanOrEqual(6);
      sgd.dispose();
      tf.dispose([...grads, ...vars.map((v) => v.variable)]);
    }
  });
});
