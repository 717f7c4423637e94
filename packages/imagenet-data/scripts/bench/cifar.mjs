// `npm run bench -- --cifar`: whether the loader, not the backend, limits a
// CIFAR training run on 32×32 JPEGs. In one run, on one core each (pinned
// with taskset), with cifarTrain() (pad 4, random 32×32 crop, flip, CIFAR
// mean/std) into [128, 32, 32, 3] float32 batches:
//
// - the loader on the JPEG folder through its libjpeg-turbo fast path;
// - the same loader with `decode: { decoder: 'sharp' }` (the sharp path);
// - the same images held in memory (decoded beforehand, untimed) rendered
//   by transformPixelsInto, what the trainer's arrayTrainingData does for a CIFAR
//   archive read with cifar10();
//
// and the images/s a ResNet-20 training step (batch 128) consumes on
// @convnets/backend-native, measured by that package's bench child on all
// cores, or given with --resnet20-images-per-second X (--skip-resnet20).
//
// Reads ../shared/data/cifar10-jpeg/train (the repository's shared data, the
// CIFAR-10 training set as JPEGs) unless --cifar-dir DIR is given; uses
// --cifar-images N of them (default 4000, spread over the classes), each way
// --rounds N times alternating (default 2), keeping each way's best run.
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pinned, hasTaskset } from './children.mjs';
import { cpuMs, option, rounds } from './options.mjs';
import { resnet20Rate } from './resnet50.mjs';

const benchScript = fileURLToPath(new URL('../bench.mjs', import.meta.url));
const cifarDir = option(
  'cifar-dir',
  fileURLToPath(new URL('../../../../../shared/data/cifar10-jpeg/train', import.meta.url)),
);
const count = Number(option('cifar-images', 4000));
const BATCH = 128;

/** `count` samples of the folder, spread evenly over it (so over its classes). */
async function samples(lib) {
  const all = await lib.imageFolder(cifarDir);
  const step = all.samples.length / Math.min(count, all.samples.length);
  const picked = Array.from(
    { length: Math.floor(all.samples.length / step) },
    (_, i) => all.samples[Math.floor(i * step)],
  );
  return { classes: all.classes, samples: picked };
}

/** Times `batches` (an async iterable of [images, labels] tensors), the first batch excluded as warm-up. */
async function timed(tf, batches) {
  const cpuStart = process.cpuUsage();
  const tensorsBefore = tf.memory().numTensors;
  let seen = 0;
  let started = 0;
  for await (const [images, labels] of batches) {
    if (seen === 0) started = performance.now();
    seen += labels.shape[0];
    tf.dispose([images, labels]);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(process.cpuUsage(cpuStart));
  return {
    imagesPerSecond: (seen - BATCH) / seconds,
    cpuMsPerImage: cpu / seen,
    seen,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  };
}

/** The loader over the JPEGs, through the fast path (`fast`) or sharp (`sharp`). */
async function* loaderBatches(lib, dataset, decoder) {
  const loader = lib.createLoader(dataset, {
    transform: lib.cifarTrain(),
    batchSize: BATCH,
    seed: 1,
    decode: { decoder },
  });
  for await (const { images, labels } of loader) yield [images, labels];
}

/** The images decoded into memory first (untimed), then rendered batch by batch as arrayTrainingData does. */
async function arrayBatches(tf, lib, dataset) {
  const sharp = (await import('sharp')).default;
  const n = dataset.samples.length;
  const pixels = new Uint8Array(n * 3072);
  for (let i = 0; i < n; i++)
    pixels.set(await sharp(dataset.samples[i].path).removeAlpha().raw().toBuffer(), i * 3072);
  const transform = lib.cifarTrain();
  const order = lib.epochPermutation(n, 1, 0);
  return (async function* () {
    for (let start = 0; start + BATCH <= n; start += BATCH) {
      const out = new Float32Array(BATCH * 3072);
      const labels = new Int32Array(BATCH);
      for (let k = 0; k < BATCH; k++) {
        const i = order[start + k];
        const image = {
          data: pixels.subarray(i * 3072, (i + 1) * 3072),
          width: 32,
          height: 32,
          channels: 3,
        };
        lib.transformPixelsInto(image, transform, lib.sampleRandom(1, 0, i), out, k * 3072);
        labels[k] = dataset.samples[i].label;
      }
      yield [tf.tensor4d(out, [BATCH, 32, 32, 3]), tf.tensor1d(labels, 'int32')];
    }
  })();
}

/** A measurement child: `mode` is fast, sharp or array. */
export async function cifarWorker(mode) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const sharp = (await import('sharp')).default;
  const lib = await import('../../dist/index.js');
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  sharp.concurrency(1);
  const dataset = await samples(lib);
  const batches =
    mode === 'array'
      ? await arrayBatches(tf, lib, dataset)
      : loaderBatches(lib, dataset, mode === 'sharp' ? 'sharp' : 'auto');
  return timed(tf, batches);
}

