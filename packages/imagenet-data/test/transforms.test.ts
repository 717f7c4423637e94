import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  centerCrop,
  cifarTrain,
  compose,
  horizontalFlip,
  IMAGENET_MEAN,
  IMAGENET_MEAN_255,
  IMAGENET_PCA_LIGHTING,
  IMAGENET_STD,
  multiScaleEval,
  multiScaleViews,
  pad,
  Random,
  randomCrop,
  randomHorizontalFlip,
  resnetPaperEval,
  resnetPaperTrain,
  resize,
  resizeShorterSide,
  tenCrop,
  tenCropViews,
  torchvisionEval,
  torchvisionTrain,
  transformImage,
  transformPixels,
  vggPaperTrain,
  type TransformedView,
} from '../src';
import { coordinatePixels, coordinatePng, PHOTOS, solid, tempDir, writeFile } from './helpers';

let tmp: ReturnType<typeof tempDir>;
let coords40x30: string;
beforeAll(async () => {
  tmp = tempDir();
  coords40x30 = writeFile(join(tmp.dir, 'coords.png'), await coordinatePng(40, 30));
});
afterAll(() => tmp.remove());

const at = (v: TransformedView, x: number, y: number) => {
  const o = (y * v.width + x) * 3;
  return [v.data[o], v.data[o + 1], v.data[o + 2]];
};
const mirrored = (a: TransformedView, b: TransformedView) => {
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const p = at(a, x, y);
      const q = at(b, a.width - 1 - x, y);
      if (p[0] !== q[0] || p[1] !== q[1] || p[2] !== q[2]) return false;
    }
  }
  return true;
};

describe('geometry plans (no decoding)', () => {
  it('ResNet training: S is an integer in [256, 480] reaching both ends, crop 224 inside, flip about half', () => {
    const t = resnetPaperTrain();
    const rng = new Random(1);
    const shorter: number[] = [];
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const [view] = t.plan(500, 375, rng).views;
      const { width, height } = view.resize!;
      shorter.push(height);
      expect(Number.isInteger(height)).toBe(true);
      // torchvision's Resize(int): the long side is int(S · 500 / 375).
      expect(width).toBe(Math.floor((height * 500) / 375));
      const c = view.postCrop!;
      expect([c.width, c.height]).toEqual([224, 224]);
      expect(c.left).toBeGreaterThanOrEqual(0);
      expect(c.left + 224).toBeLessThanOrEqual(width);
      expect(c.top + 224).toBeLessThanOrEqual(height);
      if (view.flip) flips++;
    }
    expect(Math.min(...shorter)).toBe(256);
    expect(Math.max(...shorter)).toBe(480);
    // Binomial(2000, 0.5): 5 standard deviations is ±112.
    expect(Math.abs(flips - 1000)).toBeLessThan(112);
  });

  it('VGG training: fixed S = 384, and multi-scale S in [256, 512]', () => {
    const rng = new Random(2);
    expect(vggPaperTrain({ scale: 384 }).plan(640, 480, rng).views[0].resize).toEqual({
      width: 512,
      height: 384,
    });
    const multi = vggPaperTrain({ scale: [256, 512] });
    const s = Array.from({ length: 1000 }, () => multi.plan(480, 640, rng).views[0].resize!.width);
    expect(Math.min(...s)).toBe(256);
    expect(Math.max(...s)).toBe(512);
    expect(() => vggPaperTrain({ scale: 200 })).toThrow(
      /option "scale" must be at least the crop size \(224\); received 200/,
    );
  });

  it('torchvision training: crops of 8–100% of the area with aspect 3/4–4/3, resized to 224', () => {
    const t = torchvisionTrain();
    const rng = new Random(3);
    for (let i = 0; i < 1000; i++) {
      const [view] = t.plan(500, 400, rng).views;
      const c = view.preCrop!;
      const area = (c.width * c.height) / (500 * 400);
      // Rounding of the crop sides moves area and aspect a little past the bounds.
      expect(area).toBeGreaterThan(0.075);
      expect(area).toBeLessThanOrEqual(1);
      expect(c.width / c.height).toBeGreaterThan(0.7);
      expect(c.width / c.height).toBeLessThan(1.4);
      expect(view.resize).toEqual({ width: 224, height: 224 });
    }
  });

  it('rejects bad options, naming them', () => {
    expect(() => resnetPaperTrain({ scale: [480, 256] })).toThrow(
      /resnetPaperTrain: option "scale" must be a \[min, max\] pair with min <= max; received \[480, 256\]/,
    );
    expect(() => randomCrop(0)).toThrow(
      /randomCrop: option "size" must be a positive integer; received 0/,
    );
    expect(() => randomHorizontalFlip(2)).toThrow(
      /option "p" must be a number in \[0, 1\]; received 2/,
    );
    expect(() =>
      resnetPaperEval({ mean: { height: 10, width: 10, data: new Float32Array(300) } }),
    ).toThrow(
      /a per-pixel mean image of 10×10 needs a transform with that fixed output size; this one outputs 224×224/,
    );
  });
});

