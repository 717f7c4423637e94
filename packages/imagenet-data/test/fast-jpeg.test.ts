import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  centerCrop,
  compose,
  ImageDecodeError,
  jpegFastPath,
  multiScaleViews,
  pad,
  randomCrop,
  randomHorizontalFlip,
  resizeShorterSide,
  tenCropViews,
  transformImage,
  type Transform,
} from '../src';
import { readHeader, resolveDecodeOptions } from '../src/decode';
import { loadAddon } from '../src/addon';
import { Random } from '../src/rng';
import { normalizeWithAddon, renderJpegView } from '../src/fast-jpeg';
import type { ViewGeometry } from '../src/geometry';
import { FIXTURES, noisyJpeg, PHOTOS, tempDir, writeFile } from './helpers';

// Views rendered by Pillow 9.4 as torchvision 0.14 renders them, written by
// scripts/make-pil-fixtures.py (Debian's python3-pil/python3-torchvision).
interface PilView {
  file: string;
  pre: [number, number, number, number] | null;
  resize: [number, number];
  post: [number, number, number, number];
  flip: boolean;
  rgb: string;
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'pil-views.json'), 'utf8')) as {
  torchvisionEval: Record<string, string>;
  views: PilView[];
};

const defaults = resolveDecodeOptions('test');
const bytesOf = (view: { data: Float32Array }) => Uint8Array.from(view.data);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
// No normalisation: values stay the 0 … 255 bytes.
const raw = (steps: Parameters<typeof compose>[0]): Transform => compose(steps);

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.remove());

