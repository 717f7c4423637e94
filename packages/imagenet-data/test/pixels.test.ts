import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  centerCrop,
  cifarEval,
  cifarTrain,
  compose,
  decodeImage,
  jpegFastPath,
  multiScaleEval,
  preprocess,
  preprocessViews,
  resize,
  resizeShorterSide,
  resnetPaperEval,
  resnetPaperTrain,
  tenCrop,
  tenCropViews,
  torchvisionEval,
  torchvisionTrain,
  transformImage,
  transformPixels,
  type DecodedImage,
  type Transform,
  type TransformStep,
} from '../src';
import { Random } from '../src/rng';
import { FIXTURES } from './helpers';

// Written by scripts/make-pil-fixtures.py with Debian's Pillow 9.4 and
// torchvision 0.14: for each JPEG, the SHA-256 of PIL's decoded RGB and of
// torchvision's transforms on that PIL image, and sampled float values of its
// whole evaluation transform in [height, width, 3] order.
interface PilImage {
  file: string;
  width: number;
  height: number;
  decoded: string;
  bytes?: Record<string, string>;
  tenCrop?: string[];
  floats: Record<string, [number, number][]>;
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'pil-pixels.json'), 'utf8')) as {
  images: PilImage[];
};
const photos = fixture.images.filter((image) => image.bytes);

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** Whether two float arrays hold the same bits (vitest's toEqual is slow on 150k values). */
const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );

/** The steps of each torchvision transform in the fixture, by its key. */
function stepsFor(key: string): TransformStep[] {
  const fixed: Record<string, TransformStep[]> = {
    'Resize(256), CenterCrop(224)': [resizeShorterSide(256), centerCrop(224)],
    'Resize(232), CenterCrop(224)': [resizeShorterSide(232), centerCrop(224)],
    'Resize(256)': [resizeShorterSide(256)],
    'Resize(480)': [resizeShorterSide(480)],
    'Resize(24)': [resizeShorterSide(24)],
    'Resize((224, 224))': [resize(224)],
  };
  if (fixed[key]) return fixed[key];
  const crop = /^CenterCrop\(\((\d+), (\d+)\)\), Resize\(\(224, 224\)\)$/.exec(key);
  if (!crop) throw new Error(`no steps for the fixture's transform ${key}`);
  return [centerCrop([Number(crop[1]), Number(crop[2])]), resize(224)];
}

// The decodes the tests feed to the in-memory path: sharp's, which equal
// PIL's for these complete JPEGs (checked first).
const decoded = new Map<string, DecodedImage>();
beforeAll(async () => {
  for (const image of fixture.images) {
    decoded.set(image.file, await decodeImage(join(FIXTURES, image.file)));
  }
});

describe("resizing in memory, against Pillow's (torchvision's) pixels", () => {
  it('starts from the RGB bytes PIL decodes', () => {
    for (const image of fixture.images) {
      const d = decoded.get(image.file)!;
      expect([image.file, d.width, d.height, sha256(d.data)]).toEqual([
        image.file,
        image.width,
        image.height,
        image.decoded,
      ]);
    }
  });

  it('gives torchvision 0.14 Resize / CenterCrop byte for byte (7 transforms × 6 JPEGs)', () => {
    for (const image of photos) {
      const d = decoded.get(image.file)!;
      for (const [key, hash] of Object.entries(image.bytes!)) {
        const { views } = transformPixels(d, compose(stepsFor(key)), new Random(0));
        expect(views).toHaveLength(1);
        expect([image.file, key, sha256(views[0].data)]).toEqual([image.file, key, hash]);
      }
    }
  });

  it("gives torchvision's Resize(256) + TenCrop(224), in its order", () => {
    for (const image of photos) {
      const t = compose([resizeShorterSide(256), tenCropViews(224)]);
      const { views } = transformPixels(decoded.get(image.file)!, t, new Random(0));
      expect([image.file, views.map((v) => sha256(v.data))]).toEqual([image.file, image.tenCrop]);
    }
  });
});

/** The decoded RGB bytes as RGBA, with an alpha channel that varies (and must be ignored). */
function withAlpha(d: DecodedImage): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(d.width * d.height * 4);
  for (let i = 0, j = 0; i < d.data.length; i += 3, j += 4) {
    rgba.set(d.data.subarray(i, i + 3), j);
    rgba[j + 3] = (j * 7) % 256;
  }
  return rgba;
}

