import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  centerCrop,
  compose,
  createLoader,
  imageFolder,
  multiScaleEval,
  randomCrop,
  randomHorizontalFlip,
  resizeShorterSide,
  resnetPaperTrain,
  synthesizeImageFolder,
  tenCropViews,
  type Batch,
  type ImageDataset,
  type ImageLoader,
  type LoaderOptions,
} from '../src';
import { expectNoLeak, noisyJpeg, PHOTOS, tempDir, writeFile } from './helpers';

let tmp: ReturnType<typeof tempDir>;
let shapes: ImageDataset; // 3 classes × 8 = 24 images of 24×24
let big: ImageDataset; // 4 classes × 10 = 40 images
beforeAll(async () => {
  tmp = tempDir();
  const a = await synthesizeImageFolder(join(tmp.dir, 'shapes'), {
    classes: 3,
    perClass: 8,
    valPerClass: 1,
    size: 24,
    seed: 1,
  });
  shapes = await imageFolder(a.train);
  const b = await synthesizeImageFolder(join(tmp.dir, 'big'), {
    classes: 4,
    perClass: 10,
    valPerClass: 1,
    size: 20,
    seed: 2,
  });
  big = await imageFolder(b.train);
});
afterAll(() => tmp.remove());

const train = compose([resizeShorterSide([18, 24]), randomCrop(16), randomHorizontalFlip()], {
  normalization: { scale: 1 / 255 },
});
const evaluate = compose([centerCrop(16)], { training: false });

interface Seen {
  indices: number[];
  epoch: number;
  labels: number[];
  pixels: Float32Array;
}

/** Drains a loader (or `limit` batches of it) into plain arrays, disposing every tensor. */
async function drain(loader: ImageLoader, limit = Infinity): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const batch of loader) {
    out.push(record(batch));
    if (out.length >= limit) break;
  }
  return out;
}
function record(batch: Batch): Seen {
  const seen = {
    indices: [...batch.indices],
    epoch: batch.epoch,
    labels: Array.from(batch.labels.dataSync()),
    pixels: batch.images.dataSync() as Float32Array,
  };
  tf.dispose([batch.images, batch.labels]);
  return seen;
}
const options = (extra: Partial<LoaderOptions> = {}): LoaderOptions => ({
  transform: train,
  batchSize: 4,
  seed: 7,
  concurrency: 3,
  ...extra,
});

