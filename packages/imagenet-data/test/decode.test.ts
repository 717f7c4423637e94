import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, ImageDecodeError } from '../src';
import { jpegFrame } from '../src/decode';
import { noisyJpeg, PHOTOS, solid, tempDir, writeFile } from './helpers';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.remove());

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
};

describe('decodeImage: every format and colour space becomes [H, W, 3] uint8 RGB', () => {
  it('decodes the real ImageNet photos, including the grayscale one', async () => {
    for (const path of PHOTOS) {
      const img = await decodeImage(path);
      expect(img.channels).toBe(3);
      expect(img.data.length).toBe(img.height * img.width * 3);
      expect(Math.min(img.height, img.width)).toBeGreaterThan(300);
    }
    // ILSVRC2012_test_00000001 is a single-channel JPEG: expanded, R = G = B everywhere.
    const grey = await decodeImage(PHOTOS[0]);
    let equal = true;
    for (let i = 0; i < grey.data.length; i += 3) {
      equal &&= grey.data[i] === grey.data[i + 1] && grey.data[i] === grey.data[i + 2];
    }
    expect(equal).toBe(true);
    expect((await sharp(PHOTOS[0]).metadata()).channels).toBe(1);
  });

  it('goes by the content, not the extension (a PNG named .JPEG)', async () => {
    const path = writeFile(join(tmp.dir, 'png-named.JPEG'), await solid(5, 3, [10, 20, 30]));
    const img = await decodeImage(path);
    expect([img.width, img.height]).toEqual([5, 3]);
    expect(pixel(img, 4, 2)).toEqual([10, 20, 30]);
  });

  it("converts CMYK written with Adobe's inverted convention to the right sRGB colour", async () => {
    const cmyk = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 40 } },
    })
      .toColourspace('cmyk')
      .jpeg({ quality: 100 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    expect(cmyk.includes(Buffer.from('Adobe'))).toBe(true); // APP14 marker: inverted CMYK
    const [r, g, b] = pixel(await decodeImage(cmyk), 3, 3);
    // Through a CMYK profile round trip the colour moves a little, but an
    // uninverted read would give roughly (55, 225, 215).
    expect(Math.abs(r - 200)).toBeLessThan(20);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it('expands single-channel grey and reduces 16-bit to 8-bit', async () => {
    const grey = await sharp({
      create: { width: 4, height: 4, channels: 3, background: { r: 90, g: 90, b: 90 } },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect(pixel(await decodeImage(grey), 1, 1)).toEqual([90, 90, 90]);
    const deep = await sharp({
      create: { width: 4, height: 4, channels: 3, background: { r: 100, g: 50, b: 10 } },
    })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    expect(pixel(await decodeImage(deep), 2, 2)).toEqual([100, 50, 10]);
  });

  it('reads GIF', async () => {
    const gif = await sharp({
      create: { width: 6, height: 6, channels: 3, background: { r: 200, g: 30, b: 40 } },
    })
      .gif()
      .toBuffer();
    const [r, g, b] = pixel(await decodeImage(gif), 0, 0);
    expect(Math.abs(r - 200) + Math.abs(g - 30) + Math.abs(b - 40)).toBeLessThanOrEqual(6);
  });

  it('flattens alpha onto white (default) or the given background', async () => {
    // alpha 0.5 is stored as 128/255.
    const rgba = await sharp({
      create: {
        width: 4,
        height: 4,
        channels: 4,
        background: { r: 200, g: 30, b: 40, alpha: 0.5 },
      },
    })
      .png()
      .toBuffer();
    const a = 128 / 255;
    const over = (c: number, bg: number) => Math.round(c * a + bg * (1 - a));
    expect(pixel(await decodeImage(rgba), 0, 0)).toEqual([
      over(200, 255),
      over(30, 255),
      over(40, 255),
    ]);
    expect(pixel(await decodeImage(rgba, { alphaBackground: [0, 0, 0] }), 0, 0)).toEqual([
      over(200, 0),
      over(30, 0),
      over(40, 0),
    ]);
  });

  it('ignores embedded ICC profiles by default, as PIL does, and applies them on request', async () => {
    // ILSVRC2012_test_00000002 carries an Adobe RGB (1998) profile. Golden
    // values from PIL 9.4 (Debian python3-pil): Image.open(...).convert('RGB')
    // summed per channel, and ImageCms.profileToProfile(image, embedded,
    // sRGB) averaged per channel.
    const sums = (img: { data: Uint8Array }) => {
      const s = [0, 0, 0];
      img.data.forEach((v, i) => (s[i % 3] += v));
      return s;
    };
    const stored = await decodeImage(PHOTOS[1]);
    expect([stored.width, stored.height]).toEqual([447, 500]);
    expect(sums(stored)).toEqual([26837108, 27164942, 18430055]);
    const managed = await decodeImage(PHOTOS[1], { applyIccProfile: true });
    const n = managed.width * managed.height;
    const means = sums(managed).map((v) => v / n);
    [118.8367, 121.0969, 77.1993].forEach((m, c) =>
      expect(Math.abs(means[c] - m)).toBeLessThan(0.05),
    );
    // A photo with an sRGB profile reads the same either way.
    expect(sums(await decodeImage(PHOTOS[3], { applyIccProfile: true }))).toEqual(
      sums(await decodeImage(PHOTOS[3])),
    );
    await expect(decodeImage(PHOTOS[1], { applyIccProfile: 'yes' as never })).rejects.toThrow(
      /applyIccProfile/,
    );
  });

  it('reads a JPEG size from its frame header, past large APP segments, and checks the pixel limit there', async () => {
    const jpeg = await sharp({
      create: { width: 40, height: 30, channels: 3, background: { r: 1, g: 2, b: 3 } },
    })
      .jpeg({ progressive: true })
      .withMetadata({ orientation: 3 })
      .withIccProfile('p3')
      .toBuffer();
    const img = await decodeImage(jpeg);
    expect([img.width, img.height]).toEqual([40, 30]);
    // The size comes from our own header walk, which agrees with libvips on the real photos.
    expect(jpegFrame(jpeg)).toEqual({ width: 40, height: 30, components: 3 });
    for (const path of PHOTOS) {
      const meta = await sharp(path).metadata();
      expect(jpegFrame(readFileSync(path))).toEqual({
        width: meta.width,
        height: meta.height,
        components: meta.channels,
      });
    }
    // Anything unusual is left to libvips (which then names the problem).
    expect(jpegFrame(jpeg.subarray(0, 40))).toBeNull();
    expect(jpegFrame(await solid(2, 2, [0, 0, 0]))).toBeNull();
    // Rewrite the SOF2 frame header (FF C2, length, precision, height, width)
    // to claim 60000 × 50000 pixels: refused from the header, not by decoding.
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc2]));
    expect(sof).toBeGreaterThan(0);
    const bomb = Buffer.from(jpeg);
    bomb.writeUInt16BE(50_000, sof + 5);
    bomb.writeUInt16BE(60_000, sof + 7);
    await expect(decodeImage(bomb)).rejects.toThrow(
      /60000×50000 = 3000000000 pixels exceeds limitInputPixels \(64000000\)/,
    );
  });

  it('ignores EXIF orientation by default and applies it on request', async () => {
    // Orientation 6: the stored 4×2 image is displayed rotated 90° clockwise, as 2×4.
    const tagged = await sharp({
      create: { width: 4, height: 2, channels: 3, background: '#808080' },
    })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const stored = await decodeImage(tagged);
    expect([stored.width, stored.height]).toEqual([4, 2]);
    const upright = await decodeImage(tagged, { applyExifOrientation: true });
    expect([upright.width, upright.height]).toEqual([2, 4]);
  });
});