describe('rendered geometry on a coordinate image (pixel (x, y) = (x, y, 77))', () => {
  it('centre-crops where torchvision does, rounding half to even', async () => {
    const [v] = await transformImage(coords40x30, compose([centerCrop(20)]));
    // left = round((40 − 20) / 2) = 10, top = round((30 − 20) / 2) = 5.
    expect([v.width, v.height]).toEqual([20, 20]);
    expect(at(v, 0, 0)).toEqual([10, 5, 77]);
    expect(at(v, 19, 19)).toEqual([29, 24, 77]);
    const odd = writeFile(join(tmp.dir, 'coords41.png'), await coordinatePng(41, 31));
    const [w] = await transformImage(odd, compose([centerCrop(20)]));
    // (41 − 20) / 2 = 10.5 and (31 − 20) / 2 = 5.5: Python's round gives 10 and 6.
    expect(at(w, 0, 0)).toEqual([10, 6, 77]);
  });

  it('random crops are exact windows of the image', async () => {
    const t = compose([randomCrop(16)]);
    for (let seed = 0; seed < 5; seed++) {
      const [v] = await transformImage(coords40x30, t, { seed });
      const [left, top] = at(v, 0, 0);
      expect(left).toBeLessThanOrEqual(24);
      expect(top).toBeLessThanOrEqual(14);
      expect(at(v, 15, 15)).toEqual([left + 15, top + 15, 77]);
    }
  });

  it('a flip is an exact mirror, with or without a resize before the crop', async () => {
    const [plain] = await transformImage(coords40x30, compose([centerCrop(20)]));
    const [flipped] = await transformImage(
      coords40x30,
      compose([centerCrop(20), horizontalFlip()]),
    );
    expect(mirrored(plain, flipped)).toBe(true);
    const photo = PHOTOS[2];
    const [a] = await transformImage(photo, compose([resizeShorterSide(100), centerCrop(64)]));
    const [b] = await transformImage(
      photo,
      compose([resizeShorterSide(100), centerCrop(64), horizontalFlip()]),
    );
    expect(mirrored(a, b)).toBe(true);
  });

  it('ten-crop gives the four corners, the centre, then the same of the mirror image', async () => {
    const views = await transformImage(coords40x30, compose([tenCropViews(20)]));
    expect(views).toHaveLength(10);
    // Top-left pixel of each view, worked out by hand for a 40×30 image and 20×20 crops.
    expect(views.map((v) => at(v, 0, 0).slice(0, 2))).toEqual([
      [0, 0], // top-left
      [20, 0], // top-right
      [0, 10], // bottom-left
      [20, 10], // bottom-right
      [10, 5], // centre
      [39, 0], // mirror's top-left = mirrored top-right corner of the original
      [19, 0],
      [39, 10],
      [19, 10],
      [29, 5],
    ]);
    for (let i = 0; i < 5; i++)
      expect(
        mirrored(views[i], views[i === 0 ? 6 : i === 1 ? 5 : i === 2 ? 8 : i === 3 ? 7 : 9]),
      ).toBe(true);
  });

  it('the ten-crop preset resizes first, in the same order, each view equal to its single-view rendering', async () => {
    const views = await transformImage(PHOTOS[1], tenCrop());
    expect(views).toHaveLength(10);
    expect(views.every((v) => v.width === 224 && v.height === 224)).toBe(true);
    expect(mirrored(views[4], views[9])).toBe(true);
    // The ten views share one resize; the centre crop and its mirror must be
    // byte for byte what the one-view pipeline (resize, crop, flip in sharp) gives.
    const [centre] = await transformImage(PHOTOS[1], resnetPaperEval());
    const [centreFlipped] = await transformImage(
      PHOTOS[1],
      compose([resizeShorterSide(256), centerCrop(224), horizontalFlip()], {
        normalization: { mean: IMAGENET_MEAN_255 },
      }),
    );
    expect(views[4].data).toEqual(centre.data);
    expect(views[9].data).toEqual(centreFlipped.data);
  });

  it('views that share a resize are cut exactly, padding and mirror included', async () => {
    // coordinate pixels (x, y, 77) of a 6×5 image, padded by 1 (8×7), ten 3×3 crops.
    const path = writeFile(join(tmp.dir, 'coords6x5.png'), await coordinatePng(6, 5));
    const views = await transformImage(path, compose([pad(1), tenCropViews(3)]));
    const expected = (flip: boolean, left: number, top: number) => (x: number, y: number) => {
      // Padded column of the view's pixel, in the unmirrored padded image.
      const px = flip ? 7 - (left + x) : left + x;
      const sx = px - 1;
      const sy = top + y - 1;
      return sx >= 0 && sx < 6 && sy >= 0 && sy < 5 ? [sx, sy, 77] : [0, 0, 0];
    };
    const corners: [number, number][] = [
      [0, 0],
      [5, 0],
      [0, 4],
      [5, 4],
      [2, 2], // centre: round((8 − 3) / 2) = 2 (half to even), round((7 − 3) / 2) = 2
    ];
    views.forEach((v, i) => {
      const [left, top] = corners[i % 5];
      const want = expected(i >= 5, left, top);
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 3; x++) expect(at(v, x, y)).toEqual(want(x, y));
    });
    // Several resizes (multi-scale with mirrors): each mirror is exact.
    const scaled = await transformImage(
      coords40x30,
      compose([multiScaleViews([10, 20], { flip: true })]),
    );
    expect(scaled.map((v) => [v.height, v.width])).toEqual([
      [10, 13],
      [10, 13],
      [20, 26],
      [20, 26],
    ]);
    expect(mirrored(scaled[0], scaled[1])).toBe(true);
    expect(mirrored(scaled[2], scaled[3])).toBe(true);
  });

  it('CIFAR: 4 pixels of zero padding, a random 32×32 crop, a random flip', async () => {
    const path = writeFile(join(tmp.dir, 'coords32.png'), await coordinatePng(32, 32));
    const t = compose([pad(4), randomCrop(32), randomHorizontalFlip()]);
    const offsets = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const [v] = await transformImage(path, t, { seed });
      // The centre pixel always shows the image; infer the shift and the flip from it.
      const [cx, cy] = at(v, 16, 16);
      const flip = at(v, 17, 16)[0] === cx - 1;
      const dx = cx - 16;
      const dy = cy - 16;
      expect(Math.abs(dx)).toBeLessThanOrEqual(4);
      expect(Math.abs(dy)).toBeLessThanOrEqual(4);
      offsets.add(`${dx},${dy},${flip}`);
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const sx = flip ? cx - (x - 16) : cx + (x - 16);
          const sy = dy + y;
          const inside = sx >= 0 && sx < 32 && sy >= 0 && sy < 32;
          expect(at(v, x, y)).toEqual(inside ? [sx, sy, 77] : [0, 0, 0]);
        }
      }
    }
    expect(offsets.size).toBeGreaterThan(6);
    expect(cifarTrain().outputSize).toEqual([32, 32]);
  });

  it('multi-scale evaluation keeps the aspect ratio at each shorter side', async () => {
    // ILSVRC2012_test_00000002 is 447 wide, 500 high: long side = int(S · 500 / 447).
    const views = await transformImage(PHOTOS[1], multiScaleEval());
    expect(views.map((v) => [v.height, v.width])).toEqual([
      [250, 224],
      [286, 256],
      [429, 384],
      [536, 480],
      [715, 640],
    ]);
  });

  it('names the image when a crop does not fit', async () => {
    await expect(transformImage(coords40x30, compose([randomCrop(64)]))).rejects.toThrow(
      /coords\.png: .*cannot crop 64×64 \(height×width\) from an image of 30×40/,
    );
  });
});