describe('JPEG fast path (libjpeg-turbo addon)', () => {
  it('loads on linux-x64, where it ships prebuilt', () => {
    const status = jpegFastPath();
    if (`${process.platform}-${process.arch}` === 'linux-x64') {
      expect(status.errors).toEqual([]);
      expect(status.libjpegTurbo).toBe('2.1.5');
    } else {
      expect(status.libjpegTurbo).toBeUndefined();
    }
  });

  const fast = jpegFastPath().libjpegTurbo !== undefined;

  // Each version of the horizontal pass: AVX2, SSE4.1 and plain C.
  it.runIf(fast).each(['avx2', 'sse4.1', 'none'])(
    "renders Pillow's bilinear resize, crop and mirror byte for byte (196 views of 7 JPEGs; SIMD: %s)",
    async (simd) => {
      process.env.CONVNETS_JPEG_SIMD = simd;
      // Baseline 4:2:0 colour and grey photos, a progressive 4:2:0 file, the
      // same without its refinement scans, a baseline 4:4:4 file; down- and
      // upscaling; windows at every corner.
      let mismatched = 0;
      for (const v of fixture.views) {
        const buffer = readFileSync(join(FIXTURES, v.file));
        const header = await readHeader(buffer, v.file, defaults);
        const [rw, rh] = v.resize;
        const g: ViewGeometry = {
          sourceWidth: header.width,
          sourceHeight: header.height,
          preCrop: v.pre
            ? { left: v.pre[0], top: v.pre[1], width: v.pre[2], height: v.pre[3] }
            : undefined,
          resize: { width: rw, height: rh },
          postCrop: { left: v.post[0], top: v.post[1], width: v.post[2], height: v.post[3] },
          flip: v.flip,
          width: v.post[2],
          height: v.post[3],
        };
        const view = await renderJpegView({ buffer, header }, g, v.file, defaults, 'linear');
        expect(view).not.toBeNull();
        const expected = Buffer.from(v.rgb, 'base64');
        if (!Buffer.from(view!.data).equals(expected)) mismatched++;
      }
      delete process.env.CONVNETS_JPEG_SIMD;
      expect(mismatched).toBe(0);
    },
  );

  it.runIf(fast)(
    "gives torchvision's Resize(256) + CenterCrop(224) exactly, through the public transforms",
    async () => {
      for (const [file, hash] of Object.entries(fixture.torchvisionEval)) {
        const [view] = await transformImage(
          join(FIXTURES, file),
          raw([resizeShorterSide(256), centerCrop(224)]),
        );
        expect([file, sha256(bytesOf(view))]).toEqual([file, hash]);
      }
    },
  );

  it.runIf(fast)(
    "stays within a few levels of sharp's linear resize, which renders it with decoder: 'sharp'",
    async () => {
      const t = raw([resizeShorterSide(256), centerCrop(224)]);
      for (const photo of PHOTOS) {
        const [ours] = await transformImage(photo, t);
        const [viaSharp] = await transformImage(photo, t, { decode: { decoder: 'sharp' } });
        let sum = 0;
        let max = 0;
        for (let i = 0; i < ours.data.length; i++) {
          const d = Math.abs(ours.data[i] - viaSharp.data[i]);
          sum += d;
          max = Math.max(max, d);
        }
        // Two different resamplers: close on average, never far apart.
        expect(sum / ours.data.length).toBeLessThan(1);
        expect(max).toBeLessThan(32);
        expect(max).toBeGreaterThan(0);
      }
    },
  );

  it.runIf(fast)(
    'cuts ten-crop and multi-scale views from the same resize as one view',
    async () => {
      const photo = PHOTOS[2];
      const [centre] = await transformImage(photo, raw([resizeShorterSide(256), centerCrop(224)]));
      const ten = await transformImage(photo, raw([resizeShorterSide(256), tenCropViews(224)]));
      const same = (a: { data: Float32Array }, b: { data: Float32Array }) =>
        Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer));
      expect(same(ten[4], centre)).toBe(true);
      const [at384] = await transformImage(photo, raw([resizeShorterSide(384)]));
      const scales = await transformImage(photo, raw([multiScaleViews([256, 384])]));
      expect(same(scales[1], at384)).toBe(true);
    },
  );

  it.runIf(fast)('normalises per channel exactly as fround(pixel · a + b) in double', () => {
    const pixels = Uint8Array.from({ length: 3 * 1001 }, (_, i) => (i * 97 + 13) & 255);
    // The torchvision preset's coefficients and some with long fractions.
    const coefficients: [number, number, number, number, number, number][] = [
      [
        1 / 255 / 0.229,
        1 / 255 / 0.224,
        1 / 255 / 0.225,
        -0.485 / 0.229,
        -0.456 / 0.224,
        -0.406 / 0.225,
      ],
      [1, 1, 1, -123.675, -116.28, -103.53],
      [Math.PI, -Math.E, 1 / 3, 0.1, -1e-7, 1e5 / 7],
    ];
    for (const ab of coefficients) {
      const out = new Float32Array(pixels.length + 5).fill(-1);
      expect(normalizeWithAddon(out, 3, pixels, ab)).toBe(true);
      const expected = new Float32Array(pixels.length + 5).fill(-1);
      for (let i = 0; i < pixels.length; i++) {
        expected[3 + i] = Math.fround(pixels[i] * ab[i % 3] + ab[3 + (i % 3)]);
      }
      expect(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
    expect(() => normalizeWithAddon(new Float32Array(10), 2, pixels, coefficients[0])).toThrow(
      /do not fit at offset/,
    );
  });

  it.runIf(fast)(
    'reads a file in one job, and leaves every unusual file to fs (null)',
    async () => {
      const { addon } = loadAddon();
      const bytes = await addon!.readFile(PHOTOS[1], 1 << 20);
      expect(bytes && Buffer.compare(bytes, readFileSync(PHOTOS[1]))).toBe(0);
      const size = readFileSync(PHOTOS[1]).length;
      expect(await addon!.readFile(PHOTOS[1], size - 1)).toBeNull(); // over the limit
      expect(await addon!.readFile(PHOTOS[1], size)).not.toBeNull(); // at the limit
      const empty = writeFile(join(tmp.dir, 'empty.jpg'), Buffer.alloc(0));
      expect(await addon!.readFile(empty, 1 << 20)).toBeNull();
      expect(await addon!.readFile(join(tmp.dir, 'missing.jpg'), 1 << 20)).toBeNull();
      expect(await addon!.readFile(tmp.dir, 1 << 20)).toBeNull(); // a folder
      expect(await addon!.readFile(`${PHOTOS[1]}\0.txt`, 1 << 20)).toBeNull(); // a NUL inside
    },
  );

  it.runIf(fast)('refuses geometry that is not integers in range, before any work', () => {
    const { addon } = loadAddon();
    const input = readFileSync(PHOTOS[0]);
    const ok = [1e9, 0, 0, 500, 343, 50, 34, 0, 0, 2, 2, 0];
    const out = new Uint8Array(12);
    for (const [i, bad] of [
      [0, Number.NaN],
      [0, 0],
      [1, 2 ** 31 - 1],
      [7, 2 ** 31 - 1],
      [3, 203.7],
      [2, -1],
      [10, Number.POSITIVE_INFINITY],
    ]) {
      const params = [...ok];
      params[i] = bad;
      expect(() => addon!.renderJpeg(input, out, params)).toThrow(RangeError);
    }
    // And geometry outside the image is an error, not a write out of bounds.
    return expect(
      addon!.renderJpeg(input, out, [1e9, 400, 0, 200, 343, 50, 34, 0, 0, 2, 2, 0]),
    ).rejects.toThrow(/geometry does not fit/);
  });

  it.runIf(fast)('refuses a normalisation that would not fit in the output', () => {
    const pixels = new Uint8Array(6);
    const ab: [number, number, number, number, number, number] = [1, 1, 1, 0, 0, 0];
    for (const offset of [2 ** 64 - 2048, 5, -1, 1.5, Number.NaN]) {
      expect(() => normalizeWithAddon(new Float32Array(10), offset, pixels, ab)).toThrow(
        /do not fit at offset/,
      );
    }
    expect(normalizeWithAddon(new Float32Array(10), 4, pixels, ab)).toBe(true);
  });

  it.runIf(fast)(
    "renders CIFAR's pad-and-crop and mirror (real CIFAR-10 JPEGs) byte for byte as sharp does",
    async () => {
      const t = raw([pad(4), randomCrop(32), randomHorizontalFlip(0.5)]);
      const files = ['airplane-0000.jpg', 'cat-0000.jpg', 'truck-0001.jpg'];
      let padded = 0;
      let flipped = 0;
      for (const file of files) {
        const buffer = readFileSync(join(FIXTURES, 'cifar10-jpeg', file));
        const header = await readHeader(buffer, file, defaults);
        for (let seed = 0; seed < 12; seed++) {
          const [ours] = await transformImage(buffer, t, { seed });
          const [viaSharp] = await transformImage(buffer, t, {
            seed,
            decode: { decoder: 'sharp' },
          });
          expect([file, seed, sha256(bytesOf(ours))]).toEqual([
            file,
            seed,
            sha256(bytesOf(viaSharp)),
          ]);
          // The addon rendered it (a padded geometry is no longer left to sharp).
          const plan = t.plan(header.width, header.height, new Random(seed));
          const g = plan.views[0];
          expect(
            await renderJpegView({ buffer, header }, g, file, defaults, 'linear'),
          ).not.toBeNull();
          if (g.pad && g.pad.left + g.pad.right + g.pad.top + g.pad.bottom > 0) padded++;
          if (g.flip) flipped++;
        }
      }
      // The seeds cover padded and mirrored views.
      expect(padded).toBeGreaterThan(20);
      expect(flipped).toBeGreaterThan(5);
    },
  );

  it('leaves truncated files to sharp, which fails them naming the file', async () => {
    const jpeg = await noisyJpeg(96, 64);
    const path = writeFile(join(tmp.dir, 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    const t = raw([resizeShorterSide(32), centerCrop(24)]);
    await expect(transformImage(path, t)).rejects.toThrow(ImageDecodeError);
    await expect(transformImage(path, t)).rejects.toThrow(path);
  });

  it('fails a damaged JPEG with the decoder’s message and the file, whichever decoder', async () => {
    const jpeg = Buffer.from(await noisyJpeg(96, 64));
    // Break the first Huffman table's class/id byte (after FF C4 and the length).
    const dht = jpeg.indexOf(Buffer.from([0xff, 0xc4]));
    jpeg[dht + 4] = 0x7f;
    const path = writeFile(join(tmp.dir, 'bad-huffman.jpg'), jpeg);
    const t = raw([resizeShorterSide(32), centerCrop(24)]);
    for (const decoder of ['auto', 'sharp'] as const) {
      const attempt = transformImage(path, t, { decode: { decoder } });
      await expect(attempt).rejects.toThrow(ImageDecodeError);
      await expect(transformImage(path, t, { decode: { decoder } })).rejects.toThrow(
        /cannot decode .*bad-huffman\.jpg: .*DHT/,
      );
    }
  });

  it('rejects an unknown decoder, naming the option', async () => {
    await expect(
      transformImage(PHOTOS[0], raw([centerCrop(8)]), {
        // @ts-expect-error: not a decoder
        decode: { decoder: 'pil' },
      }),
    ).rejects.toThrow(/option "decoder" must be one of "auto", "sharp"; received "pil"/);
  });
});
