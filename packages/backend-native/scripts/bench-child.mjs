// Runs one workload on one tfjs backend and prints one JSON line:
//   node scripts/bench-child.mjs <workload> <backend> <batch> <warmup> <steps> [--profile]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { variableGrads } from '@convnets/layers';
import { cifarResNet, resnet50 } from '@convnets/resnet';
import { vgg16 } from '@convnets/vgg';
import { backendName, loadError } from '../dist/index.js';
import { WORKLOADS } from './workloads.mjs';

const [name, backendArg, batchArg, warmupArg, stepsArg, flag] = process.argv.slice(2);
const w = WORKLOADS[name];
const batch = Number(batchArg);
const backend = backendArg === 'native' ? backendName : backendArg;
tf.env().set('PROD', true);
if (backend === backendName && loadError()) throw new Error(loadError());
await tf.setBackend(backend);

const options = { classifierActivation: null };
const model =
  w.model === 'resnet20'
    ? cifarResNet(20, options)
    : w.model === 'resnet50'
      ? resnet50(options)
      : vgg16(options);
const x = tf.randomNormal([batch, w.size, w.size, 3], 0, 1, 'float32', 1);
const labels = tf.oneHot(tf.randomUniform([batch], 0, w.classes, 'int32', 2), w.classes);
// torch.optim.SGD(lr=0.01, momentum=0.9), as bench_torch.py runs it, written the way
// the trainer's SgdOptimizer applies it (PyTorch rule): one scope per variable, each
// temporary freed after its use, each gradient freed once its variable is updated.
const velocity = new Map();
const weights = model.trainableWeights.map((w) => w.val);
function sgdStep(grads) {
  for (const v of weights) {
    const g = grads[v.name];
    tf.tidy(() => {
      const buf = velocity.get(v.name);
      const next = buf ? tf.tidy(() => tf.add(tf.mul(0.9, buf), g)) : g;
      if (buf) buf.assign(next);
      else velocity.set(v.name, tf.variable(next, false));
      v.assign(tf.tidy(() => tf.sub(v, tf.mul(0.01, next))));
    });
    g.dispose();
  }
}

function step() {
  if (!w.train) {
    const y = tf.tidy(() => model.apply(x, { training: false }));
    y.dataSync();
    y.dispose();
    return;
  }
  // The trainer's gradient routine, which frees what backward has used (see @convnets/layers).
  const { value, grads } = variableGrads(
    () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true })),
    weights,
  );
  sgdStep(grads);
  value.dataSync();
  value.dispose();
}

for (let i = 0; i < Number(warmupArg); i++) step();
if (flag === '--profile') {
  const profile = await tf.profile(() => step());
  const byKernel = new Map();
  for (const k of profile.kernels) {
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    JSON.stringify({
      totalKernelMs: total,
      kernels: rows.map(([k, e]) => ({ kernel: k, ms: +e.ms.toFixed(1), calls: e.calls })),
    }),
  );
  process.exit(0);
}
const times = [];
const steps = Number(stepsArg);
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(
  JSON.stringify({
    stepMs: median,
    imagesPerSec: (batch * 1000) / median,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  }),
);