const WAYS = [
  ['fast', 'loader, JPEG fast path (default)'],
  ['sharp', "loader, decode: { decoder: 'sharp' }"],
  ['array', 'in memory (transformPixelsInto, as arrayTrainingData)'],
];

/** Each way's best of `rounds` alternating runs on one core. */
function measure() {
  const best = {};
  for (let round = 0; round < rounds; round++) {
    for (const [mode] of WAYS) {
      const args = [benchScript, '--worker', `cifar-${mode}`, '--cifar-dir', cifarDir];
      const r = pinned(1, process.execPath, [...args, '--cifar-images', String(count)], {
        UV_THREADPOOL_SIZE: '2',
      });
      if (!best[mode] || r.imagesPerSecond > best[mode].imagesPerSecond) best[mode] = r;
    }
  }
  return best;
}

export function cifarMain() {
  console.log(
    `cifarTrain() → [${BATCH}, 32, 32, 3] float32 batches from ${cifarDir}, ${count} images per run, one core` +
      (hasTaskset() ? ' (pinned with taskset)' : ' (NOT pinned: taskset missing)') +
      `, best of ${rounds} alternating runs`,
  );
  const best = measure();
  const width = Math.max(...WAYS.map(([, label]) => label.length));
  console.log(`\n${'way'.padEnd(width)} |     img/s | CPU ms/img | tensors leaked`);
  for (const [mode, label] of WAYS) {
    const r = best[mode];
    console.log(
      `${label.padEnd(width)} | ${r.imagesPerSecond.toFixed(0).padStart(9)} | ${r.cpuMsPerImage.toFixed(3).padStart(10)} | ${r.leakedTensors}`,
    );
  }
  const ratio = best.fast.imagesPerSecond / best.sharp.imagesPerSecond;
  console.log(
    `fast path / sharp path: ${ratio.toFixed(1)}× the images/s, ${(best.sharp.cpuMsPerImage / best.fast.cpuMsPerImage).toFixed(1)}× less CPU per image.`,
  );
  const step = resnet20Rate();
  if (!step.rate) return console.log(`\nResNet-20 comparison skipped: ${step.skipped}.`);
  const cores = availableParallelism();
  console.log(
    `\nResNet-20 training step (batch ${BATCH}): ${step.rate.toFixed(0)} img/s (${step.how}).` +
      `\nOne loader core delivers ${(best.fast.imagesPerSecond / step.rate).toFixed(0)}× that through the fast path, ${(best.sharp.imagesPerSecond / step.rate).toFixed(1)}× through sharp, ${(best.array.imagesPerSecond / step.rate).toFixed(0)}× from memory; ` +
      `feeding the step costs ${((100 * step.rate * best.fast.cpuMsPerImage) / 1000).toFixed(1)}% of one core (fast path), ${((100 * step.rate * best.sharp.cpuMsPerImage) / 1000).toFixed(1)}% (sharp), ${((100 * step.rate * best.array.cpuMsPerImage) / 1000).toFixed(1)}% (in memory), of the ${cores} the step uses.` +
      ` Load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}.`,
  );
}
