import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  centerCrop,
  checkImageFolder,
  compose,
  ImageDecodeError,
  resizeShorterSide,
  transformImage,
} from '../src';
import { loadAddon } from '../src/addon';
import { MAX_JPEG_SCANS } from '../src/decode';
import { PHOTOS, tempDir } from './helpers';

// Hostile JPEGs that cost a decoder time without costing the file bytes: a
// progressive photo with a scan repeated thousands of times (each scan is a
// pass over every block). The checker (sharp) and the loader (the
// libjpeg-turbo addon for the views it renders, sharp otherwise) must accept
// and refuse the same files, and refuse these at once.

/** Where each scan of a JPEG lies: its SOS marker to the end of its data. */
function scanSpans(jpeg: Buffer): { start: number; end: number }[] {
  const scans: { start: number; end: number }[] = [];
  let i = 2;
  while (i + 3 < jpeg.length && jpeg[i] === 0xff && jpeg[i + 1] !== 0xd9) {
    const marker = jpeg[i + 1];
    if (marker === 0xff || marker === 0x01 || (marker & 0xf8) === 0xd0) {
      i += marker === 0xff ? 1 : 2; // fill byte, TEM, RSTn: no segment
      continue;
    }
    const start = i;
    i += 2 + jpeg.readUInt16BE(i + 2);
    if (marker !== 0xda) continue;
    // Scan data runs to the next marker that is not a stuffed FF 00 or an RSTn.
    while (i + 1 < jpeg.length) {
      if (jpeg[i] === 0xff && jpeg[i + 1] !== 0 && (jpeg[i + 1] & 0xf8) !== 0xd0) break;
      i++;
    }
    scans.push({ start, end: i });
  }
  return scans;
}
const scanCount = (jpeg: Buffer) => scanSpans(jpeg).length;

/** `jpeg` with `segments` inserted before its end-of-image marker. */
const beforeEoi = (jpeg: Buffer, ...segments: Buffer[]) =>
  Buffer.concat([jpeg.subarray(0, jpeg.length - 2), ...segments, jpeg.subarray(jpeg.length - 2)]);

/**
 * `jpeg` with its smallest successive-approximation refinement scan (the DC
 * refinement of sharp's progressive files: raw bits, no Huffman table)
 * repeated `times` more times at the end. Each repeat refines bits already
 * refined: a decoder warning per component, and a pass over every block.
 */
function repeatRefinementScan(jpeg: Buffer, times: number): Buffer {
  const refinements = scanSpans(jpeg).filter(({ start }) => {
    const components = jpeg[start + 4];
    return jpeg[start + 7 + 2 * components] >> 4 !== 0; // Ah > 0
  });
  const { start, end } = refinements.sort((a, b) => a.end - a.start - (b.end - b.start))[0];
  return beforeEoi(jpeg, ...Array.from({ length: times }, () => jpeg.subarray(start, end)));
}

/**
 * `jpeg` (progressive, every coefficient complete) with `count` more scans
 * that change nothing and give no decoder warning: first AC scans of the
 * first component (Ss 1, Se 63, Ah 0, Al 0) whose data is one end-of-band run
 * of 32767 blocks, under a one-code Huffman table. A valid file, whose scans
 * are only a cost.
 */
function withEmptyScans(jpeg: Buffer, count: number): Buffer {
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc2]));
  const firstComponent = jpeg[sof + 10];
  // DHT: AC table 3, one code of length 1 for EOB14 (0xE0).
  const dht = Buffer.from([0xff, 0xc4, 0, 20, 0x13, 1, ...new Array<number>(15).fill(0), 0xe0]);
  // SOS: one component with AC table 3, Ss 1, Se 63, Ah/Al 0; then the bits
  // 0 (the code) and fourteen 1s (run 2^14 + 16383), padded with 1: 7F FF, stuffed.
  const scan = Buffer.from([0xff, 0xda, 0, 8, 1, firstComponent, 0x03, 1, 63, 0, 0x7f, 0xff, 0]);
  return beforeEoi(jpeg, dht, ...Array.from({ length: count }, () => scan));
}

/**
 * A baseline photo with `count` comments after its frame header (where the
 * header reader stops), each after a stray byte: one decoder warning each.
 */
function withWarnings(jpeg: Buffer, count: number): Buffer {
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  const after = sof + 2 + jpeg.readUInt16BE(sof + 2);
  const comment = Buffer.from([0x00, 0xff, 0xfe, 0x00, 0x03, 0x41]);
  return Buffer.concat([
    jpeg.subarray(0, after),
    Buffer.from([0xff, 0xfe, 0x00, 0x03, 0x41]),
    ...Array.from({ length: count }, () => comment),
    jpeg.subarray(after),
  ]);
}

let tmp: ReturnType<typeof tempDir>;
let progressive: Buffer;
let baseline: Buffer;
beforeAll(async () => {
  tmp = tempDir();
  baseline = await sharp(PHOTOS[1]).jpeg({ quality: 90 }).toBuffer();
  progressive = await sharp(PHOTOS[1]).jpeg({ quality: 90, progressive: true }).toBuffer();
});
afterAll(() => tmp.remove());

const view = compose([resizeShorterSide(64), centerCrop(56)]);

