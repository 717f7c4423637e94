// The bench's stage table child: CPU ms per image, stage by stage, one image
// at a time (see ../bench.mjs).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { batchSize, cpuMs, photoList } from './options.mjs';
import { sharpView } from './workers.mjs';

const viewSize = 224 * 224 * 3;

/** Each photo read and its header, and `plans` random plans of each. */
async function planItems(sharp, lib, transform, plans) {
  const photos = photoList();
  const buffers = await Promise.all(photos.map((p) => readFile(p)));
  const headers = await Promise.all(buffers.map((b) => sharp(b).metadata()));
  const items = [];
  for (let p = 0; p < photos.length; p++) {
    for (let s = 0; s < plans; s++) {
      const seed = 1000 * s + p;
      const g = transform.plan(headers[p].width, headers[p].height, new lib.Random(seed)).views[0];
      items.push({ p, seed, g, icc: Boolean(headers[p].icc) });
    }
  }
  return { photos, buffers, headers, items };
}

/** The stages that read, decode and resize with sharp: [name, (item) => work]. */
function sharpStages(sharp, { photos, buffers }) {
  const pipeline = ({ p, g }, { kernel = 'linear', ignoreIcc = true } = {}) =>
    sharpView(sharp(buffers[p], { ignoreIcc }), g, kernel);
  const decodeAll = ({ p }) => sharp(buffers[p], { ignoreIcc: true }).raw().toBuffer();
  const decodeAllIcc = ({ p }) => sharp(buffers[p]).raw().toBuffer();
  return [
    ['read the file (fs.readFile)', ({ p }) => readFile(photos[p])],
    [
      'header: sharp metadata() (now only for non-JPEG input)',
      ({ p }) => sharp(buffers[p]).metadata(),
    ],
    ['decode the whole image → raw RGB, ICC profile ignored', decodeAll],
    ["  same, ICC profile applied (sharp's default)", decodeAllIcc],
    [
      'one pipeline: decode + resize (bilinear) + crop + flip → raw, ICC ignored',
      (item) => pipeline(item),
    ],
    ['  same, lanczos3 (sharp default kernel)', (item) => pipeline(item, { kernel: 'lanczos3' })],
    ['  same, bicubic', (item) => pipeline(item, { kernel: 'cubic' })],
    [
      "  same, ICC applied (sharp's default): the plain-sharp pipeline",
      (item) => pipeline(item, { ignoreIcc: false }),
    ],
  ];
}

/** The fast path's render, our transformImage (both paths) and the float conversion. */
function oursStages(lib, jpegAddon, transform, { buffers }) {
  const { transformImage, IMAGENET_MEAN_255 } = lib;
  const render = ({ p, g }) => {
    const pre = { left: 0, top: 0, width: g.sourceWidth, height: g.sourceHeight };
    const c = g.postCrop;
    // prettier-ignore
    const params = [1e9, pre.left, pre.top, pre.width, pre.height, g.resize.width,
      g.resize.height, c.left, c.top, c.width, c.height, g.flip ? 1 : 0];
    return jpegAddon.renderJpeg(buffers[p], new Uint8Array(c.width * c.height * 3), params);
  };
  const pixels = new Uint8Array(viewSize).map((_, i) => (i * 37) & 255);
  const out = new Float32Array(viewSize);
  const [m0, m1, m2] = IMAGENET_MEAN_255;
  const floatLoop = () => {
    for (let i = 0; i < viewSize; i += 3) {
      out[i] = pixels[i] - m0;
      out[i + 1] = pixels[i + 1] - m1;
      out[i + 2] = pixels[i + 2] - m2;
    }
  };
  return [
    ['fast path alone: partial libjpeg-turbo decode + Pillow bilinear + crop + flip → raw', render],
    [
      'ours: transformImage(buffer, resnetPaperTrain()): header, plan, fast path, floats',
      ({ p, seed }) => transformImage(buffers[p], transform, { seed }),
    ],
    [
      "  same, decode: { decoder: 'sharp' } (the sharp path)",
      ({ p, seed }) =>
        transformImage(buffers[p], transform, { seed, decode: { decoder: 'sharp' } }),
    ],
    [
      'float conversion + lighting + mean subtraction, JavaScript loop (without the addon)',
      floatLoop,
    ],
    [
      "  same, the addon's normalize (what the loader uses)",
      () => jpegAddon.normalize(out, 0, pixels, [1, 1, 1, -m0, -m1, -m2]),
    ],
  ];
}

/**
 * The least CPU ms of each stage on each item over `reps` repetitions (after
 * one warm-up), interleaved (every stage on an item, then the next item):
 * load from other processes shifts all stages alike instead of whichever
 * ran during a busy spell.
 */
async function leastCpuMs(stages, items, reps) {
  const best = stages.map(() => new Float64Array(items.length).fill(Infinity));
  for (let r = -1; r < reps; r++) {
    for (let k = 0; k < items.length; k++) {
      for (let s = 0; s < stages.length; s++) {
        const c0 = process.cpuUsage();
        await stages[s][1](items[k]);
        const ms = cpuMs(process.cpuUsage(c0));
        if (r >= 0) best[s][k] = Math.min(best[s][k], ms);
      }
    }
  }
  return best;
}

/**
 * Batching allocates 19 MB per batch, and the garbage collection it causes
 * lands on whatever runs next: measured on its own, 20 batches in a row.
 */
function batchingMs(tf) {
  const c0 = process.cpuUsage();
  for (let b = 0; b < 20; b++) {
    const x = tf.tensor4d(new Float32Array(batchSize * viewSize), [batchSize, 224, 224, 3]);
    x.dispose();
  }
  return cpuMs(process.cpuUsage(c0)) / (20 * batchSize);
}

/** CPU ms per image, stage by stage, one image at a time. */
export async function stagesWorker(plans) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const sharp = (await import('sharp')).default;
  const lib = await import('../../dist/index.js');
  const addonPath = lib.jpegFastPath().path;
  if (!addonPath) throw new Error('bench: the JPEG fast path did not load on this machine.');
  const jpegAddon = createRequire(import.meta.url)(addonPath);
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  sharp.concurrency(1);
  const transform = lib.resnetPaperTrain();
  const data = await planItems(sharp, lib, transform, plans);
  const { photos, headers, items } = data;
  const stages = [...sharpStages(sharp, data), ...oursStages(lib, jpegAddon, transform, data)];
  const best = await leastCpuMs(stages, items, 3);
  const mean = (values, keep = () => true) => {
    let total = 0;
    let n = 0;
    values.forEach((v, k) => {
      if (keep(items[k])) {
        total += v;
        n++;
      }
    });
    return total / n;
  };
  const rows = stages.map(([name], s) => [name, mean(best[s])]);
  rows.push([
    'batching: a Float32Array + tf.tensor4d per batch of 32, GC included (÷ 32)',
    batchingMs(tf),
  ]);
  const withIcc = (item) => item.icc;
  const iccPhotos = photos.filter((_, p) => headers[p].icc).length;
  rows.splice(4, 0, [
    `  ICC conversion alone, per photo with a profile (${iccPhotos} of ${photos.length})`,
    mean(best[3], withIcc) - mean(best[2], withIcc),
  ]);
  return { rows, photos: photos.length, plans };
}