const int32Tensor = (d: DecodedImage) =>
  tf.tensor3d(Int32Array.from(d.data), [d.height, d.width, 3], 'int32');

describe('preprocess: tensors and browser ImageData, against Pillow and torchvision', () => {
  it("gives Pillow's bytes from an int32 tensor, a float32 tensor and an RGBA ImageData", () => {
    const key = 'Resize(232), CenterCrop(224)';
    const t = compose(stepsFor(key)); // no normalisation: the values are the bytes
    for (const image of photos) {
      const d = decoded.get(image.file)!;
      const inputs = {
        int32: int32Tensor(d),
        float32: tf.tensor3d(Float32Array.from(d.data), [d.height, d.width, 3]),
      };
      const imageData = { data: withAlpha(d), width: d.width, height: d.height };
      for (const input of [inputs.int32, inputs.float32, imageData]) {
        const batch = preprocess(input, t);
        expect(batch.shape).toEqual([1, 224, 224, 3]);
        expect(batch.dtype).toBe('float32');
        expect(sha256(Uint8Array.from(batch.dataSync()))).toBe(image.bytes![key]);
        batch.dispose();
      }
      tf.dispose(Object.values(inputs));
    }
  });

  it("gives torchvision's Resize(232), CenterCrop(224), ToTensor(), Normalize() floats", () => {
    const key = 'Resize(232), CenterCrop(224), ToTensor(), Normalize(IMAGENET)';
    for (const image of photos) {
      const pixels = int32Tensor(decoded.get(image.file)!);
      const batch = preprocess(pixels, torchvisionEval({ resize: 232 }));
      const values = batch.dataSync();
      // torchvision divides and subtracts in float32 steps; one rounding here: a few ulps apart.
      for (const [i, expected] of image.floats[key]) expect(values[i]).toBeCloseTo(expected, 5);
      tf.dispose([pixels, batch]);
    }
  });

  it("gives torchvision's ToTensor(), Normalize() for CIFAR-10 (cifarEval)", () => {
    const cifar = fixture.images.find((image) => image.file.startsWith('cifar10'))!;
    const [view] = preprocessViews(decoded.get(cifar.file)!, cifarEval());
    expect([view.height, view.width]).toEqual([32, 32]);
    for (const [i, expected] of cifar.floats['ToTensor(), Normalize(CIFAR10)'])
      expect(view.data[i]).toBeCloseTo(expected, 5);
  });
});

describe('preprocess equals the file path (transformImage) for the same pixels', () => {
  const fast = jpegFastPath().libjpegTurbo !== undefined;

  const same = async (file: string, t: Transform, seed = 0) => {
    const d = decoded.get(file)!;
    const fromFile = await transformImage(join(FIXTURES, file), t, { seed });
    const inMemory = preprocessViews(d, t, { seed });
    expect(inMemory.map((v) => [v.height, v.width])).toEqual(
      fromFile.map((v) => [v.height, v.width]),
    );
    expect(inMemory.map((v, i) => sameBits(v.data, fromFile[i].data))).toEqual(
      fromFile.map(() => true),
    );
    return fromFile;
  };

  // Resized views: the file path renders them with the JPEG addon (Pillow's arithmetic too).
  it.runIf(fast)('evaluation presets: float for float, every view', async () => {
    for (const image of photos) {
      for (const t of [torchvisionEval(), torchvisionEval({ resize: 232 }), resnetPaperEval()])
        await same(image.file, t);
      await same(image.file, multiScaleEval());
      const views = await same(image.file, tenCrop());
      const pixels = int32Tensor(decoded.get(image.file)!);
      const batch = preprocess(pixels, tenCrop());
      expect(batch.shape).toEqual([10, 224, 224, 3]);
      const flat = new Float32Array(10 * 224 * 224 * 3);
      views.forEach((v, i) => flat.set(v.data, i * v.data.length));
      expect(sameBits(batch.dataSync() as Float32Array, flat)).toBe(true);
      tf.dispose([pixels, batch]);
    }
  });

  it.runIf(fast)('training presets: the same draws for the same seed', async () => {
    for (const image of photos.slice(0, 3)) {
      for (const seed of [1, 2]) {
        await same(image.file, torchvisionTrain(), seed);
        await same(image.file, resnetPaperTrain(), seed); // lighting too
      }
    }
  });

  it('CIFAR presets (no resize): the same crops, padding and flips', async () => {
    const cifar = fixture.images.find((image) => image.file.startsWith('cifar10'))!;
    await same(cifar.file, cifarEval());
    for (const seed of [0, 1, 2, 3]) await same(cifar.file, cifarTrain(), seed);
  });
});

