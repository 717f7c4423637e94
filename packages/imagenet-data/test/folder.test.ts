import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { holdOutPerClass, imageFolder, imagenetValidation, IMAGENET_WNIDS } from '../src';
import { FIXTURES, solid, tempDir, writeFile } from './helpers';

let tmp: ReturnType<typeof tempDir>;
let png: Buffer;
beforeAll(async () => {
  tmp = tempDir();
  png = await solid(4, 4, [1, 2, 3]);
});
afterAll(() => tmp.remove());

describe('imageFolder', () => {
  it('maps sorted folder names to classes and skips hidden and non-image files', async () => {
    const root = join(tmp.dir, 'basic');
    writeFile(join(root, 'n01443537', 'b.JPEG'), png);
    writeFile(join(root, 'n01443537', 'a.jpeg'), png);
    writeFile(join(root, 'n01440764', 'x.Png'), png);
    writeFile(join(root, 'n01440764', 'nested', 'y.JPG'), png);
    writeFile(join(root, 'n01440764', 'notes.txt'), 'not an image');
    writeFile(join(root, 'n01440764', '.DS_Store'), 'junk');
    writeFile(join(root, 'n01440764', '._x.Png'), 'resource fork');
    writeFile(join(root, '.ipynb_checkpoints', 'z.jpg'), png);
    writeFile(join(root, 'README.md'), '# data');
    const ds = await imageFolder(root);
    expect(ds.classes).toEqual(['n01440764', 'n01443537']);
    expect(ds.samples.map((s) => [s.path.slice(root.length + 1), s.label])).toEqual([
      ['n01440764/nested/y.JPG', 0],
      ['n01440764/x.Png', 0],
      ['n01443537/a.jpeg', 1],
      ['n01443537/b.JPEG', 1],
    ]);
    expect(ds.ignored.map((p) => p.slice(root.length + 1))).toEqual([
      'README.md',
      'n01440764/notes.txt',
    ]);
  });

  it('refuses an empty class folder by name, unless allowed', async () => {
    const root = join(tmp.dir, 'empty');
    writeFile(join(root, 'cat', '1.jpg'), png);
    mkdirSync(join(root, 'dog'), { recursive: true });
    writeFile(join(root, 'dog', '.DS_Store'), 'junk');
    await expect(imageFolder(root)).rejects.toThrow(
      /class folder .*\/dog contains no image.*allowEmptyClasses: true/,
    );
    const ds = await imageFolder(root, { allowEmptyClasses: true });
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.samples).toHaveLength(1);
  });

  it('keeps the standard indices of a subset when given the class list', async () => {
    const root = join(tmp.dir, 'subset');
    writeFile(join(root, 'n15075141', '1.jpg'), png);
    writeFile(join(root, 'n02119789', '1.jpg'), png);
    const ds = await imageFolder(root, { classes: IMAGENET_WNIDS });
    expect(ds.samples.map((s) => s.label)).toEqual([278, 999]);
    writeFile(join(root, 'n0000000x', '1.jpg'), png);
    await expect(imageFolder(root, { classes: IMAGENET_WNIDS })).rejects.toThrow(
      /n0000000x is not one of the 1000 classes/,
    );
  });

  it('names a missing folder, a folder without classes and a bad option', async () => {
    await expect(imageFolder(join(tmp.dir, 'nope'))).rejects.toThrow(
      /cannot read the dataset folder .*nope/,
    );
    writeFile(join(tmp.dir, 'flat', 'a.jpg'), png);
    await expect(imageFolder(join(tmp.dir, 'flat'))).rejects.toThrow(
      /has no class folders; expected the layout root\/<class>\/<image>/,
    );
    await expect(imageFolder(tmp.dir, { allowEmpty: true } as never)).rejects.toThrow(
      /unknown option "allowEmpty"/,
    );
  });
});

