import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, copyFileSync, mkdirSync, openSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkImageFolder,
  compose,
  centerCrop,
  createLoader,
  decodeImage,
  ImageDecodeError,
  imageFolder,
  resizeShorterSide,
  transformImage,
} from '../src';
import { PHOTOS, tempDir } from './helpers';

// FIFOs, sockets, folders, dangling symbolic links and symbolic-link loops
// named like images: only regular files are read; the others fail like an
// unreadable image (never a hang, never a bare EISDIR), and the listing
// goes on past them.

let tmp: ReturnType<typeof tempDir>;
const fifos: string[] = [];
let root: string;

/** A FIFO at `path` (mkfifo(1); Node has no mkfifo). */
function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  fifos.push(path);
  return path;
}

beforeAll(() => {
  tmp = tempDir();
  root = join(tmp.dir, 'data');
  for (const c of ['a', 'b']) mkdirSync(join(root, c), { recursive: true });
  copyFileSync(PHOTOS[1], join(root, 'a', 'photo.JPEG'));
  copyFileSync(PHOTOS[2], join(root, 'b', 'photo.JPEG'));
  fifo(join(root, 'a', 'fifo.jpg'));
  symlinkSync(join(tmp.dir, 'nowhere.jpg'), join(root, 'a', 'dangling.jpg'));
  symlinkSync('self.jpg', join(root, 'a', 'self.jpg')); // ELOOP
  symlinkSync('..', join(root, 'a', 'up')); // a folder loop: a/up/a/up/…
  symlinkSync('.', join(root, 'b', 'here')); // b/here/here/…
  mkdirSync(join(root, 'b', 'folder.jpg')); // a folder named like an image
  symlinkSync(join(tmp.dir, 'gone'), join(root, 'gone')); // a dangling class folder
});

afterAll(() => {
  // On code that blocks in open() on a FIFO, opening the write end releases
  // the reader so that the worker can exit.
  for (const path of fifos) {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  }
  tmp.remove();
});

const TIMEOUT = 10_000;

describe('files that are not regular files', () => {
  it(
    'a FIFO named .jpg fails at once with an error naming it, instead of hanging',
    async () => {
      const path = fifo(join(tmp.dir, 'alone.jpg'));
      const error = await decodeImage(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageDecodeError);
      expect((error as ImageDecodeError).path).toBe(path);
      expect((error as Error).message).toBe(
        `cannot decode ${path}: it is a FIFO (named pipe), not a regular file; only regular files are read`,
      );
    },
    TIMEOUT,
  );

  it('a folder given as an image is named as a folder, not as a bare EISDIR', async () => {
    const path = join(root, 'b', 'folder.jpg');
    await expect(decodeImage(path)).rejects.toThrow(
      `cannot decode ${path}: it is a directory, not a regular file; only regular files are read`,
    );
    const eval224 = compose([resizeShorterSide(32), centerCrop(32)], { training: false });
    // The path that `predict` takes.
    await expect(transformImage(root, eval224)).rejects.toThrow(
      `cannot decode ${root}: it is a directory`,
    );
    await expect(transformImage(join(root, 'a', 'fifo.jpg'), eval224)).rejects.toThrow(
      /fifo\.jpg: it is a FIFO/,
    );
  });

  it(
    'listing goes past dangling links, link loops and FIFOs; folder loops are skipped and listed as ignored',
    async () => {
      const folder = await imageFolder(root);
      expect(folder.classes).toEqual(['a', 'b']);
      expect(folder.samples.map((s) => s.path.slice(root.length + 1))).toEqual([
        'a/dangling.jpg',
        'a/fifo.jpg',
        'a/photo.JPEG',
        'a/self.jpg',
        'b/photo.JPEG',
      ]);
      expect(folder.ignored).toEqual([
        join(root, 'a', 'up'),
        join(root, 'b', 'here'),
        join(root, 'gone'),
      ]);
    },
    TIMEOUT,
  );

  it(
    'the checker reports them as unreadable, each with why',
    async () => {
      const report = await checkImageFolder(root);
      expect(report.images).toBe(5);
      const reasons = Object.fromEntries(
        report.unreadable.map((u) => [u.path.slice(root.length + 1), u.reason]),
      );
      expect(Object.keys(reasons).sort()).toEqual(['a/dangling.jpg', 'a/fifo.jpg', 'a/self.jpg']);
      expect(reasons['a/fifo.jpg']).toMatch(/^it is a FIFO \(named pipe\), not a regular file/);
      expect(reasons['a/dangling.jpg']).toMatch(/ENOENT/);
      expect(reasons['a/self.jpg']).toMatch(/ELOOP/);
      expect(report.formats).toEqual({ jpeg: 2 });
    },
    TIMEOUT,
  );

  it(
    'the loader skips and counts them in training, and names them in strict mode',
    async () => {
      const folder = await imageFolder(root);
      const transform = compose([resizeShorterSide(32), centerCrop(32)]);
      const loader = createLoader(folder, {
        transform,
        batchSize: 2,
        dropLast: false,
        seed: 1,
        strict: false,
      });
      let images = 0;
      for await (const batch of loader) {
        images += batch.indices.length;
        tf.dispose([batch.images, batch.labels]);
      }
      expect(images).toBe(2);
      expect(loader.stats.skipped.map((s) => s.path.slice(root.length + 1)).sort()).toEqual([
        'a/dangling.jpg',
        'a/fifo.jpg',
        'a/self.jpg',
      ]);
      const fifoOnly = {
        classes: ['a'],
        samples: [{ path: join(root, 'a', 'fifo.jpg'), label: 0 }],
      };
      const strict = createLoader(fifoOnly, { transform, batchSize: 1, strict: true });
      await expect(strict[Symbol.asyncIterator]().next()).rejects.toThrow(
        /fifo\.jpg: it is a FIFO \(named pipe\)/,
      );
    },
    TIMEOUT,
  );
});
