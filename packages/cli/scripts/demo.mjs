// `npm run demo`: trains a small CIFAR-style ResNet on a synthetic shapes
// dataset with the ResNet paper's CIFAR recipe scaled down, then predicts a
// few validation images. Its last line is `val top-1: NN.N%`.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { convBnRelu, residualStage, summarize } from '@convnets/layers';
import {
  cifarEval,
  cifarTrain,
  imageFolder,
  jpegFastPath,
  synthesizeImageFolder,
  transformImage,
} from '@convnets/imagenet-data';
import cliProgress from 'cli-progress';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchCpuKernels } from '@convnets/backend-native';
import { folderEvaluationData, folderTrainingData, readMetrics, train } from '@convnets/trainer';
import { probeWasm, selectBackend, writeCurves } from '../dist/index.js';

tf.env().set('PROD', true);
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const env = (name, fallback) => Number(process.env[name] ?? fallback);

// The built-in dataset: four textures of synthesizeImageFolder (horizontal
// stripes, vertical stripes, checkerboard, diagonal stripes) under random
// colour, phase, period and pixel noise, 16×16 pixels, JPEG.
const DATA = {
  classes: 8,
  perClass: env('DEMO_PER_CLASS', 120),
  valPerClass: 25,
  size: 16,
  seed: 0,
};
const TEXTURES = {
  class_2: 'hstripes',
  class_3: 'vstripes',
  class_4: 'checker',
  class_6: 'diagonal',
};
const BATCH = env('DEMO_BATCH', 32);
const WIDTHS = [8, 16, 32];

const started = performance.now();
const { name: backend, attempts } = await selectBackend(process.env.DEMO_BACKEND ?? 'auto');
console.log(
  `backend: ${backend} (${attempts.map((a) => `${a.candidate}: ${a.detail}`).join('; ')})`,
);
console.log(`wasm: ${(await probeWasm()).detail}`);
const jpeg = jpegFastPath();
console.log(
  jpeg.libjpegTurbo
    ? `JPEG fast path: libjpeg-turbo ${jpeg.libjpegTurbo}`
    : `JPEG fast path: not available, JPEGs are decoded by sharp (${jpeg.errors.join('; ')})`,
);
// The pure-JS cpu backend's convolution filter gradient, 20× faster (bitwise the same).
if (backend === 'cpu') patchCpuKernels();

const cacheDir = join(
  root,
  'node_modules',
  '.cache',
  'convnets-demo',
  `shapes-${DATA.classes}x${DATA.perClass}-${DATA.size}px-v1`,
);
const marker = join(cacheDir, 'complete.json');
if (existsSync(marker)) {
  console.log(`dataset: cached in ${relative(process.cwd(), cacheDir)}`);
} else {
  rmSync(cacheDir, { recursive: true, force: true });
  process.stdout.write('dataset: synthesising… ');
  await synthesizeImageFolder(cacheDir, DATA);
  writeFileSync(marker, JSON.stringify(DATA));
  console.log(`done (${relative(process.cwd(), cacheDir)})`);
}
const subset = (folder) => {
  const keep = folder.classes.filter((c) => c in TEXTURES);
  return {
    classes: keep.map((c) => TEXTURES[c]),
    samples: folder.samples
      .filter((s) => folder.classes[s.label] in TEXTURES)
      .map((s) => ({ path: s.path, label: keep.indexOf(folder.classes[s.label]) })),
  };
};
const trainSet = subset(await imageFolder(join(cacheDir, 'train')));
const valSet = subset(await imageFolder(join(cacheDir, 'val')));
const CLASSES = trainSet.classes.length;

// A CIFAR-style ResNet (He et al. §4.2: 3×3 conv, three stages of basic
// blocks on maps of size s, s/2, s/4, option-A shortcuts, global average
// pooling), narrowed to 8/16/32 filters and n = 1 (8 layers).
const input = tfl.input({ shape: [DATA.size, DATA.size, 3], name: 'input' });
let y = convBnRelu(input, { name: 'conv1', filters: WIDTHS[0], kernelSize: 3 });
WIDTHS.forEach((filters, i) => {
  y = residualStage(y, {
    name: `conv${i + 2}`,
    block: 'basic',
    filters,
    blocks: 1,
    stride: i === 0 ? 1 : 2,
    shortcut: 'A',
  });
});
y = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(y);
y = tfl.layers.dense({ units: CLASSES, name: 'predictions' }).apply(y);
const model = tfl.model({ inputs: input, outputs: y, name: 'demo_resnet8' });
// Seeded initialisation (tfjs initialisers draw from Math.random), so that the
// demo gives the same result every time on a deterministic backend: Kaiming
// normal, fan-out, for convolutions (as torchvision), Glorot uniform for the classifier.
tf.tidy(() =>
  model.weights.forEach((w, i) => {
    if (!w.originalName.endsWith('kernel')) return;
    const shape = w.shape;
    const limit = Math.sqrt(6 / (shape[0] + shape[1]));
    w.write(
      shape.length === 4
        ? tf.randomNormal(
            shape,
            0,
            Math.sqrt(2 / (shape[0] * shape[1] * shape[3])),
            'float32',
            1000 + i,
          )
        : tf.randomUniform(shape, -limit, limit, 'float32', 1000 + i),
    );
  }),
);
console.log(
  `model: ${model.name}, ${summarize(model).trainableParams.toLocaleString('en-US')} parameters`,
);