describe('images in memory (transformPixels)', () => {
  it('pads, crops and mirrors floats of any channel count, by hand', () => {
    // A 2×3 one-channel image: rows [1 2 3] and [4 5 6].
    const image = { data: Float32Array.of(1, 2, 3, 4, 5, 6), width: 3, height: 2, channels: 1 };
    const padded = transformPixels(image, compose([pad(1), horizontalFlip()]), new Random(0));
    expect(padded.views).toHaveLength(1);
    expect(padded.views[0]).toMatchObject({ width: 5, height: 4, channels: 1 });
    // prettier-ignore
    expect(Array.from(padded.views[0].data)).toEqual([
      0, 0, 0, 0, 0,
      0, 3, 2, 1, 0,
      0, 6, 5, 4, 0,
      0, 0, 0, 0, 0,
    ]);
    expect(padded.views[0].data).toBeInstanceOf(Float32Array);
    const cropped = transformPixels(image, compose([pad(1), centerCrop([2, 2])]), new Random(0));
    // The padded 4×5 image's central 2×2: left = round-half-even(1.5) = 2, top = 1.
    expect(Array.from(cropped.views[0].data)).toEqual([2, 3, 5, 6]);
  });

  it('gives the pixels transformImage renders from the same image file, draw for draw', async () => {
    const [w, h] = [20, 14];
    const path = writeFile(join(tmp.dir, 'coords20x14.png'), await coordinatePng(w, h));
    const bytes = new Uint8Array(coordinatePixels(w, h));
    const t = compose([pad(3), randomCrop([h, w]), randomHorizontalFlip()]);
    const seen = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      const [rendered] = await transformImage(path, t, { seed });
      const image = { data: bytes, width: w, height: h, channels: 3 };
      const [view] = transformPixels(image, t, new Random(seed)).views;
      expect(view).toMatchObject({ width: w, height: h, channels: 3 });
      expect(Buffer.from(view.data).equals(Buffer.from(rendered.data))).toBe(true);
      seen.add(Buffer.from(view.data).toString('base64'));
    }
    expect(seen.size).toBeGreaterThan(5); // the draws really differ from seed to seed
  });

  it('refuses to resize floats or with a kernel other than linear, and arrays of the wrong length', () => {
    const image = { data: new Uint8Array(4 * 4 * 3), width: 4, height: 4, channels: 3 };
    const floats = { ...image, data: new Float32Array(4 * 4 * 3) };
    expect(() =>
      transformPixels(floats, resnetPaperEval({ resize: 4, size: 2 }), new Random(0)),
    ).toThrow(
      /resizes, which needs 8-bit pixels \(a Uint8Array\); this image holds a Float32Array/,
    );
    const cubic = compose([resize(2)], { kernel: 'cubic' });
    expect(() => transformPixels(image, cubic, new Random(0))).toThrow(
      /resizes with the 'cubic' kernel; images in memory are resized with 'linear'/,
    );
    expect(() =>
      transformPixels({ ...image, width: 5 }, cifarTrain({ size: 4 }), new Random(0)),
    ).toThrow(/needs 60 values; received 48/);
  });
});

