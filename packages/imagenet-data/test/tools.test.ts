import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { checkImageFolder, computeMean, imageFolder, synthesizeImageFolder } from '../src';
import { noisyJpeg, solid, tempDir, writeFile } from './helpers';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.remove());

describe('synthesizeImageFolder', () => {
  it('writes train and val in ImageNet layout, the same bytes for the same seed', async () => {
    const a = await synthesizeImageFolder(join(tmp.dir, 'a'), {
      classes: 10,
      perClass: 3,
      valPerClass: 2,
      size: 32,
      seed: 4,
    });
    const b = await synthesizeImageFolder(join(tmp.dir, 'b'), {
      classes: 10,
      perClass: 3,
      valPerClass: 2,
      size: 32,
      seed: 4,
    });
    const train = await imageFolder(a.train);
    const val = await imageFolder(a.val);
    expect(train.classes).toEqual([
      'class_0',
      'class_1',
      'class_2',
      'class_3',
      'class_4',
      'class_5',
      'class_6',
      'class_7',
      'class_8',
      'class_9',
    ]);
    expect(train.samples).toHaveLength(30);
    expect(val.samples).toHaveLength(20);
    const first = train.samples[0].path;
    expect(first).toMatch(/\.JPEG$/);
    expect(readFileSync(first)).toEqual(readFileSync(first.replace(a.train, b.train)));
    expect(await sharp(first).metadata()).toMatchObject({ width: 32, height: 32, format: 'jpeg' });
  });

  it('makes classes that differ more between classes than within them', async () => {
    // Learnability in its simplest form: a striped class and a disc class are told apart
    // by their horizontal-vs-vertical edge energy, whatever the colours.
    const { train } = await synthesizeImageFolder(join(tmp.dir, 'edges'), {
      classes: 4,
      perClass: 6,
      size: 32,
      seed: 1,
    });
    const ds = await imageFolder(train);
    const energy = async (path: string) => {
      const { data } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
      let dx = 0;
      let dy = 0;
      for (let y = 0; y < 31; y++) {
        for (let x = 0; x < 31; x++) {
          dx += Math.abs(data[y * 32 + x + 1] - data[y * 32 + x]);
          dy += Math.abs(data[(y + 1) * 32 + x] - data[y * 32 + x]);
        }
      }
      return dy / dx;
    };
    // class 2 is horizontal stripes (edges between rows), class 3 vertical stripes.
    const ratios = await Promise.all(
      ds.samples.map(async (s) => ({ label: s.label, r: await energy(s.path) })),
    );
    const horizontal = ratios.filter((x) => x.label === 2).map((x) => x.r);
    const vertical = ratios.filter((x) => x.label === 3).map((x) => x.r);
    expect(Math.min(...horizontal)).toBeGreaterThan(Math.max(...vertical));
  });
});

describe('synthesizeImageFolder limits', () => {
  it('refuses a size it cannot write or read back, naming the limit, before writing anything', async () => {
    const dir = join(tmp.dir, 'huge');
    for (const size of [100_000, 8001]) {
      await expect(synthesizeImageFolder(dir, { size })).rejects.toThrow(
        `synthesizeImageFolder: option "size" must be an integer from 1 to 8000 (8000 × 8000 = 64,000,000 pixels, the loader's default limitInputPixels); received ${size}.`,
      );
    }
    expect(existsSync(dir)).toBe(false);
  });
});

