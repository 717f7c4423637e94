import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CIFAR10_CLASSES,
  cifar10,
  cifar100,
  holdOutPerClass,
  readCifarArchive,
  type CifarDataset,
  type CifarSplit,
} from '../src';
import { PickleError, readPickle } from '../src/pickle';
import { Random } from '../src/rng';
import { readTarMembers } from '../src/tar-members';
import { FIXTURES, tempDir } from './helpers';

// Archives and expectations written by scripts/make-cifar-fixtures.py (numpy,
// Python's pickle and tarfile): the pixels' hashes and labels are numpy's.
const DIR = join(FIXTURES, 'cifar');
const archive = (name: string) => join(DIR, name);
interface ExpectedSplit {
  count: number;
  labels: number[];
  coarseLabels?: number[];
  sha256: string;
  pixels: [number, number, number, number, number][];
}
type Expected = Record<
  'cifar10' | 'cifar100',
  { classes: string[]; coarseClasses?: string[] } & Record<CifarSplit, ExpectedSplit>
>;
const EXPECTED = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected;

function expectSplit(got: CifarDataset, want: ExpectedSplit): void {
  expect(got.count).toBe(want.count);
  expect(got.imageShape).toEqual([32, 32, 3]);
  expect(got.images.length).toBe(want.count * 3072);
  expect(Array.from(got.labels)).toEqual(want.labels);
  if (want.coarseLabels) expect(Array.from(got.coarseLabels!)).toEqual(want.coarseLabels);
  for (const [n, y, x, c, value] of want.pixels)
    expect(got.images[((n * 32 + y) * 32 + x) * 3 + c]).toBe(value);
  expect(createHash('sha256').update(got.images).digest('hex')).toBe(want.sha256);
}

describe('readCifarArchive', () => {
  it.each([
    ['cifar-10-python.tar.gz', 'python'],
    ['cifar-10-python-protocol4.tar.gz', 'python'],
    ['cifar-10-binary.tar.gz', 'binary'],
  ])('reads CIFAR-10 from %s as numpy reads it', async (file, format) => {
    const read = await readCifarArchive(archive(file));
    expect(read.name).toBe('cifar10');
    expect(read.format).toBe(format);
    expect(read.classes).toEqual(EXPECTED.cifar10.classes);
    expect(read.classes).toEqual(CIFAR10_CLASSES);
    expect(read.coarseClasses).toBeUndefined();
    expectSplit(read.train!, EXPECTED.cifar10.train);
    expectSplit(read.test!, EXPECTED.cifar10.test);
    expect(read.train!.classes).toBe(read.classes);
  });

  it.each([
    ['cifar-100-python.tar.gz', 'python'],
    ['cifar-100-binary.tar.gz', 'binary'],
  ])('reads CIFAR-100 from %s with fine and coarse labels', async (file, format) => {
    const read = await readCifarArchive(archive(file));
    expect([read.name, read.format]).toEqual(['cifar100', format]);
    expect(read.classes).toEqual(EXPECTED.cifar100.classes);
    expect(read.coarseClasses).toEqual(EXPECTED.cifar100.coarseClasses);
    expect(read.classes).toHaveLength(100);
    expect(read.coarseClasses).toHaveLength(20);
    expectSplit(read.train!, EXPECTED.cifar100.train);
    expectSplit(read.test!, EXPECTED.cifar100.test);
  });

  it('reads only the splits asked for', async () => {
    const read = await readCifarArchive(archive('cifar-10-binary.tar.gz'), ['test']);
    expect(read.train).toBeUndefined();
    expectSplit(read.test!, EXPECTED.cifar10.test);
    await expect(readCifarArchive(archive('cifar-10-binary.tar.gz'), [])).rejects.toThrow(
      'readCifarArchive: option "splits" must be a non-empty list of "train" and "test"',
    );
  });
});

describe('cifar10 and cifar100', () => {
  it('give one split, training by default', async () => {
    const train = await cifar10({ archive: archive('cifar-10-python.tar.gz') });
    expect([train.name, train.split]).toEqual(['cifar10', 'train']);
    expectSplit(train, EXPECTED.cifar10.train);
    const test = await cifar100({ archive: archive('cifar-100-binary.tar.gz'), split: 'test' });
    expect([test.name, test.split]).toEqual(['cifar100', 'test']);
    expectSplit(test, EXPECTED.cifar100.test);
  });

  it('refuse the other dataset and bad options', async () => {
    await expect(cifar10({ archive: archive('cifar-100-python.tar.gz') })).rejects.toThrow(
      'holds CIFAR-100; expected cifar-10-python.tar.gz or cifar-10-binary.tar.gz',
    );
    await expect(cifar100({ archive: archive('cifar-10-binary.tar.gz') })).rejects.toThrow(
      'holds CIFAR-10; expected cifar-100-python.tar.gz or cifar-100-binary.tar.gz',
    );
    await expect(
      cifar10({ archive: archive('cifar-10-python.tar.gz'), split: 'val' as CifarSplit }),
    ).rejects.toThrow('cifar10: option "split" must be one of');
    await expect(cifar10({} as { archive: string })).rejects.toThrow(
      'cifar10: option "archive" must be the path of the archive',
    );
  });
});