describe('normalisation values', () => {
  let flat: string;
  beforeAll(async () => {
    flat = writeFile(join(tmp.dir, 'flat.png'), await solid(300, 260, [10, 20, 30]));
  });

  it('paper presets subtract the per-channel mean on the 0–255 scale', async () => {
    const [v] = await transformImage(flat, resnetPaperEval());
    expect(at(v, 100, 100)[0]).toBeCloseTo(10 - 123.68, 4);
    expect(at(v, 100, 100)[1]).toBeCloseTo(20 - 116.779, 4);
    expect(at(v, 0, 223)[2]).toBeCloseTo(30 - 103.939, 4);
    const [s] = await transformImage(flat, resnetPaperEval({ std: [58.395, 57.12, 57.375] }));
    expect(at(s, 5, 5)[0]).toBeCloseTo((10 - 123.68) / 58.395, 5);
    expect(IMAGENET_MEAN_255[0]).toBeCloseTo(IMAGENET_MEAN[0] * 255, 1);
  });

  it('torchvision presets compute (x / 255 − mean) / std', async () => {
    const [v] = await transformImage(flat, torchvisionEval());
    expect(at(v, 7, 7)[0]).toBeCloseTo((10 / 255 - 0.485) / 0.229, 5);
    expect(at(v, 7, 7)[1]).toBeCloseTo((20 / 255 - 0.456) / 0.224, 5);
    expect(at(v, 7, 7)[2]).toBeCloseTo((30 / 255 - 0.406) / 0.225, 5);
    expect(IMAGENET_STD).toEqual([0.229, 0.224, 0.225]);
  });

  it('a per-pixel mean image is subtracted pixel by pixel', async () => {
    const data = new Float32Array(224 * 224 * 3).map((_, i) => i % 7);
    const [v] = await transformImage(
      flat,
      resnetPaperEval({ mean: { height: 224, width: 224, data } }),
    );
    const i = (3 * 224 + 5) * 3 + 1; // pixel (5, 3), green
    expect(v.data[i]).toBeCloseTo(20 - (i % 7), 5);
  });

  it('PCA lighting adds one random RGB offset per image, with α ~ N(0, 0.1²)', async () => {
    // With eigenvalues (1, 0, 0) and identity eigenvectors the offset is (255·α, 0, 0).
    const lighting = {
      alphaStd: 0.1,
      eigenvalues: [1, 0, 0] as const,
      eigenvectors: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ] as const,
    };
    const geometry = [resizeShorterSide(64), randomCrop(48)];
    const lit = compose(geometry, { normalization: { lighting } });
    const plain = compose(geometry);
    const [a] = await transformImage(PHOTOS[3], lit, { seed: 5 });
    const [b] = await transformImage(PHOTOS[3], plain, { seed: 5 });
    const shift = a.data[0] - b.data[0];
    expect(Math.abs(shift)).toBeGreaterThan(0);
    for (let i = 0; i < a.data.length; i += 3) {
      expect(a.data[i] - b.data[i]).toBeCloseTo(shift, 3);
      expect(a.data[i + 1]).toBe(b.data[i + 1]);
      expect(a.data[i + 2]).toBe(b.data[i + 2]);
    }
    const rng = new Random(9);
    const alphas = Array.from({ length: 4000 }, () => lit.plan(100, 100, rng).rgbOffset[0] / 255);
    const mean = alphas.reduce((s, x) => s + x, 0) / alphas.length;
    const std = Math.sqrt(alphas.reduce((s, x) => s + (x - mean) ** 2, 0) / alphas.length);
    // Standard error of the std estimate is 0.1 / √8000 ≈ 0.0011.
    expect(std).toBeGreaterThan(0.095);
    expect(std).toBeLessThan(0.105);
    expect(Math.abs(mean)).toBeLessThan(0.006);
    expect(IMAGENET_PCA_LIGHTING.eigenvalues).toEqual([0.2175, 0.0188, 0.0045]);
  });
});