describe('checkImageFolder', () => {
  it('checks each split of a root with train/ and val/ (the layout `train --data` accepts)', async () => {
    const root = join(tmp.dir, 'splits');
    await synthesizeImageFolder(root, { classes: 3, perClass: 2, valPerClass: 1, size: 16 });
    writeFile(join(root, 'README.txt'), 'not an image');
    const report = await checkImageFolder(root);
    const names = ['class_0', 'class_1', 'class_2'];
    expect(report.splits?.train.root).toBe(join(root, 'train'));
    expect(report.splits?.train.classes).toEqual(names.map((name) => ({ name, count: 2 })));
    expect(report.splits?.val?.root).toBe(join(root, 'val'));
    expect(report.splits?.val?.classes).toEqual(names.map((name) => ({ name, count: 1 })));
    expect(report.classes).toEqual(names.map((name) => ({ name, count: 3 })));
    expect(report.images).toBe(9);
    expect(report.formats).toEqual({ jpeg: 9 });
    expect(report.emptyClasses).toEqual([]);
    expect(report.unreadable).toEqual([]);
    expect(report.ignored).toEqual([join(root, 'README.txt')]);

    // A validation class that training does not have is named, as training names it.
    mkdirSync(join(root, 'val', 'class_9'));
    await expect(checkImageFolder(root)).rejects.toThrow(
      `folder ${join(root, 'val', 'class_9')} is not one of the 3 classes`,
    );
  });

  it('names the split of an empty class on a root with splits', async () => {
    const root = join(tmp.dir, 'splits-empty');
    await synthesizeImageFolder(root, { classes: 2, perClass: 1, valPerClass: 1, size: 16 });
    mkdirSync(join(root, 'train', 'class_2'));
    const report = await checkImageFolder(root);
    expect(report.emptyClasses).toEqual(['train/class_2', 'val/class_2']);
    expect(report.splits?.train.emptyClasses).toEqual(['class_2']);
    expect(report.classes.map((c) => c.name)).toEqual(['class_0', 'class_1', 'class_2']);
  });

  it('reports counts, formats, colour spaces, mislabelled and unreadable files', async () => {
    const root = join(tmp.dir, 'check');
    writeFile(join(root, 'a', '1.JPEG'), await solid(8, 8, [1, 2, 3], 'jpeg'));
    writeFile(join(root, 'a', '2.JPEG'), await solid(8, 8, [200, 2, 3], 'png'));
    writeFile(
      join(root, 'a', '3.jpg'),
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c81e28' } })
        .toColourspace('cmyk')
        .jpeg()
        .toBuffer(),
    );
    writeFile(
      join(root, 'b', '1.jpg'),
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#777' } })
        .toColourspace('b-w')
        .jpeg()
        .toBuffer(),
    );
    const jpeg = await noisyJpeg(200, 200);
    const truncated = writeFile(join(root, 'b', '2.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    writeFile(join(root, 'b', 'notes.txt'), 'hello');
    mkdirSync(join(root, 'c'));
    const report = await checkImageFolder(root);
    expect(report.classes).toEqual([
      { name: 'a', count: 3 },
      { name: 'b', count: 2 },
      { name: 'c', count: 0 },
    ]);
    expect(report.emptyClasses).toEqual(['c']);
    expect(report.images).toBe(5);
    expect(report.formats).toEqual({ jpeg: 3, png: 1 });
    expect(report.colourSpaces).toEqual({ srgb: 2, cmyk: 1, 'b-w': 1 });
    expect(report.mislabelledFormats).toEqual([{ path: join(root, 'a', '2.JPEG'), format: 'png' }]);
    expect(report.unreadable).toHaveLength(1);
    expect(report.unreadable[0].path).toBe(truncated);
    // libvips' error text is per thread and lost under concurrent decodes ("Unknown error"),
    // so only its presence is checked here; decode.test.ts checks the text for one file.
    expect(report.unreadable[0].reason).toMatch(/\S/);
    expect(report.ignored).toEqual([join(root, 'b', 'notes.txt')]);
  });
});

describe('computeMean', () => {
  it('averages per pixel and per channel', async () => {
    const root = join(tmp.dir, 'mean');
    writeFile(join(root, 'a', '1.png'), await solid(300, 260, [10, 20, 30]));
    writeFile(join(root, 'b', '1.png'), await solid(260, 300, [30, 40, 50]));
    writeFile(join(root, 'b', '2.png'), Buffer.from('not a png'));
    const mean = await computeMean(await imageFolder(root));
    expect(mean.count).toBe(2);
    expect(mean.channel[0]).toBeCloseTo(20, 4);
    expect(mean.channel[1]).toBeCloseTo(30, 4);
    expect(mean.channel[2]).toBeCloseTo(40, 4);
    expect([mean.image.height, mean.image.width]).toEqual([224, 224]);
    expect(mean.image.data[(100 * 224 + 7) * 3 + 2]).toBeCloseTo(40, 4);
  });
});