describe('imagenetValidation', () => {
  const names = [1, 2, 3].map((i) => `ILSVRC2012_val_0000000${i}.JPEG`);

  it('(a) reads class sub-folders with the standard indices', async () => {
    const root = join(tmp.dir, 'val-a');
    writeFile(join(root, 'n01443537', names[0]), png);
    writeFile(join(root, 'n15075141', names[1]), png);
    const ds = await imagenetValidation(root);
    expect(ds.classes).toHaveLength(1000);
    expect(ds.samples.map((s) => s.label)).toEqual([1, 999]);
  });

  it('(b) reads a flat folder with the devkit ground truth and class list', async () => {
    const root = join(tmp.dir, 'val-b');
    for (const n of names) writeFile(join(root, 'images', n), png);
    // A devkit-style class list: ILSVRC2012_ID k ↦ the k-th wnid in reverse sorted order,
    // so that ids and class indices differ (id 1 ↦ n15075141 = class 999).
    const devkit = [...IMAGENET_WNIDS].reverse();
    const map = writeFile(
      join(root, 'map_clsloc.txt'),
      devkit.map((w, i) => `${w} ${i + 1} name_${i}`).join('\n'),
    );
    const truth = writeFile(join(root, 'ILSVRC2012_validation_ground_truth.txt'), '1\n1000\n3\n');
    const ds = await imagenetValidation(join(root, 'images'), {
      groundTruth: truth,
      devkitClasses: map,
    });
    // id 1 → class 999, id 1000 → class 0, id 3 → class 997.
    expect(ds.samples.map((s) => s.label)).toEqual([999, 0, 997]);
    const same = await imagenetValidation(join(root, 'images'), {
      groundTruth: truth,
      devkitClasses: devkit,
    });
    expect(same.samples).toEqual(ds.samples);
    await expect(imagenetValidation(join(root, 'images'), { groundTruth: truth })).rejects.toThrow(
      /option "devkitClasses" must be the devkit's class list/,
    );
    await expect(
      imagenetValidation(join(root, 'images'), {
        groundTruth: truth,
        devkitClasses: devkit.slice(1),
      }),
    ).rejects.toThrow(/"devkitClasses" must be the 1000 ILSVRC-2012 wnids in ILSVRC2012_ID order/);
  });

  it('(b) reads a flat folder with the devkit folder as downloaded (ground truth + meta.mat)', async () => {
    // test/fixtures/devkit-meta.mat is written by SciPy (scripts/make-mat-fixtures.py) in the
    // devkit's layout: a compressed "synsets" struct array, ILSVRC2012_ID k ↦ the k-th wnid
    // of the sorted list reversed for the 1000 leaves, plus non-leaf synsets with ids > 1000.
    const root = join(tmp.dir, 'val-devkit');
    for (const n of names) writeFile(join(root, 'images', n), png);
    const devkit = join(root, 'ILSVRC2012_devkit_t12');
    writeFile(join(devkit, 'data', 'meta.mat'), readFileSync(join(FIXTURES, 'devkit-meta.mat')));
    writeFile(join(devkit, 'data', 'ILSVRC2012_validation_ground_truth.txt'), '1\n1000\n490\n');
    const ds = await imagenetValidation(join(root, 'images'), { devkit });
    // id 1 → n15075141 = class 999, id 1000 → n01440764 = class 0, id 490 → class 510.
    expect(ds.samples.map((s) => s.label)).toEqual([999, 0, 510]);
    const byFiles = await imagenetValidation(join(root, 'images'), {
      groundTruth: join(devkit, 'data', 'ILSVRC2012_validation_ground_truth.txt'),
      devkitClasses: join(devkit, 'data', 'meta.mat'),
    });
    expect(byFiles.samples).toEqual(ds.samples);

    await expect(
      imagenetValidation(join(root, 'images'), { devkit: join(root, 'images') }),
    ).rejects.toThrow(
      /option "devkit": found no ILSVRC2012_validation_ground_truth.txt and meta.mat in/,
    );
    await expect(
      imagenetValidation(join(root, 'images'), { devkit, groundTruth: 'x.txt' }),
    ).rejects.toThrow(/give either "devkit" .* not both/);
    // A damaged meta.mat names the file and what is wrong with it.
    const damaged = join(root, 'damaged', 'data');
    writeFile(
      join(damaged, 'meta.mat'),
      readFileSync(join(FIXTURES, 'devkit-meta.mat')).subarray(0, 3000),
    );
    writeFile(join(damaged, 'ILSVRC2012_validation_ground_truth.txt'), '1\n');
    await expect(
      imagenetValidation(join(root, 'images'), { devkit: join(root, 'damaged') }),
    ).rejects.toThrow(/cannot read .*damaged\/data\/meta.mat: a damaged or unsupported MAT-file/);
    // A MAT-file without the synsets variable (here SciPy's mat-kinds.mat).
    await expect(
      imagenetValidation(join(root, 'images'), {
        groundTruth: join(devkit, 'data', 'ILSVRC2012_validation_ground_truth.txt'),
        devkitClasses: join(FIXTURES, 'mat-kinds.mat'),
      }),
    ).rejects.toThrow(
      /mat-kinds.mat has no "synsets" struct array with fields ILSVRC2012_ID and WNID/,
    );
  });

  it("(c) reads a flat folder with Kaggle's LOC_val_solution.csv", async () => {
    const root = join(tmp.dir, 'val-c');
    for (const n of names) writeFile(join(root, 'images', n), png);
    const csv = writeFile(
      join(root, 'LOC_val_solution.csv'),
      'ImageId,PredictionString\n' +
        'ILSVRC2012_val_00000002,n02119789 10 20 30 40 n02119789 1 2 3 4\n' +
        'ILSVRC2012_val_00000001,n01440764 0 0 10 10\n' +
        'ILSVRC2012_val_00000003,n15075141 5 5 9 9\n',
    );
    const ds = await imagenetValidation(join(root, 'images'), { kaggleSolution: csv });
    expect(ds.samples.map((s) => s.label)).toEqual([0, 278, 999]);
    writeFile(join(root, 'images', 'ILSVRC2012_val_00000004.JPEG'), png);
    await expect(imagenetValidation(join(root, 'images'), { kaggleSolution: csv })).rejects.toThrow(
      /ILSVRC2012_val_00000004.JPEG has no label in .*LOC_val_solution.csv/,
    );
  });
});