describe('hostile and damaged archives', () => {
  it('never runs a pickle: a forbidden global is refused by name', async () => {
    await expect(readCifarArchive(archive('hostile-global.tar.gz'), ['test'])).rejects.toThrow(
      /hostile-global\.tar\.gz: cifar-10-batches-py\/test_batch: the pickle calls posix\.system, which is not allowed .*nothing was executed/,
    );
  });

  it('refuses an array whose shape claims more bytes than its data holds', async () => {
    await expect(readCifarArchive(archive('hostile-short-array.tar.gz'), ['test'])).rejects.toThrow(
      'cifar-10-batches-py/test_batch: a numpy array of shape (3, 3072) needs 9216 bytes; its data holds 9206.',
    );
  });

  it('refuses labels that do not match the images', async () => {
    await expect(readCifarArchive(archive('hostile-labels.tar.gz'), ['test'])).rejects.toThrow(
      'cifar-10-batches-py/test_batch holds 3 images but 2 labels under "labels"; expected one label per image.',
    );
  });

  it('refuses a binary batch that is not a whole number of records', async () => {
    await expect(readCifarArchive(archive('hostile-records.tar.gz'), ['test'])).rejects.toThrow(
      'cifar-10-batches-bin/test_batch.bin holds 9119 bytes, not a whole number of 3073-byte records (1 label byte + 3072 pixel bytes each).',
    );
  });

  it('refuses a tar cut in the middle of a member, and a cut gzip stream', async () => {
    await expect(readCifarArchive(archive('hostile-truncated.tar.gz'), ['test'])).rejects.toThrow(
      /hostile-truncated\.tar\.gz: not a readable tar archive \(truncated or damaged\?\): .*Truncated input/,
    );
    const tmp = tempDir();
    try {
      const cut = join(tmp.dir, 'cut.tar.gz');
      const whole = readFileSync(archive('cifar-10-python.tar.gz'));
      writeFileSync(cut, whole.subarray(0, whole.length - 600));
      await expect(readCifarArchive(cut)).rejects.toThrow(
        /cut\.tar\.gz: not a readable tar archive \(truncated or damaged\?\): .*unexpected end of file/,
      );
    } finally {
      tmp.remove();
    }
  });

  it('refuses a member larger than its limit before reading its body', async () => {
    const limit = (name: string) => (name.endsWith('test_batch') ? 100 : undefined);
    await expect(readTarMembers(archive('cifar-10-python.tar.gz'), { limit })).rejects.toThrow(
      /cifar-10-python\.tar\.gz: member cifar-10-batches-py\/test_batch declares \d+ bytes, more than the 100 allowed for it\./,
    );
  });

  it('reads regular files only: a member that links elsewhere is missing', async () => {
    await expect(readCifarArchive(archive('hostile-symlink.tar.gz'), ['test'])).rejects.toThrow(
      'is cifar-10-python.tar.gz without cifar-10-batches-py/test_batch (as regular files); the archive is incomplete.',
    );
  });

  it('names what is missing or foreign', async () => {
    await expect(readCifarArchive(archive('hostile-global.tar.gz'), ['train'])).rejects.toThrow(
      'is cifar-10-python.tar.gz without cifar-10-batches-py/data_batch_1, cifar-10-batches-py/data_batch_2',
    );
    await expect(readCifarArchive(join(FIXTURES, 'mat-kinds.mat'))).rejects.toThrow(
      'mat-kinds.mat: not a readable tar archive',
    );
    await expect(readCifarArchive(join(DIR, 'missing.tar.gz'))).rejects.toThrow(
      /cannot read .*missing\.tar\.gz: ENOENT/,
    );
  });
});