describe('preprocess: tensors in, one tensor out, bad input named', () => {
  const d = () => decoded.get(photos[0].file)!;

  it('leaves no tensor behind and does not dispose its input', () => {
    const pixels = int32Tensor(d());
    const before = tf.memory().numTensors;
    const batch = preprocess(pixels, torchvisionEval());
    expect(tf.memory().numTensors).toBe(before + 1);
    batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(pixels.isDisposed).toBe(false);
    expect(() => preprocess(pixels, multiScaleEval())).toThrow(/preprocessViews/);
    expect(tf.memory().numTensors).toBe(before);
    pixels.dispose();
  });

  it('refuses tensors of another rank, channel count or dtype, and disposed ones', () => {
    const t = torchvisionEval();
    const cases: [tf.Tensor, RegExp][] = [
      [
        tf.zeros([4, 4]),
        /option "pixels" must be a tf\.Tensor3D \[height, width, 3\].*received a tf\.Tensor of shape \[4,4\]/,
      ],
      [tf.zeros([4, 4, 2]), /received a tf\.Tensor of shape \[4,4,2\]/],
      [tf.zeros([0, 4, 3]), /received a tf\.Tensor of shape \[0,4,3\]/],
      [tf.zeros([4, 4, 3], 'bool'), /dtype "bool" cannot hold pixels; expected int32 or float32/],
      [tf.fill([4, 4, 3], 12.5), /integers in 0 … 255 .*found 12\.5 at \[0, 0, 0\]/],
      [tf.fill([4, 4, 3], 256, 'int32'), /found 256 at \[0, 0, 0\]/],
      [tf.fill([4, 4, 3], -1, 'int32'), /found -1 at/],
    ];
    for (const [pixels, message] of cases) {
      expect(() => preprocess(pixels as tf.Tensor3D, t)).toThrow(message);
      pixels.dispose();
    }
    const gone = tf.zeros([4, 4, 3]);
    gone.dispose();
    expect(() => preprocess(gone as tf.Tensor3D, t)).toThrow(/already been disposed/);
  });

  it('refuses bytes of the wrong type or length, and says what it expected', () => {
    const t = cifarEval({ size: 2 });
    const rgb = new Uint8Array(4 * 3 * 3);
    const cases: [unknown, RegExp][] = [
      [
        null,
        /option "pixels" must be a tf\.Tensor3D .* or \{ data: Uint8Array \| Uint8ClampedArray, width, height, channels\?: 3 \| 4 \}; received null/,
      ],
      [
        { data: new Float32Array(36), width: 4, height: 3 },
        /"pixels\.data" must be a Uint8Array or Uint8ClampedArray \(for floats, pass a tensor\); received a Float32Array/,
      ],
      [
        { data: rgb, width: 0, height: 3 },
        /"pixels\.width" must be a positive integer; received 0/,
      ],
      [
        { data: rgb, width: 4, height: 3, channels: 2 },
        /"pixels\.channels" must be 3 \(RGB\) or 4 \(RGBA\); received 2/,
      ],
      [
        { data: rgb, width: 4, height: 3, channels: 4 },
        /a 3×4 \(height×width\) image needs 48 values in pixels\.data; it holds 36/,
      ],
      [
        { data: rgb, width: 5, height: 3 },
        /a 3×5 \(height×width\) image needs 45 \(RGB\) or 60 \(RGBA\) values in pixels\.data; it holds 36/,
      ],
    ];
    for (const [pixels, message] of cases)
      expect(() => preprocess(pixels as never, t)).toThrow(message);
    expect(() => preprocess({ data: rgb, width: 4, height: 3 }, {} as Transform)).toThrow(
      /option "transform" must be a transform/,
    );
    expect(() => preprocess({ data: rgb, width: 4, height: 3 }, t, { sed: 1 } as never)).toThrow(
      /unknown option "sed"/,
    );
    expect(() => preprocess({ data: rgb, width: 4, height: 3 }, cifarEval())).toThrow(
      /cannot crop 32×32 \(height×width\) from an image of 3×4/,
    );
  });
});