/** What the checker (sharp, full decode) and the loader's two decoders say of `jpeg`. */
async function verdicts(name: string, jpeg: Buffer) {
  const root = join(tmp.dir, name);
  mkdirSync(join(root, 'c'), { recursive: true });
  const path = join(root, 'c', 'image.jpg');
  writeFileSync(path, jpeg);
  const started = Date.now();
  const report = await checkImageFolder(root);
  const checker = report.unreadable.length === 0 ? 'ok' : report.unreadable[0].reason;
  const loader: Record<string, string> = {};
  for (const decoder of ['auto', 'sharp'] as const) {
    loader[decoder] = await transformImage(path, view, { decode: { decoder } }).then(
      () => 'ok',
      (error: unknown) => {
        expect(error).toBeInstanceOf(ImageDecodeError);
        expect((error as ImageDecodeError).path).toBe(path);
        return (error as ImageDecodeError).reason;
      },
    );
  }
  return { checker, auto: loader.auto, sharp: loader.sharp, ms: Date.now() - started };
}

describe('JPEG scans and decoder warnings: the checker and the loader agree, and refuse at once', () => {
  it('a progressive photo with a scan repeated 5,000 times fails everywhere at once; with fewer, as sharp decides', async () => {
    expect(scanCount(progressive)).toBeGreaterThan(5);
    const hostile = repeatRefinementScan(progressive, 5000);
    expect(scanCount(hostile)).toBe(scanCount(progressive) + 5000);
    const v = await verdicts('repeated', hostile);
    const tooMany = `the JPEG has more than ${MAX_JPEG_SCANS} scans (libjpeg-turbo's scan limit)`;
    expect([v.checker, v.auto, v.sharp]).toEqual([tooMany, tooMany, tooMany]);
    expect(v.ms).toBeLessThan(2000);
    // Each repeat refines bits already refined: a decoder warning per component
    // (3). 34 repeats give sharp its 100th warning, which it refuses.
    const refused = await verdicts('34', repeatRefinementScan(progressive, 34));
    expect(refused.checker).toMatch(/Inconsistent progression sequence/);
    expect(refused.sharp).toMatch(/Inconsistent progression sequence/);
    expect(refused.auto).toMatch(
      /^the JPEG decoder gave 100 warnings, where sharp \(libvips\) refuses a file too; the last: Inconsistent progression sequence/,
    );
    // 33 repeats give 99 warnings: every path accepts them.
    const accepted = await verdicts('33', repeatRefinementScan(progressive, 33));
    expect([accepted.checker, accepted.auto, accepted.sharp]).toEqual(['ok', 'ok', 'ok']);
  }, 120_000);

  it('the 100th decoder warning fails a file in every path, as sharp (libvips) fails it; 99 pass', async () => {
    const ok = await verdicts('w99', withWarnings(baseline, 99));
    expect([ok.checker, ok.auto, ok.sharp]).toEqual(['ok', 'ok', 'ok']);
    const bad = await verdicts('w100', withWarnings(baseline, 100));
    expect(bad.checker).toMatch(/extraneous bytes before marker/);
    expect(bad.sharp).toMatch(/extraneous bytes before marker/);
    expect(bad.auto).toMatch(/gave 100 warnings.*extraneous bytes before marker/);
  }, 60_000);

  it(`${MAX_JPEG_SCANS} scans pass everywhere; one more fails everywhere before any decoding`, async () => {
    const scans = scanCount(progressive);
    const most = withEmptyScans(progressive, MAX_JPEG_SCANS - scans);
    expect(scanCount(most)).toBe(MAX_JPEG_SCANS);
    const ok = await verdicts('most', most);
    expect([ok.checker, ok.auto, ok.sharp]).toEqual(['ok', 'ok', 'ok']);
    // The empty scans change no pixel.
    const [a, b] = await Promise.all([progressive, most].map((jpeg) => transformImage(jpeg, view)));
    expect(b[0].data).toEqual(a[0].data);

    const tooMany = withEmptyScans(progressive, MAX_JPEG_SCANS + 1 - scans);
    const bad = await verdicts('too-many', tooMany);
    const reason = `the JPEG has more than ${MAX_JPEG_SCANS} scans (libjpeg-turbo's scan limit)`;
    expect([bad.checker, bad.auto, bad.sharp]).toEqual([reason, reason, reason]);
    // A warning-free 5,000 scans: refused from the count, without decoding.
    const huge = await verdicts('huge', withEmptyScans(progressive, 5000));
    expect(huge.auto).toBe(reason);
    expect(huge.ms).toBeLessThan(2000);
  }, 120_000);

  it('the addon itself stops past the limit (its progress monitor), whoever calls it', async () => {
    const { addon } = loadAddon();
    if (!addon) return; // no prebuilt addon on this platform
    const scans = scanCount(progressive);
    const tooMany = withEmptyScans(progressive, MAX_JPEG_SCANS + 1 - scans);
    const { width, height } = await sharp(progressive).metadata();
    const out = new Uint8Array(8 * 8 * 3);
    const params = [1e9, 0, 0, width!, height!, 8, 8, 0, 0, 8, 8, 0];
    await expect(addon.renderJpeg(tooMany, out, params)).rejects.toThrow(
      `the JPEG has more than ${MAX_JPEG_SCANS} scans (libjpeg-turbo's scan limit)`,
    );
    await expect(addon.renderJpeg(withEmptyScans(progressive, 10), out, params)).resolves.toBe(0);
  });
});
