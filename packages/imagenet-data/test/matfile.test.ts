import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { readMatFile, type MatValue } from '../src/matfile';
import { FIXTURES } from './helpers';

// A minimal MAT-file writer written from the format's description (MATLAB's
// "MAT-File Format", level 5), for what SciPy does not write: big-endian
// files, small data elements, doubles stored as uint8, UTF-8 characters.
function writer(little: boolean) {
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (little) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const pad8 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
  const element = (type: number, data: Buffer) =>
    data.length <= 4 && data.length > 0
      ? // small data element: byte count in the upper half of the first word
        Buffer.concat([u32((data.length << 16) | type), data, Buffer.alloc(4 - data.length)])
      : type === 15 // compressed elements are not padded
        ? Buffer.concat([u32(type), u32(data.length), data])
        : pad8(Buffer.concat([u32(type), u32(data.length), data]));
  const int32s = (values: number[]) => Buffer.concat(values.map((v) => u32(v >>> 0)));
  const matrix = (cls: number, dims: number[], name: string, ...rest: Buffer[]) =>
    element(
      14,
      Buffer.concat([
        element(6, Buffer.concat([u32(cls), u32(0)])),
        element(5, int32s(dims)),
        element(1, Buffer.from(name, 'latin1')),
        ...rest,
      ]),
    );
  const header = (text: string) => {
    const h = Buffer.alloc(128, 0x20);
    h.write(text, 0, 'latin1');
    h.writeUInt16BE(0x0100, 124);
    h.write(little ? 'IM' : 'MI', 126, 'latin1');
    return h;
  };
  return { u32, element, int32s, matrix, header };
}

const numbers = (v: MatValue | undefined) => {
  if (v?.kind !== 'numeric') throw new Error(`not numeric: ${JSON.stringify(v)}`);
  return Array.from(v.data);
};

