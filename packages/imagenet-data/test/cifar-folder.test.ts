import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import {
  cifarEval,
  computeMean,
  holdOutPerClass,
  imageFolder,
  readCifarArchive,
  writeImageFolder,
  type CifarArchive,
} from '../src';
import { FIXTURES, tempDir } from './helpers';

const DIR = join(FIXTURES, 'cifar');
// Written by scripts/make-cifar-fixtures.py with numpy.
const EXPECTED = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  cifar10: Record<'train' | 'test', { labels: number[]; sha256: string }>;
};

let tmp: ReturnType<typeof tempDir>;
let cifar: CifarArchive;
beforeAll(async () => {
  tmp = tempDir();
  cifar = await readCifarArchive(join(DIR, 'cifar-10-python.tar.gz'));
});
afterAll(() => tmp.remove());

describe('writeImageFolder', () => {
  it('writes dir/<split>/<class>/<index>.png losslessly, then renames each split into place', async () => {
    const out = join(tmp.dir, 'cifar10');
    const progress: number[] = [];
    const folders = await writeImageFolder(
      out,
      { train: cifar.train!, test: cifar.test! },
      { onProgress: (done, total) => progress.push(done / total) },
    );
    expect(folders).toEqual({ train: join(out, 'train'), test: join(out, 'test') });
    expect(progress).toHaveLength(23);
    expect(progress.at(-1)).toBe(1);
    expect(readdirSync(out).sort()).toEqual(['test', 'train']); // no temporary folder left
    for (const split of ['train', 'test'] as const) {
      const folder = await imageFolder(folders[split], { allowEmptyClasses: true });
      expect(folder.classes).toEqual(cifar.classes); // every class has a folder, sorted as the archive's
      // Back in the archive's order by file name: the generator's pixels and labels.
      const samples = [...folder.samples].sort((a, b) =>
        basename(a.path) < basename(b.path) ? -1 : 1,
      );
      expect(samples.map((s) => basename(s.path))[0]).toBe('00000.png');
      expect(samples.map((s) => s.label)).toEqual(EXPECTED.cifar10[split].labels);
      const hash = createHash('sha256');
      for (const s of samples) hash.update(await sharp(s.path).raw().toBuffer());
      expect(hash.digest('hex')).toBe(EXPECTED.cifar10[split].sha256);
    }
    // The per-pixel mean of the images in memory is the folder's.
    const fromMemory = await computeMean(cifar.train!, { transform: cifarEval() });
    const fromFolder = await computeMean(
      await imageFolder(folders.train, { allowEmptyClasses: true }),
      { transform: cifarEval() },
    );
    expect(fromMemory.count).toBe(20);
    expect(Array.from(fromMemory.image.data)).toEqual(Array.from(fromFolder.image.data));
    // Holding out from the folder (sorted file names) takes the images held out in memory.
    const fromFiles = holdOutPerClass(await imageFolder(folders.train), 1);
    const inMemory = holdOutPerClass(cifar.train!, 1);
    expect(
      fromFiles.val.samples.map((s) => Number(basename(s.path, '.png'))).sort((a, b) => a - b),
    ).toEqual(
      [...new Set(inMemory.val.labels)]
        .map((label) => EXPECTED.cifar10.train.labels.lastIndexOf(label))
        .sort((a, b) => a - b),
    );
    expect(inMemory.val.count).toBe(10);
    await expect(writeImageFolder(out, { test: cifar.test! })).rejects.toThrow(
      `writeImageFolder: ${join(out, 'test')} exists already; remove it or write elsewhere.`,
    );
  });

  it('leaves nothing behind when interrupted, and refuses names that are not folder names', async () => {
    const out = join(tmp.dir, 'interrupted');
    const stop = () => {
      throw new Error('interrupted');
    };
    await expect(
      writeImageFolder(out, { train: cifar.train! }, { onProgress: stop }),
    ).rejects.toThrow('interrupted');
    expect(readdirSync(out)).toEqual([]);
    const bad = { ...cifar.test!, classes: ['../escape', ...cifar.classes.slice(1)] };
    await expect(writeImageFolder(out, { test: bad })).rejects.toThrow(
      'writeImageFolder: the class "../escape" cannot be a folder name',
    );
    await expect(writeImageFolder(out, { '.hidden': cifar.test! })).rejects.toThrow(
      'the split ".hidden" cannot be a folder name',
    );
    expect(existsSync(join(tmp.dir, 'escape'))).toBe(false);
  });
});
