import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

/** The real ILSVRC-2012 test photos copied into test/fixtures (00000001 is grayscale). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const PHOTOS = [1, 2, 3, 4].map((i) => join(FIXTURES, `ILSVRC2012_test_0000000${i}.JPEG`));

/** A fresh temporary folder; call the returned function to delete it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imagenet-data-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFile(path: string, data: Buffer | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** Raw RGB bytes where pixel (x, y) is (x, y, 77): any crop reveals its position. */
export function coordinatePixels(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = x;
      data[o + 1] = y;
      data[o + 2] = 77;
    }
  }
  return data;
}

/** A lossless PNG of {@link coordinatePixels}. */
export function coordinatePng(width: number, height: number): Promise<Buffer> {
  return sharp(coordinatePixels(width, height), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A solid-colour image in the given format. */
export function solid(
  width: number,
  height: number,
  rgb: [number, number, number],
  format: 'png' | 'jpeg' = 'png',
): Promise<Buffer> {
  const image = sharp({
    create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
  });
  return (format === 'png' ? image.png() : image.jpeg({ quality: 95 })).toBuffer();
}

/** A noisy JPEG, large enough that half of it is clearly truncated. */
export function noisyJpeg(width = 64, height = 48): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: 0, g: 0, b: 0 },
      noise: { type: 'gaussian', mean: 128, sigma: 50 },
    },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Runs `body` and checks that it leaves no tensor behind. */
export async function expectNoLeak(body: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await body();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`tensor leak: ${before} tensors before, ${after} after`);
}