describe('readMatFile', () => {
  it('reads what SciPy writes: cell, int16 matrix (column-major), char rows, struct array', () => {
    const vars = readMatFile(readFileSync(join(FIXTURES, 'mat-kinds.mat')));
    const int16 = vars.get('int16');
    // [[1, 2, 3], [4, 5, -6]] stored column by column.
    expect(int16).toMatchObject({ kind: 'numeric', dims: [2, 3] });
    expect(numbers(int16)).toEqual([1, 4, 2, 5, 3, -6]);
    expect(vars.get('chars')).toMatchObject({ kind: 'char', dims: [2, 3], rows: ['abc', 'xyz'] });
    const cell = vars.get('cell');
    expect(cell?.kind === 'cell' && cell.elements.length).toBe(2);
    if (cell?.kind !== 'cell') throw new Error('cell');
    expect(cell.elements[0]).toMatchObject({ kind: 'char', rows: ['ab'] });
    expect(numbers(cell.elements[1])).toEqual([7.5]);
    const record = vars.get('record');
    if (record?.kind !== 'struct') throw new Error('record');
    expect(record.fields).toEqual(['x', 'name']);
    expect(numbers(record.elements[1].x)).toEqual([2, 3]);
    expect(record.elements[1].name).toMatchObject({ rows: ['second'] });
  });

  it('reads the compressed devkit-style meta.mat that SciPy writes', () => {
    const synsets = readMatFile(readFileSync(join(FIXTURES, 'devkit-meta.mat'))).get('synsets');
    if (synsets?.kind !== 'struct') throw new Error('synsets');
    expect(synsets.dims).toEqual([1003, 1]);
    expect(synsets.fields).toEqual([
      'ILSVRC2012_ID',
      'WNID',
      'words',
      'gloss',
      'num_children',
      'children',
      'wordnet_height',
      'num_train_images',
    ]);
    expect(numbers(synsets.elements[0].ILSVRC2012_ID)).toEqual([1]);
    expect(synsets.elements[0].WNID).toMatchObject({ rows: ['n15075141'] });
    expect(numbers(synsets.elements[1000].children)).toEqual([1002, 1003]);
    expect(numbers(synsets.elements[0].children)).toEqual([]);
  });

  it.each([true, false])(
    'reads either byte order, small data elements, uint8-stored doubles, UTF-8 characters (little endian: %s)',
    (little) => {
      const w = writer(little);
      const file = Buffer.concat([
        w.header('MATLAB 5.0 MAT-file, written by the test'),
        // a 1×3 double stored as uint8 (as MATLAB stores integral doubles)
        w.matrix(6, [1, 3], 'id', w.element(2, Buffer.from([1, 200, 7]))),
        // a 1×4 char array as UTF-8 (a small data element cannot hold "n0ü1": 5 bytes)
        w.matrix(4, [1, 4], 'wnid', w.element(16, Buffer.from('n0ü1', 'utf8'))),
        // a 1×1 struct with one field, compressed
        w.element(
          15,
          deflateSync(
            w.matrix(
              2,
              [1, 1],
              's',
              w.element(5, w.int32s([8])),
              w.element(1, Buffer.from('ID\0\0\0\0\0\0', 'latin1')),
              w.matrix(6, [1, 1], '', w.element(9, little ? f64le(2.5) : f64be(2.5))),
            ),
          ),
        ),
      ]);
      const vars = readMatFile(file);
      expect(numbers(vars.get('id'))).toEqual([1, 200, 7]);
      expect(vars.get('wnid')).toMatchObject({ kind: 'char', rows: ['n0ü1'] });
      const s = vars.get('s');
      if (s?.kind !== 'struct') throw new Error('s');
      expect(numbers(s.elements[0].ID)).toEqual([2.5]);
    },
  );

  it('refuses what is not a level-5 MAT-file, and damaged or hostile sizes, without allocating them', () => {
    const w = writer(true);
    expect(() => readMatFile(Buffer.from('not a mat file'))).toThrow(/not a MAT-file/);
    expect(() => readMatFile(w.header('MATLAB 7.3 MAT-file, Platform: GLNXA64'))).toThrow(
      /MATLAB 7.3 \(HDF5\)/,
    );
    const bad = w.header('MATLAB 5.0 MAT-file');
    bad.write('XX', 126, 'latin1');
    expect(() => readMatFile(bad)).toThrow(/byte-order mark is "XX"/);
    // An element claiming 2^31 bytes in a 200-byte file.
    const huge = Buffer.concat([
      w.header('MATLAB 5.0 MAT-file'),
      w.u32(14),
      w.u32(2 ** 31),
      Buffer.alloc(64),
    ]);
    expect(() => readMatFile(huge)).toThrow(
      /a data element of 2147483648 bytes at byte 128 runs past the end/,
    );
    // A struct array claiming 10^9 elements with 2 fields in a few bytes.
    const many = Buffer.concat([
      w.header('MATLAB 5.0 MAT-file'),
      w.matrix(
        2,
        [1_000_000_000, 1],
        'x',
        w.element(5, w.int32s([4])),
        w.element(1, Buffer.from('a\0\0\0b\0\0\0', 'latin1')),
      ),
    ]);
    expect(() => readMatFile(many)).toThrow(/1000000000 elements × 2 fields do not fit in 0 bytes/);
    // A compressed variable that inflates past the limit (a zlib bomb).
    const bomb = Buffer.concat([
      w.header('MATLAB 5.0 MAT-file'),
      w.element(15, deflateSync(Buffer.alloc(1 << 20))),
    ]);
    expect(() => readMatFile(bomb, { maxInflatedBytes: 1 << 16 })).toThrow(
      /does not inflate within 65536 bytes/,
    );
    // Cells nested deeper than any real file.
    let nested = w.matrix(6, [0, 0], '');
    for (let i = 0; i < 40; i++) nested = w.matrix(1, [1, 1], '', nested);
    expect(() => readMatFile(Buffer.concat([w.header('MATLAB 5.0 MAT-file'), nested]))).toThrow(
      /nested more than 32 deep/,
    );
  });
});

function f64le(v: number) {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b;
}
function f64be(v: number) {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b;
}
