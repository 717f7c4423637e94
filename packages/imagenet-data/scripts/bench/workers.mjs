// The bench's throughput children: our loader, and the minimal sharp-only
// loop on the same photos and geometry (see ../bench.mjs).
import { readFile } from 'node:fs/promises';
import { batchSize, cpuMs, flag, photoList } from './options.mjs';

/** `count` samples of one class, the photos cycled. */
function photoDataset(count) {
  const photos = photoList();
  return {
    classes: ['photo'],
    samples: Array.from({ length: count }, (_, i) => ({
      path: photos[i % photos.length],
      label: 0,
    })),
  };
}

/** Our loader: ResNet paper train transform → float32 batches. */
export async function loaderWorker(inFlight, count) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const sharp = (await import('sharp')).default;
  const { createLoader, resnetPaperTrain } = await import('../../dist/index.js');
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  sharp.concurrency(1);
  const dataset = photoDataset(count);
  const rssStart = process.memoryUsage().rss;
  const cpuStart = process.cpuUsage();
  let rssMax = rssStart;
  const loader = createLoader(dataset, {
    transform: resnetPaperTrain(),
    batchSize,
    seed: 1,
    concurrency: inFlight,
    prefetch: 2,
    // --apply-icc (worker runs only): colour-manage embedded ICC profiles, as sharp does by default.
    decode: { applyIccProfile: flag('apply-icc') },
  });
  let seen = 0;
  let started = 0;
  let timedImages = 0;
  const tensorsBefore = tf.memory().numTensors;
  for await (const { images: x, labels } of loader) {
    // The first batch pays for warm-up (thread pool, JIT); time the rest.
    if (seen === 0) started = performance.now();
    else timedImages += labels.shape[0];
    seen += labels.shape[0];
    tf.dispose([x, labels]);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(process.cpuUsage(cpuStart));
  return {
    imagesPerSecond: timedImages / seconds,
    imagesPerCpuSecond: (1000 * seen) / cpu,
    cpuMsPerImage: cpu / seen,
    seen,
    skipped: loader.stats.skipped.length,
    rssStartMB: rssStart / 2 ** 20,
    rssMaxMB: rssMax / 2 ** 20,
    rssEndMB: process.memoryUsage().rss / 2 ** 20,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
  };
}

/**
 * One training view (resize, optional mirror, crop) of a planned geometry `g`
 * as a single plain sharp pipeline on `image`: the hand-written baseline.
 */
export function sharpView(image, g, kernel) {
  const c = g.postCrop;
  let view = image.resize(g.resize.width, g.resize.height, { fit: 'fill', kernel });
  if (g.flip) view = view.flop();
  return view
    .extract(g.flip ? { ...c, left: g.resize.width - c.left - c.width } : c)
    .raw()
    .toBuffer();
}

/**
 * The minimal sharp-only loop: read, sharp's metadata() for the size, one
 * pipeline resize (bilinear) → flop → extract → raw bytes, with sharp's
 * defaults otherwise (which colour-manage embedded ICC profiles). The same
 * random geometry as the loader (our transform's plan, a few µs of JS); no
 * float conversion, no batches.
 */
export async function sharpWorker(inFlight, count) {
  const sharp = (await import('sharp')).default;
  const { resnetPaperTrain, Random } = await import('../../dist/index.js');
  sharp.concurrency(1);
  const photos = photoList();
  const transform = resnetPaperTrain();
  const cpuStart = process.cpuUsage();
  let next = 0;
  let done = 0;
  let started = 0;
  const one = async (i) => {
    const buffer = await readFile(photos[i % photos.length]);
    const { width, height } = await sharp(buffer).metadata();
    const g = transform.plan(width, height, new Random(1, 0, i)).views[0];
    await sharpView(sharp(buffer), g, 'linear');
    if (++done === batchSize) started = performance.now();
  };
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await one(next++);
    }),
  );
  const cpu = cpuMs(process.cpuUsage(cpuStart));
  return {
    imagesPerSecond: (count - batchSize) / ((performance.now() - started) / 1000),
    imagesPerCpuSecond: (1000 * count) / cpu,
    cpuMsPerImage: cpu / count,
  };
}