describe('readPickle', () => {
  // Pickles written by hand from the opcode table of CPython's Lib/pickletools.py.
  const bytes = (...parts: (number[] | string)[]) =>
    Buffer.concat(
      parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
    );

  it('reads dicts, lists, tuples, numbers and strings', () => {
    // {'a': [1, -2, 300, 2**40], 'b': (True, None), u'é': b'xy'}
    const ok = bytes(
      [0x80, 2],
      '}(U\x01a]q\x00(K\x01J\xfe\xff\xff\xffM\x2c\x01\x8a\x06\x00\x00\x00\x00\x00\x01eU\x01b\x88N\x86',
      [0x8c, 2, 0xc3, 0xa9],
      'C\x02xyu.',
    );
    const value = readPickle(ok) as Map<string, unknown>;
    expect(value.get('a')).toEqual([1, -2, 300, 2 ** 40]);
    expect(value.get('b')).toEqual([true, null]);
    expect(value.get('é')).toEqual(Buffer.from('xy'));
  });

  it('refuses the opcodes a CIFAR batch does not need, by name', () => {
    expect(() => readPickle(bytes([0x80, 2], 'K\x010.'))).toThrow(
      'opcode POP (0x30) at byte 4 is not supported',
    );
    expect(() => readPickle(bytes('(cos\nsystem\no.'))).toThrow('the pickle calls os.system');
  });

  it('checks every length and the stack before use', () => {
    expect(() => readPickle(bytes('T\xff\xff\x00\x00abc.'))).toThrow(
      'a string of 65535 bytes at byte 5 runs past the end (4 bytes left)',
    );
    expect(() => readPickle(bytes('}h\x07.'))).toThrow('a memo entry 7 that was never stored');
    expect(() => readPickle(bytes('K\x01u.'))).toThrow('SETITEMS without a MARK');
    expect(() => readPickle(bytes('}K\x01'))).toThrow('the pickle ends without a STOP opcode');
    expect(() => readPickle(bytes('cbuiltins\neval\n.'))).toThrow(
      'the pickle calls builtins.eval, which is not allowed',
    );
    expect(() => readPickle(bytes([0x8c, 2], 'os', [0x8c, 6], 'system', [0x93], '.'))).toThrow(
      'the pickle calls os.system, which is not allowed',
    );
    expect(() => readPickle(bytes('cnumpy\ndtype\nU\x02f4K\x00K\x01\x87R.'))).toThrow(
      `a numpy array of dtype "f4"; only uint8 ('u1') arrays are read`,
    );
  });

  it('fails only with its own errors on damaged pickles', async () => {
    const { members } = await readTarMembers(archive('cifar-10-python.tar.gz'), {
      limit: (name) => (name.endsWith('test_batch') ? 2 ** 20 : undefined),
    });
    const pickle = members.get('cifar-10-batches-py/test_batch')!;
    const rng = new Random(7);
    const outcomes = new Set<string>();
    for (let trial = 0; trial < 400; trial++) {
      const damaged = Buffer.from(pickle);
      for (let k = 0; k < 3; k++) damaged[rng.int(0, damaged.length - 1)] = rng.int(0, 255);
      const cut = trial % 4 === 0 ? damaged.subarray(0, rng.int(0, damaged.length)) : damaged;
      try {
        readPickle(cut);
        outcomes.add('read');
      } catch (error) {
        expect(error).toBeInstanceOf(PickleError);
        outcomes.add('refused');
      }
    }
    expect(outcomes).toEqual(new Set(['read', 'refused']));
  });
});

describe('holdOutPerClass on a dataset in memory', () => {
  it('holds out the last images of each class, copying pixels and labels', () => {
    // 6 one-pixel images, labels a b a b a b; the pixel value is the image's index.
    const dataset = {
      classes: ['a', 'b'],
      images: Uint8Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]),
      imageShape: [1, 1, 3] as const,
      labels: Int32Array.from([0, 1, 0, 1, 0, 1]),
      count: 6,
    };
    const { train, val } = holdOutPerClass(dataset, 1);
    expect([train.count, val.count]).toEqual([4, 2]);
    expect(Array.from(train.images)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    expect(Array.from(train.labels)).toEqual([0, 1, 0, 1]);
    expect(Array.from(val.images)).toEqual([4, 4, 4, 5, 5, 5]);
    expect(Array.from(val.labels)).toEqual([0, 1]);
    expect(val.classes).toBe(dataset.classes);
    expect(() => holdOutPerClass(dataset, 3)).toThrow(
      'holdOutPerClass: class "a" has 3 samples; holding out 3 needs more than 3.',
    );
    expect(() =>
      holdOutPerClass({ ...dataset, labels: Int32Array.from([0, 1, 0, 1, 0, 2]) }, 1),
    ).toThrow('holdOutPerClass: label 2 of sample 5 is not a class index 0 … 1.');
  });
});