describe('decodeImage: bad files fail with an error naming the file', () => {
  const cases: [string, () => Promise<Buffer>, RegExp][] = [
    ['a zero-byte file', async () => Buffer.alloc(0), /the file is empty \(0 bytes\)/],
    [
      'a truncated JPEG',
      async () => (await noisyJpeg()).subarray(0, 1500),
      /premature end of JPEG/i,
    ],
    [
      'a JPEG cut inside its header',
      async () => (await noisyJpeg()).subarray(0, 100),
      /cannot decode/,
    ],
    [
      'a truncated PNG',
      async () => {
        const png = await sharp({
          create: {
            width: 64,
            height: 64,
            channels: 3,
            background: { r: 0, g: 0, b: 0 },
            noise: { type: 'gaussian', mean: 128, sigma: 50 },
          },
        })
          .png()
          .toBuffer();
        return png.subarray(0, png.length >> 1);
      },
      /cannot decode/,
    ],
    [
      'random bytes',
      async () => Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) % 256)),
      /unsupported image format/,
    ],
    [
      'an HTML page saved as .JPEG',
      async () => Buffer.from('<!DOCTYPE html><html><body>404 Not Found</body></html>'),
      /unsupported image format/,
    ],
  ];
  it.each(cases)('%s', async (name, make, reason) => {
    const path = writeFile(join(tmp.dir, `${name.replace(/\W+/g, '_')}.JPEG`), await make());
    const error = await decodeImage(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as ImageDecodeError).path).toBe(path);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toMatch(reason);
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    // A real 1×1 PNG whose header is rewritten to claim 100000 × 100000 pixels.
    const png = Buffer.from(await solid(1, 1, [0, 0, 0]));
    png.writeUInt32BE(100_000, 16);
    png.writeUInt32BE(100_000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    const path = writeFile(join(tmp.dir, 'bomb.png'), png);
    await expect(decodeImage(path)).rejects.toThrow(
      /bomb\.png: 100000×100000 = 10000000000 pixels exceeds limitInputPixels \(64000000\)/,
    );
    const small = writeFile(join(tmp.dir, 'small.png'), await solid(200, 100, [1, 2, 3]));
    await expect(decodeImage(small, { limitInputPixels: 19_999 })).rejects.toThrow(
      /exceeds limitInputPixels \(19999\)/,
    );
    await expect(decodeImage(small, { limitInputPixels: 20_000 })).resolves.toMatchObject({
      width: 200,
    });
    await expect(decodeImage(small, { maxFileBytes: 10 })).rejects.toThrow(
      /more than maxFileBytes \(10\)/,
    );
  });

  it('validates its options', async () => {
    await expect(decodeImage(PHOTOS[1], { failOn: 'never' as never })).rejects.toThrow(
      /option "failOn" must be one of "none", "truncated", "error", "warning"; received "never"/,
    );
  });
});