// Six epochs fit in a few minutes on the pure-JS cpu backend; a fast backend
// affords ten (more margin over 90%) in well under a minute.
const EPOCHS = env('DEMO_EPOCHS', backend === 'cpu' ? 6 : 10);
const data = folderTrainingData(trainSet, {
  transform: cifarTrain({ size: DATA.size, padding: 2 }),
  batchSize: BATCH,
  seed: 0,
});
const validation = folderEvaluationData(valSet, {
  transform: cifarEval({ size: DATA.size }),
  batchSize: 100,
});
const stepsPerEpoch = data.batchesPerEpoch;
const totalSteps = EPOCHS * stepsPerEpoch;
const outDir = join(root, 'runs', 'demo');
rmSync(outDir, { recursive: true, force: true });

// The paper's CIFAR recipe: lr 0.1, momentum 0.9, weight decay 1e-4, ÷10 at
// 50% and 75% of training (32k and 48k of 64k iterations), scaled to this run.
const bar = new cliProgress.SingleBar(
  {
    format:
      'training |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | lr {lr} | {speed} img/s',
    hideCursor: true,
    clearOnComplete: false,
  },
  cliProgress.Presets.shades_classic,
);
bar.start(totalSteps, 0, { epoch: 0, loss: '-', lr: '-', speed: '-' });
const epochLines = [];
const trainStarted = performance.now();
const result = await train({
  model,
  data,
  validation,
  steps: totalSteps,
  lr: 0.1,
  schedule: {
    kind: 'multistep',
    milestones: [Math.round(totalSteps * 0.5), Math.round(totalSteps * 0.75)],
    unit: 'iteration',
  },
  optimizer: { momentum: 0.9, weightDecay: 1e-4 },
  outDir,
  keepLast: 1,
  callbacks: {
    onStep: (s) =>
      bar.update(s.step, {
        epoch: s.epoch + 1,
        loss: s.loss.toFixed(3),
        lr: s.lr.toPrecision(2),
        speed: s.imagesPerSec.toFixed(0),
      }),
    onEpoch: (e) =>
      epochLines.push(
        `epoch ${e.epoch + 1}: train error ${e.trainTop1Error.toFixed(1)}%, val error ${e.validation.top1Error.toFixed(1)}%`,
      ),
  },
});
bar.stop();
const trainSeconds = (performance.now() - trainStarted) / 1000;
for (const line of epochLines) console.log(line);
await writeCurves(
  join(outDir, 'curves.png'),
  [{ name: 'demo', rows: readMetrics(join(outDir, 'metrics.jsonl')) }],
  { title: 'demo: top-1 error' },
);

// Predict a few validation images.
console.log('\npredictions (top-3):');
const shown = [0, 1, 2, 3].map((k) => valSet.samples[k * DATA.valPerClass + k]);
for (const sample of shown) {
  const views = await transformImage(sample.path, cifarEval({ size: DATA.size }));
  const p = tf.tidy(() =>
    tf.softmax(model.predict(tf.tensor4d(views[0].data, [1, DATA.size, DATA.size, 3]))).dataSync(),
  );
  const top = [...p.keys()].sort((a, b) => p[b] - p[a]).slice(0, 3);
  console.log(
    `  ${relative(process.cwd(), sample.path)} (${valSet.classes[sample.label]}): ${top.map((c) => `${valSet.classes[c]} ${(100 * p[c]).toFixed(1)}%`).join(', ')}`,
  );
}
model.dispose();
console.log(
  `\ntraining: ${trainSeconds.toFixed(0)} s (${result.steps} steps, batch ${BATCH}); whole demo ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
console.log(
  `outputs: ${relative(process.cwd(), outDir) || '.'}/ (checkpoints/, metrics.jsonl, metrics.csv, curves.png)`,
);
console.log(`val top-1: ${(100 - result.validation.top1Error).toFixed(1)}%`);