describe('batches', () => {
  it('are NHWC float32 images with int32 or one-hot labels', async () => {
    const loader = createLoader(shapes, options({ epochs: 1 }));
    const it = loader[Symbol.asyncIterator]();
    const { value } = await it.next();
    expect(value.images.shape).toEqual([4, 16, 16, 3]);
    expect(value.images.dtype).toBe('float32');
    expect(value.labels.dtype).toBe('int32');
    const labels = Array.from(value.labels.dataSync());
    expect(labels).toEqual(value.indices.map((i: number) => shapes.samples[i].label));
    const max = tf.max(value.images);
    expect(max.dataSync()[0]).toBeLessThanOrEqual(1); // scale 1/255
    tf.dispose([value.images, value.labels, max]);
    await it.return!();

    const hot = createLoader(shapes, options({ labels: 'oneHot' }));
    const [first] = await drain(hot, 1);
    expect(first.labels).toHaveLength(12);
    first.indices.forEach((index, row) => {
      const expected = [0, 0, 0];
      expected[shapes.samples[index].label] = 1;
      expect(first.labels.slice(row * 3, row * 3 + 3)).toEqual(expected);
    });
  });

  it('hold the views of each image consecutively for ten-crop', async () => {
    const loader = createLoader(shapes, { transform: compose([tenCropViews(12)]), batchSize: 2 });
    const [first] = await drain(loader, 1);
    expect(first.pixels.length).toBe(2 * 10 * 12 * 12 * 3);
    expect(first.labels).toHaveLength(2);
  });

  it('visit every sample once per epoch, in a new order each epoch, and stop after `epochs`', async () => {
    const loader = createLoader(shapes, options({ epochs: 2 }));
    const batches = await drain(loader);
    expect(batches).toHaveLength(12);
    const epoch0 = batches.filter((b) => b.epoch === 0).flatMap((b) => b.indices);
    const epoch1 = batches.filter((b) => b.epoch === 1).flatMap((b) => b.indices);
    const all = Array.from({ length: 24 }, (_, i) => i);
    expect([...epoch0].sort((a, b) => a - b)).toEqual(all);
    expect([...epoch1].sort((a, b) => a - b)).toEqual(all);
    expect(epoch0).not.toEqual(epoch1);
    expect(epoch0).not.toEqual(all);
    expect(loader.state).toMatchObject({ epoch: 2, position: 0 });
    expect(await drain(loader)).toEqual([]);
  });

  it('keep the dataset order when not shuffling (the default for evaluation)', async () => {
    const batches = await drain(createLoader(shapes, { transform: evaluate, batchSize: 5 }));
    expect(batches.flatMap((b) => b.indices)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(batches.map((b) => b.indices.length)).toEqual([5, 5, 5, 5, 4]);
  });

  it('drop the last incomplete batch when asked (the default for training)', async () => {
    const loader = createLoader(shapes, options({ batchSize: 5 }));
    expect(loader.batchesPerEpoch).toBe(4);
    const batches = await drain(loader);
    expect(batches.map((b) => b.indices.length)).toEqual([5, 5, 5, 5]);
    expect(loader.stats).toMatchObject({ seen: 20, dropped: 4 });
    const kept = await drain(createLoader(shapes, options({ batchSize: 5, dropLast: false })));
    expect(kept.map((b) => b.indices.length)).toEqual([5, 5, 5, 5, 4]);
  });

  it('shard by rank: disjoint, equal, and together the whole epoch', async () => {
    const shards = await Promise.all(
      [0, 1, 2].map(async (rank) =>
        (await drain(createLoader(shapes, options({ rank, worldSize: 3 })))).flatMap(
          (b) => b.indices,
        ),
      ),
    );
    expect(shards.map((s) => s.length)).toEqual([8, 8, 8]);
    expect(shards.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(() => createLoader(shapes, options({ rank: 3, worldSize: 3 }))).toThrow(
      /option "rank" must be less than worldSize \(3\); received 3/,
    );
  });
});

describe('determinism and resume', () => {
  it('gives identical batches for the same seed, whatever the concurrency', async () => {
    const a = await drain(createLoader(shapes, options({ epochs: 2, concurrency: 1 })));
    const b = await drain(
      createLoader(shapes, options({ epochs: 2, concurrency: 8, prefetch: 1 })),
    );
    expect(b.map((x) => x.indices)).toEqual(a.map((x) => x.indices));
    b.forEach((x, i) => expect(x.pixels).toEqual(a[i].pixels));
    const c = await drain(createLoader(shapes, options({ seed: 8 })));
    expect(c.map((x) => x.indices)).not.toEqual(a.slice(0, c.length).map((x) => x.indices));
  });

  it('resumes exactly from a saved position, within and across epochs', async () => {
    const reference = await drain(createLoader(shapes, options({ epochs: 3 })));
    for (const stopAfter of [2, 6, 7]) {
      const first = createLoader(shapes, options({ epochs: 3 }));
      const head = await drain(first, stopAfter);
      const saved = JSON.parse(JSON.stringify(first.state));
      const rest = await drain(createLoader(shapes, options({ epochs: 3, resume: saved })));
      const joined = [...head, ...rest];
      expect(joined.map((x) => [x.epoch, x.indices])).toEqual(
        reference.map((x) => [x.epoch, x.indices]),
      );
      joined.forEach((x, i) => expect(x.pixels).toEqual(reference[i].pixels));
    }
  });

  it('continues from where a broken loop stopped when iterated again', async () => {
    const reference = await drain(createLoader(shapes, options()));
    const loader = createLoader(shapes, options());
    const head = await drain(loader, 2);
    const rest = await drain(loader);
    expect([...head, ...rest].map((x) => x.indices)).toEqual(reference.map((x) => x.indices));
  });

  it('refuses to resume with another seed, sharding or dataset', () => {
    const state = createLoader(shapes, options()).state;
    expect(() => createLoader(shapes, options({ seed: 1, resume: state }))).toThrow(
      /"resume" was saved with seed = 7, but this loader has seed = 1/,
    );
    expect(() => createLoader(big, options({ resume: state }))).toThrow(
      /saved with samples = 24, but this loader has samples = 40/,
    );
  });
});

describe('bad images', () => {
  let mixed: ImageDataset;
  let bad: string[];
  beforeAll(async () => {
    const root = join(tmp.dir, 'mixed');
    for (const [i, photo] of PHOTOS.entries()) {
      mkdirSync(join(root, `c${i % 2}`), { recursive: true });
      copyFileSync(photo, join(root, `c${i % 2}`, basename(photo)));
    }
    const jpeg = await noisyJpeg(300, 300);
    bad = [
      writeFile(join(root, 'c0', 'truncated.JPEG'), jpeg.subarray(0, jpeg.length >> 1)),
      writeFile(join(root, 'c0', 'empty.JPEG'), Buffer.alloc(0)),
      writeFile(
        join(root, 'c1', 'page.JPEG'),
        '<html><body>Flickr: photo unavailable</body></html>',
      ),
    ].sort();
    mixed = await imageFolder(root);
  });

  it('are skipped in training, counted and reported with their paths', async () => {
    const loader = createLoader(mixed, {
      transform: resnetPaperTrain(),
      batchSize: 2,
      seed: 3,
      dropLast: false,
    });
    const batches = await drain(loader);
    expect(
      batches
        .flatMap((b) => b.indices)
        .map((i) => basename(mixed.samples[i].path))
        .sort(),
    ).toEqual(PHOTOS.map((p) => basename(p)).sort());
    expect(batches.map((b) => b.indices.length)).toEqual([2, 2]);
    const { seen, skipped } = loader.stats;
    expect(skipped.map((s) => s.path).sort()).toEqual(bad);
    expect(seen + skipped.length).toBe(mixed.samples.length);
    expect(skipped.find((s) => s.path.endsWith('empty.JPEG'))!.reason).toMatch(/empty \(0 bytes\)/);
  });

  it('fail in strict mode (the default for evaluation) with the file named', async () => {
    const loader = createLoader(mixed, {
      transform: compose([resizeShorterSide(64), centerCrop(64)], { training: false }),
      batchSize: 2,
    });
    await expect(drain(loader)).rejects.toThrow(
      /cannot decode .*c0\/empty\.JPEG: the file is empty/,
    );
    const strictTrain = createLoader(mixed, {
      transform: resnetPaperTrain(),
      batchSize: 2,
      strict: true,
    });
    await expect(drain(strictTrain)).rejects.toThrow(/cannot decode .*\.JPEG/);
  });
});

describe('resources', () => {
  it('prefetches a bounded number of batches ahead of a slow consumer', async () => {
    const loader = createLoader(big, options({ prefetch: 2, concurrency: 2, batchSize: 4 }));
    const iterator = loader[Symbol.asyncIterator]();
    const first = await iterator.next();
    tf.dispose([first.value.images, first.value.labels]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    // 1 batch consumed + 2 ready + 1 being assembled, + 2 × concurrency decodes
    // ahead of it (running, or finished and waiting for their turn).
    const bound = 4 * (1 + 2 + 1) + 2 * 2;
    expect(loader.stats.decodesStarted).toBeGreaterThanOrEqual(4 * 3);
    expect(loader.stats.decodesStarted).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(40);
    await iterator.return!();
  });

  it('leaks no tensor over whole epochs, early exits and tf.data iteration', async () => {
    await expectNoLeak(async () => {
      await drain(createLoader(big, options({ epochs: 3 })));
    });
    await expectNoLeak(async () => {
      await drain(createLoader(big, options({ labels: 'oneHot' })), 2);
    });
    await expectNoLeak(async () => {
      const dataset = createLoader(big, options({ epochs: 2 })).toDataset();
      let batches = 0;
      await dataset.forEachAsync(({ xs, ys }) => {
        expect(xs.shape).toEqual([4, 16, 16, 3]);
        expect(ys.shape).toEqual([4]);
        batches++;
        tf.dispose([xs, ys]);
      });
      expect(batches).toBe(20);
    });
  });

  it('refuses transforms of varying size and a second concurrent iteration', async () => {
    expect(() => createLoader(shapes, { transform: multiScaleEval(), batchSize: 2 })).toThrow(
      /produces views of varying size, which cannot be batched; use transformImage\(\)/,
    );
    expect(() => createLoader(shapes, options({ batchsize: 3 } as never))).toThrow(
      /unknown option "batchsize"/,
    );
    const loader = createLoader(shapes, options());
    const iterator = loader[Symbol.asyncIterator]();
    expect(() => loader[Symbol.asyncIterator]()).toThrow(/already being iterated/);
    await iterator.return!();
  });
});
