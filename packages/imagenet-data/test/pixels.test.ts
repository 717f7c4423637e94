import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  centerCrop,
  compose,
  decodeImage,
  resize,
  resizeShorterSide,
  tenCropViews,
  transformPixels,
  type DecodedImage,
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
