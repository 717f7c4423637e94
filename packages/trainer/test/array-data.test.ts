import * as tf from '@tensorflow/tfjs-core';
import {
  centerCrop,
  compose,
  imageFolder,
  pad,
  randomCrop,
  randomHorizontalFlip,
} from '@convnets/imagenet-data';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ResumeMismatchError,
  arrayEvaluationData,
  arrayTrainingData,
  folderEvaluationData,
  folderTrainingData,
  latestCheckpoint,
  train,
  type TrainingData,
} from '../src';
import { tempDir, tinyDataset, tinyNet } from './helpers';

/** Every folder of this file lies in one temporary root, removed at the end. */
const root = tempDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fresh = () => mkdtempSync(join(root, 'case-'));

const [H, W] = [5, 7];
const N = 6;
/** Image i, pixel (x, y), channel c: a distinct non-zero byte, so padding (0) and position show. */
const value = (i: number, x: number, y: number, c: number) =>
  1 + ((i * 53 + y * 29 + x * 7 + c) % 250);

/** The same six 5×7 images as PNG files (classes a, b) and as arrays. */
async function twoSources() {
  const folderRoot = fresh();
  const bytes = new Float32Array(N * H * W * 3);
  for (let i = 0; i < N; i++) {
    const pixels = Buffer.alloc(H * W * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < 3; c++) pixels[(y * W + x) * 3 + c] = value(i, x, y, c);
    bytes.set(pixels, i * H * W * 3);
    const folder = join(folderRoot, i < 3 ? 'a' : 'b');
    mkdirSync(folder, { recursive: true });
    const png = await sharp(pixels, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer();
    writeFileSync(join(folder, `img${i}.png`), png);
  }
  const dataset = await imageFolder(folderRoot);
  // Sample i of the folder is image i of the arrays.
  expect(dataset.samples.map((s) => basename(s.path))).toEqual(
    Array.from({ length: N }, (_, i) => `img${i}.png`),
  );
  const labels = [0, 0, 0, 1, 1, 1];
  return {
    dataset,
    arrays: { images: bytes, imageShape: [H, W, 3] as const, labels, classes: ['a', 'b'] },
  };
}

async function read(data: TrainingData, epoch: number, position: number) {
  const out: { images: number[]; labels: number[]; next: unknown }[] = [];
  for await (const batch of data.batches(epoch, position)) {
    out.push({
      images: Array.from(batch.images.dataSync()),
      labels: Array.from(batch.labels.dataSync()),
      next: batch.next,
    });
    tf.dispose([batch.images, batch.labels]);
  }
  return out;
}

describe('arrayTrainingData', () => {
  it('shuffles, pads, crops and flips exactly as the image loader does for a folder of the same images', async () => {
    const { dataset, arrays } = await twoSources();
    const transform = compose([pad(2), randomCrop([H, W]), randomHorizontalFlip(0.5)]);
    const folder = folderTrainingData(dataset, {
      transform,
      batchSize: 2,
      seed: 9,
      concurrency: 2,
    });
    const array = arrayTrainingData(arrays, { batchSize: 2, seed: 9, padCrop: 2, flip: true });
    const before = tf.memory().numTensors;
    const crops = new Set<string>();
    for (const [epoch, position] of [
      [0, 0],
      [1, 0],
      [3, 4], // a resumed epoch
    ]) {
      const fromArrays = await read(array, epoch, position);
      const fromFiles = await read(folder, epoch, position);
      expect(fromArrays).toHaveLength((N - position) / 2);
      expect(fromArrays).toEqual(fromFiles);
      for (const b of fromArrays) crops.add(b.images.slice(0, H * W * 3).join());
    }
    expect(tf.memory().numTensors).toBe(before);
    // The augmentation does something: no two first images of a batch alike, and some padding shows.
    expect(crops.size).toBe(3 + 3 + 1);
    const all = [...crops].join().split(',').map(Number);
    expect(all).toContain(0);
  });

  it('without augmentation, batches hold the images unchanged, in the shuffled order', async () => {
    const { arrays } = await twoSources();
    const array = arrayTrainingData(arrays, { batchSize: 3, seed: 9, shuffle: false });
    const [first, second] = await read(array, 0, 0);
    expect(first.images).toEqual(Array.from(arrays.images.subarray(0, 3 * H * W * 3)));
    expect(second.labels).toEqual([1, 1, 1]);
    expect(second.next).toEqual({ epoch: 0, position: 6 });
  });

  it('refuses a padding as large as the image', () => {
    expect(() => arrayTrainingData(tinyDataset(8), { batchSize: 4, padCrop: 8 })).toThrow(
      /"padCrop" must be less than the image's height and width \(8×8\); received 8/,
    );
  });

  it('a checkpoint of the old cropping (no transform in its fingerprint) is refused by name', async () => {
    const out = fresh();
    const common = {
      model: tinyNet(),
      data: arrayTrainingData(tinyDataset(16), { batchSize: 4, seed: 1, padCrop: 1 }),
      steps: 2,
      epochs: 1,
      lr: 0.01,
      outDir: out,
      handleSignals: false,
    };
    await train(common);
    const path = (await latestCheckpoint(out))!;
    const state = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8'));
    expect(state.key.data.transform).toBe('pad(1) → randomCrop(8×8)');
    delete state.key.data.transform;
    writeFileSync(join(path, 'state.json'), JSON.stringify(state));
    const resumed = train({ ...common, model: tinyNet(), steps: 4, resume: true });
    await expect(resumed).rejects.toThrow(ResumeMismatchError);
    await expect(resumed).rejects.toThrow(
      /the training data's transform differs \(checkpoint: undefined, this run: pad\(1\) → randomCrop\(8×8\)\)/,
    );
  });

  it('with a transform, renders 8-bit images (crops, flips, normalisation) as the loader renders the files', async () => {
    const { dataset, arrays } = await twoSources();
    const bytes = { ...arrays, images: Uint8Array.from(arrays.images) };
    const normalization = { scale: 1 / 255, mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.25] } as const;
    const transform = compose([pad(2), randomCrop([H, W]), randomHorizontalFlip(0.5)], {
      normalization,
    });
    const folder = folderTrainingData(dataset, {
      transform,
      batchSize: 2,
      seed: 4,
      concurrency: 2,
    });
    const array = arrayTrainingData(bytes, { transform, batchSize: 2, seed: 4 });
    expect(array.fingerprint.transform).toBe(transform.name);
    const before = tf.memory().numTensors;
    for (const [epoch, position] of [
      [0, 0],
      [2, 2],
    ]) {
      const fromArrays = await read(array, epoch, position);
      expect(fromArrays).toEqual(await read(folder, epoch, position));
      // Normalised: (0 - 0.5) / 0.2 = -2.5 where padding shows in red, never a raw byte value.
      expect(Math.max(...fromArrays.flatMap((b) => b.images))).toBeLessThan(5);
    }
    const evaluation = compose([centerCrop([H, W])], { training: false, normalization });
    const batchesOf = async (data: ReturnType<typeof arrayEvaluationData>) => {
      const out: number[][] = [];
      for await (const b of data.batches()) {
        out.push([...b.images.dataSync(), ...b.labels.dataSync()]);
        tf.dispose([b.images, b.labels]);
      }
      return out;
    };
    expect(
      await batchesOf(arrayEvaluationData(bytes, { transform: evaluation, batchSize: 4 })),
    ).toEqual(
      await batchesOf(folderEvaluationData(dataset, { transform: evaluation, batchSize: 4 })),
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a transform for float images, or with padCrop and flip', async () => {
    const { arrays } = await twoSources();
    const transform = compose([pad(1), randomCrop([H, W])]);
    expect(() => arrayTrainingData(arrays, { transform, batchSize: 2 })).toThrow(
      'arrayTrainingData: option "transform" needs 8-bit RGB images (a Uint8Array, 3 channels); received a Float32Array of 3 channels.',
    );
    const bytes = { ...arrays, images: Uint8Array.from(arrays.images) };
    expect(() => arrayTrainingData(bytes, { transform, batchSize: 2, flip: true })).toThrow(
      'option "transform" replaces options "padCrop" and "flip"',
    );
  });
});