describe('holdOutPerClass', () => {
  // Two classes: "a" with samples a0…a4, "b" with b0…b2, interleaved as a dataset may be.
  const dataset = {
    classes: ['a', 'b'],
    samples: [
      { path: 'a0', label: 0 },
      { path: 'b0', label: 1 },
      { path: 'a1', label: 0 },
      { path: 'a2', label: 0 },
      { path: 'b1', label: 1 },
      { path: 'a3', label: 0 },
      { path: 'b2', label: 1 },
      { path: 'a4', label: 0 },
    ],
  };

  it('holds out the last N samples of each class, keeping the order and the class list', () => {
    const { train, val } = holdOutPerClass(dataset, 2);
    expect(train.samples.map((s) => s.path)).toEqual(['a0', 'b0', 'a1', 'a2']);
    expect(val.samples.map((s) => s.path)).toEqual(['b1', 'a3', 'b2', 'a4']);
    expect(train.classes).toEqual(['a', 'b']);
    expect(val.classes).toEqual(['a', 'b']);
  });

  it('refuses a class that would have nothing left, naming it', () => {
    expect(() => holdOutPerClass(dataset, 3)).toThrow(
      'holdOutPerClass: class "b" has 3 samples; holding out 3 needs more than 3.',
    );
    expect(() => holdOutPerClass(dataset, 0)).toThrow('perClass must be a positive integer');
    expect(() => holdOutPerClass(dataset, 1.5)).toThrow('perClass must be a positive integer');
  });
});
