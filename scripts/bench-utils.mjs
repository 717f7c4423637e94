// Shared helpers of the packages' `npm run bench` scripts (not published).
import * as tf from '@tensorflow/tfjs-core';

/** Timings (ms) of `runs` calls of `fn`, after `warmup` untimed calls. */
export async function timeRuns(fn, { runs = 5, warmup = 2 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

/**
 * Times `ours` and `direct` alternately, one call each in turn, so that both
 * see the same machine load. Two ratios come back: `ratio`, each side's
 * fastest call over the other's (for identical work, the fastest call is the
 * one least slowed by everything else running on the machine), and
 * `pairRatio`, the median of the per-pair ratios ours/direct, which a load
 * spike during one pair cannot move either.
 */
export async function compare(ours, direct, { runs = 9, warmup = 2 } = {}) {
  // A load-independent check first: the kernels each one runs.
  const [oursKernels, directKernels] = [await kernelTrace(ours), await kernelTrace(direct)];
  // Same kernels, counted (the order of independent branches may differ).
  const sameKernels = [...oursKernels].sort().join() === [...directKernels].sort().join();
  for (let i = 0; i < warmup; i++) {
    await ours();
    await direct();
  }
  const a = [];
  const b = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which side goes first within a pair, too.
    const [first, second] = i % 2 === 0 ? [ours, direct] : [direct, ours];
    const [t1] = await timeRuns(first, { runs: 1, warmup: 0 });
    const [t2] = await timeRuns(second, { runs: 1, warmup: 0 });
    a.push(i % 2 === 0 ? t1 : t2);
    b.push(i % 2 === 0 ? t2 : t1);
  }
  const ratios = a.map((t, i) => t / b[i]).sort((x, y) => x - y);
  const oursMs = Math.min(...a);
  const directMs = Math.min(...b);
  return {
    oursMs,
    directMs,
    ratio: oursMs / directMs,
    pairRatio: ratios[Math.floor(ratios.length / 2)],
    ratios,
    sameKernels,
    kernels: [oursKernels.length, directKernels.length],
  };
}

/**
 * Builds both models twice, in both orders (memory placement favours one
 * build order), times each pair with {@link compare}, and returns the best of
 * each side. `workload(model)` returns the function to time.
 */
export async function compareModels(buildOurs, buildDirect, workload, opts = {}) {
  const results = [];
  for (const oursFirst of [true, false]) {
    const [ours, direct] = oursFirst
      ? [buildOurs(), buildDirect()]
      : [buildDirect(), buildOurs()].reverse();
    if (ours.countParams() !== direct.countParams()) {
      throw new Error(
        `${ours.name}: the direct model differs (${direct.countParams()} parameters)`,
      );
    }
    // The same weights on both sides where the layer orders line up, so that the
    // two compute the same numbers (speed can depend on values: denormals, ReLU sparsity).
    let sharedWeights = 'yes';
    try {
      direct.setWeights(ours.getWeights());
    } catch {
      copyWeightsByKindAndShape(ours, direct);
      sharedWeights = 'by kind and shape';
    }
    results.push({ ...(await compare(workload(ours), workload(direct), opts)), sharedWeights });
    ours.dispose();
    direct.dispose();
  }
  const ratios = results.flatMap((r) => r.ratios).sort((x, y) => x - y);
  const oursMs = Math.min(...results.map((r) => r.oursMs));
  const directMs = Math.min(...results.map((r) => r.directMs));
  return {
    ...results[0],
    oursMs,
    directMs,
    ratio: oursMs / directMs,
    pairRatio: ratios[Math.floor(ratios.length / 2)],
  };
}

/**
 * Where two models list their layers in different orders (tfjs sorts layers of
 * equal depth by creation), gives each weight of `to` the value of the weight
 * of `from` that has the same kind (kernel, gamma, moving_variance, …) and
 * shape and the same rank among those: the same values layer for layer up to
 * a permutation of same-shaped layers, so both sides compute on the same
 * numbers' distribution (ReLU sparsity, magnitudes) without zero or
 * denormal surprises on one side only.
 */
function copyWeightsByKindAndShape(from, to) {
  const key = (w) => `${w.name.split('/').pop().replace(/_\d+$/, '')}:${w.shape.join('x')}`;
  const pool = new Map();
  for (const w of from.weights) {
    if (!pool.has(key(w))) pool.set(key(w), []);
    pool.get(key(w)).push(w);
  }
  const values = to.weights.map((w) => {
    const source = pool.get(key(w))?.shift();
    if (!source) throw new Error(`${to.name}: no weight like ${w.name} ${w.shape} in ${from.name}`);
    return source.read();
  });
  to.setWeights(values);
}

/** The names of the kernels one call of `fn` runs, in order (tf.profile). */
export async function kernelTrace(fn) {
  const info = await tf.profile(fn);
  return info.kernels.map((k) => k.name);
}

/** One forward pass, fully synchronised, with its output freed. */
export function forward(model, x) {
  return async () => {
    const y = model.predict(x);
    await y.data();
    y.dispose();
  };
}

/** One SGD training step (softmax cross-entropy) on (x, labels), fully synchronised. */
export function trainStep(model, x, labels, optimizer) {
  return async () => {
    const loss = optimizer.minimize(
      () =>
        tf.tidy(() => {
          const logits = model.apply(x, { training: true });
          return tf.losses.softmaxCrossEntropy(labels, logits);
        }),
      true,
    );
    await loss.data();
    loss.dispose();
  };
}

/** Picks the fastest backend here that can train: @convnets/backend-native if present, else cpu. */
export async function trainingBackend() {
  try {
    const native = await import('@convnets/backend-native');
    if (native.backendName && (await tf.setBackend(native.backendName))) return native.backendName;
  } catch {
    // not installed or cannot load here
  }
  await tf.setBackend('cpu');
  return 'cpu';
}

export function printRows(title, rows) {
  console.log(`\n${title}`);
  console.table(
    rows.map((r) => ({
      workload: r.workload,
      backend: r.backend,
      'ours (ms, best)': r.oursMs.toFixed(1),
      'direct tf.layers (ms, best)': r.directMs.toFixed(1),
      'ours / direct (best / best)': r.ratio.toFixed(3),
      target: '≤ 1.02',
      'median of pair ratios': r.pairRatio.toFixed(3),
      'kernels (ours, direct)': r.kernels.join(', '),
      'same kernels': r.sameKernels
        ? 'yes'
        : r.kernels[0] < r.kernels[1]
          ? 'no: ours runs fewer'
          : 'NO',
      'same weights': r.sharedWeights,
    })),
  );
}
