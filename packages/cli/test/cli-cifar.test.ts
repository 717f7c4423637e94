import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { convnets, tempDir } from './helpers';

// Small archives in the official layouts, from imagenet-data's scripts/make-cifar-fixtures.py:
// CIFAR-10 with 20 training images (each class twice) and 3 test images.
const fixtures = fileURLToPath(
  new URL('../../imagenet-data/test/fixtures/cifar/', import.meta.url),
);

const dir = tempDir('convnets-cifar-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tiny = ['--arch', 'cifar_resnet8', '--steps', '1', '--batch-size', '5', '--backend', 'cpu'];

describe('convnets data cifar10 and train --data <archive>', () => {
  it('refuses an archive that is not the published one unless --no-verify, naming both MD5s', () => {
    const kept = join(dir, 'kept');
    const archive = join(fixtures, 'cifar-10-python.tar.gz');
    const refused = convnets('data', 'cifar10', kept, '--archive', archive);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /--archive .*cifar-10-python\.tar\.gz is not a published archive \(its MD5 is [0-9a-f]{32}; cifar-10-python\.tar\.gz's is c58f30108f718f92721af3b95e74349a, cifar-10-binary\.tar\.gz's is c32a1d4ab5d03f1284b67883e8d87530\); pass --no-verify/,
    );
    expect(existsSync(kept)).toBe(false);
  });

  it('keeps a checked archive in DIR, which train --data reads directly', () => {
    const kept = join(dir, 'kept');
    const r = convnets(
      'data',
      'cifar10',
      kept,
      '--archive',
      join(fixtures, 'cifar-10-python.tar.gz'),
      '--no-verify',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      'CIFAR-10 (python version), 20 training and 3 test images, 10 classes',
    );
    expect(readdirSync(kept)).toEqual(['cifar-10-python.tar.gz']);
    const run = convnets(
      'train',
      ...tiny,
      '--data',
      kept,
      '--holdout',
      '1',
      '--pixel-mean',
      '--out',
      join(dir, 'run-archive'),
      '--no-plot',
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('cifar_resnet8 on 10 images, 10 classes, validating on 10,');
    expect(run.stdout).toContain('done at step 1');
    const val = convnets(
      'train',
      ...tiny,
      '--data',
      join(kept, 'cifar-10-python.tar.gz'),
      '--val',
      kept,
      '--out',
      join(dir, 'run-test'),
      '--no-plot',
    );
    expect(val.stdout).toContain('on 20 images, 10 classes, validating on 3,');
  });

  it('writes an image folder from the binary version, which trains as the archive does', () => {
    const folder = join(dir, 'folder');
    const r = convnets(
      'data',
      'cifar10',
      folder,
      '--archive',
      join(fixtures, 'cifar-10-binary.tar.gz'),
      '--no-verify',
      '--format',
      'folder',
    );
    expect(r.code).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['test', 'train']);
    const pngs = (split: string) =>
      readdirSync(join(folder, split), { recursive: true }).filter((f) =>
        String(f).endsWith('.png'),
      );
    expect([pngs('train').length, pngs('test').length]).toEqual([20, 3]);
    const run = convnets(
      'train',
      ...tiny,
      '--data',
      join(folder, 'train'),
      '--holdout',
      '1',
      '--out',
      join(dir, 'run-folder'),
      '--no-plot',
    );
    expect(run.stdout).toContain('cifar_resnet8 on 10 images, 10 classes, validating on 10,');
  });

  it('refuses the wrong dataset and a hostile archive in one line, writing nothing', () => {
    const wrong = convnets(
      'data',
      'cifar100',
      join(dir, 'wrong'),
      '--archive',
      join(fixtures, 'cifar-10-binary.tar.gz'),
      '--no-verify',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('holds CIFAR-10; `convnets data cifar100` takes CIFAR-100');
    const hostile = convnets(
      'data',
      'cifar10',
      join(dir, 'hostile'),
      '--archive',
      join(fixtures, 'hostile-global.tar.gz'),
      '--no-verify',
    );
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toContain(
      'is cifar-10-python.tar.gz without cifar-10-batches-py/data_batch_1',
    );
    const missing = convnets(
      'data',
      'cifar10',
      join(dir, 'missing'),
      '--archive',
      join(dir, 'nothing.tar.gz'),
    );
    expect(missing.stderr).toMatch(/--archive .*nothing\.tar\.gz is not a file/);
    for (const d of ['wrong', 'hostile', 'missing']) expect(existsSync(join(dir, d))).toBe(false);
  });
});
