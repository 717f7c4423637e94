// npm run test:interop: our weights and PyTorch's, both ways, checked with
// PyTorch itself (README.md here: the steps, the tolerance, the numbers).
// Needs the built packages (the root script builds them) and torch with
// torchvision for /usr/bin/python3 (or $PYTHON).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as resnet from '@convnets/resnet';
import * as vgg from '@convnets/vgg';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const HERE = import.meta.dirname;
/** float32 both sides, different summation orders; see torch_side.py's TOLERANCE. */
const TOLERANCE = 1e-4;

/** Runs PyTorch's side, its output shown; throws when it fails. */
function python(args, env = {}) {
  const result = spawnSync(PYTHON, args, {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} exited ${result.status}`);
}

/** Our net's logits on an NCHW input (PyTorch's layout) given as nested arrays. */
function logitsOf(net, inputNCHW) {
  return tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(inputNCHW, undefined, 'float32'), [0, 2, 3, 1]);
    return net.predict(x).arraySync();
  });
}

/** Max |a − b| and max |b| over two equal-shaped logit arrays. */
function difference(a, b) {
  let diff = 0;
  let scale = 0;
  if (a.length !== b.length || a[0].length !== b[0].length)
    throw new Error(`logits ${a.length}×${a[0].length}, expected ${b.length}×${b[0].length}`);
  a.forEach((row, i) =>
    row.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(v - b[i][j]));
      scale = Math.max(scale, Math.abs(b[i][j]));
    }),
  );
  return { diff, scale };
}

/** Throws unless our logits are torch's within the tolerance; the line for the log. */
function expectLogits(what, ours, torch) {
  const { diff, scale } = difference(ours, torch);
  const line = `${what}: max |ours - torch| = ${diff.toExponential(2)}, max |logit| ${scale.toPrecision(3)}, tolerance ${TOLERANCE} × ${scale.toPrecision(3)}`;
  if (!(diff <= TOLERANCE * scale)) throw new Error(line);
  console.log(`  ok ${line}`);
}

/**
 * Random BN parameters and running statistics, seeded (a fresh net has gamma 1,
 * beta 0, mean 0, variance 1, which would hide a swapped or missing one).
 */
function randomizeBatchNorm(net, seed) {
  const ranges = {
    gamma: [0.5, 1.5],
    beta: [-0.2, 0.2],
    moving_mean: [-0.2, 0.2],
    moving_variance: [0.5, 2],
  };
  net.weights.forEach((v, i) => {
    const range = ranges[v.originalName.split('/').pop()];
    if (range) v.write(tf.randomUniform(v.shape, range[0], range[1], 'float32', seed + i));
  });
  return net;
}

/** (1) Our nets, saved both ways, with their logits on a random input. */
async function exportOurs(dir) {
  const nets = {
    resnet18: { lib: resnet, size: 64, classes: 1000, build: resnet.resnet18 },
    vgg11_bn: {
      lib: vgg,
      size: 64,
      classes: 10,
      build: (opts) => vgg.vgg11({ ...opts, batchNorm: true }),
    },
  };
  for (const [name, { lib, size, classes, build }] of Object.entries(nets)) {
    const net = build({
      inputShape: [size, size, 3],
      classes,
      classifierActivation: null,
      seed: 1,
    });
    randomizeBatchNorm(net, 100);
    const inputNCHW = tf.tidy(() =>
      tf.randomNormal([2, 3, size, size], 0, 1, 'float32', 2).arraySync(),
    );
    const logits = logitsOf(net, inputNCHW);
    await lib.saveWeights(net, join(dir, `${name}.pth`));
    await lib.saveWeights(net, join(dir, `${name}.safetensors`));
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ size, classes, inputNCHW, logits }));
    net.dispose();
  }
}

/** (2) torch.save's files, read by loadWeights. */
async function loadTorchSaved(dir) {
  const { files, classes, inputNCHW, logits } = JSON.parse(
    readFileSync(join(dir, 'torch.json'), 'utf8'),
  );
  const size = inputNCHW[0][0].length;
  for (const file of files) {
    const net = resnet.resnet18({
      inputShape: [size, size, 3],
      classes,
      classifierActivation: null,
      skipInit: true,
    });
    await resnet.loadWeights(net, join(dir, file), { from: 'torchvision' });
    expectLogits(`resnet18 from ${file}`, logitsOf(net, inputNCHW), logits);
    net.dispose();
  }
}

/** A free TCP port on the loopback interface, for the processes' rendezvous. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** (3) Our ResNet-18 out, trained by DDP, back in. */
async function ddpRoundTrip(dir) {
  const opts = { inputShape: [32, 32, 3], classes: 10, classifierActivation: null };
  const exported = randomizeBatchNorm(resnet.resnet18({ ...opts, seed: 3 }), 200);
  await resnet.saveWeights(exported, join(dir, 'model.pth'));

  python(
    [
      join(HERE, 'ddp_train.py'),
      ...['model.pth', 'trained.pth', 'ddp.json'].map((f) => join(dir, f)),
    ],
    { MASTER_PORT: String(await freePort()) }, // the script's default 29500 may be taken
  );
  const { worldSize, steps, inputNCHW, logits } = JSON.parse(
    readFileSync(join(dir, 'ddp.json'), 'utf8'),
  );
  if (worldSize !== 2) throw new Error(`DDP ran with ${worldSize} processes, expected 2`);

  const trained = resnet.resnet18({ ...opts, skipInit: true });
  await resnet.loadWeights(trained, join(dir, 'trained.pth'), { from: 'torchvision' });
  expectLogits(`resnet18 after ${steps} DDP steps`, logitsOf(trained, inputNCHW), logits);
  // Training moved the weights: the exported net computes something else.
  const { diff } = difference(logitsOf(exported, inputNCHW), logits);
  if (!(diff > 100 * TOLERANCE)) throw new Error(`training changed the logits by only ${diff}`);
  console.log(`  ok the exported net's logits differ from the trained one's by ${diff.toFixed(3)}`);
  exported.dispose();
  trained.dispose();
}

const probe = spawnSync(PYTHON, [
  '-c',
  'import torch, torchvision, torch.distributed as d; assert d.is_gloo_available(); print(torch.__version__, torchvision.__version__)',
]);
if (probe.status !== 0) {
  console.error(
    `test:interop needs PyTorch (with gloo) and torchvision for ${PYTHON}, which failed:\n` +
      `${String(probe.stderr ?? probe.error).trim()}\n` +
      'On Debian/Ubuntu: apt-get install -y python3-torch python3-torchvision (or set PYTHON).',
  );
  process.exit(1);
}
await tf.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'convnets-interop-'));
console.log(`PyTorch ${String(probe.stdout).trim()} (torch, torchvision); work folder ${dir}`);

const steps = [
  [
    '(1) torchvision loads our saveWeights output strictly and computes our logits',
    async () => {
      await exportOurs(dir);
      python([join(HERE, 'torch_side.py'), 'check-ours', dir]);
    },
  ],
  [
    "(2) we read torch.save's zip and legacy formats and a nested checkpoint",
    async () => {
      python([join(HERE, 'torch_side.py'), 'save', dir]);
      await loadTorchSaved(dir);
    },
  ],
  [
    '(3) 2-process DDP (gloo) trains our exported ResNet-18; we load it and reproduce its logits',
    () => ddpRoundTrip(dir),
  ],
];
let failed = 0;
for (const [what, run] of steps) {
  const start = performance.now();
  console.log(`\n${what}`);
  try {
    await run();
    console.log(`PASS ${what} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${what}: ${error.message}`);
  }
}
if (failed) {
  console.log(`\n${failed} of ${steps.length} interop steps failed; files kept in ${dir}`);
  process.exit(1);
}
rmSync(dir, { recursive: true });
console.log(`\nall ${steps.length} interop steps passed`);
