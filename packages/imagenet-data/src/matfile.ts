import { inflateSync } from 'node:zlib';

/**
 * A value read from a MATLAB 5 MAT-file: numbers (any numeric class, as
 * float64, column-major), characters (one string per row), a struct array
 * (one record of fields per element, column-major) or a cell array.
 */
export type MatValue =
  | { readonly kind: 'numeric'; readonly dims: readonly number[]; readonly data: Float64Array }
  | { readonly kind: 'char'; readonly dims: readonly number[]; readonly rows: readonly string[] }
  | {
      readonly kind: 'struct';
      readonly dims: readonly number[];
      readonly fields: readonly string[];
      readonly elements: readonly Readonly<Record<string, MatValue>>[];
    }
  | {
      readonly kind: 'cell';
      readonly dims: readonly number[];
      readonly elements: readonly MatValue[];
    };

/** Limits of {@link readMatFile}. */
export interface MatFileLimits {
  /**
   * Largest decompressed size of one compressed variable, in bytes.
   *
   * @defaultValue 268_435_456 (256 MiB)
   */
  maxInflatedBytes?: number;
}

// Data types (MAT-file format, "Data Element Format").
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT16 = 3;
const MI_UINT16 = 4;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_SINGLE = 7;
const MI_DOUBLE = 9;
const MI_INT64 = 12;
const MI_UINT64 = 13;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const MI_UTF8 = 16;
const MI_UTF16 = 17;

// Array classes ("Array Flags" subelement).
const MX_CELL = 1;
const MX_STRUCT = 2;
const MX_CHAR = 4;
const MX_DOUBLE = 6;
const MX_UINT64 = 15;

const MAX_DEPTH = 32;

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8');

/** Thrown for anything that is not a well-formed MAT-file of the supported kinds. */
class MatFormatError extends Error {}

/** Where an array's data lies (from `at` to `end`) and what its header says. */
interface ArrayBody {
  at: number;
  end: number;
  dims: number[];
  count: number;
  /** The array, as error messages name it. */
  where: string;
  /** How deep it is nested. */
  depth: number;
}

interface Element {
  type: number;
  /** Start and end of the element's data. */
  start: number;
  end: number;
  /** Where the next element starts. */
  next: number;
}

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly little: boolean,
  ) {}

  u32(at: number): number {
    return this.view.getUint32(at, this.little);
  }

  /** The data element at `at`, which must end by `end`. */
  element(at: number, end: number): Element {
    if (at + 8 > end)
      throw new MatFormatError(`a data element tag runs past the end at byte ${at}`);
    const first = this.u32(at);
    // Small data element: the byte count in the upper 16 bits, the data in the tag's second word.
    const small = first >>> 16;
    if (small !== 0) {
      if (small > 4)
        throw new MatFormatError(`a small data element claims ${small} bytes at byte ${at}`);
      return { type: first & 0xffff, start: at + 4, end: at + 4 + small, next: at + 8 };
    }
    const size = this.u32(at + 4);
    const start = at + 8;
    if (size > end - start) {
      throw new MatFormatError(
        `a data element of ${size} bytes at byte ${at} runs past the end (${end - start} bytes left)`,
      );
    }
    // Elements are padded to 8 bytes, except compressed ones.
    const padded = first === MI_COMPRESSED ? size : Math.ceil(size / 8) * 8;
    return { type: first, start, end: start + size, next: Math.min(end, start + padded) };
  }

  /** The element at `at`, which must be of one of `types`. */
  expect(at: number, end: number, what: string, ...types: number[]): Element {
    const e = this.element(at, end);
    if (!types.includes(e.type)) {
      throw new MatFormatError(`expected the ${what} at byte ${at}, found data type ${e.type}`);
    }
    return e;
  }

  /** Reads the numbers of a numeric element as float64. */
  numbers(e: Element, count: number, what: string): Float64Array {
    const size = BYTES[e.type];
    if (size === undefined)
      throw new MatFormatError(`${what} has the non-numeric data type ${e.type}`);
    if ((e.end - e.start) / size !== count) {
      throw new MatFormatError(
        `${what} holds ${(e.end - e.start) / size} values where its dimensions say ${count}`,
      );
    }
    const out = new Float64Array(count);
    const v = this.view;
    const le = this.little;
    for (let i = 0, at = e.start; i < count; i++, at += size) {
      switch (e.type) {
        case MI_INT8:
          out[i] = v.getInt8(at);
          break;
        case MI_UINT8:
          out[i] = v.getUint8(at);
          break;
        case MI_INT16:
          out[i] = v.getInt16(at, le);
          break;
        case MI_UINT16:
          out[i] = v.getUint16(at, le);
          break;
        case MI_INT32:
          out[i] = v.getInt32(at, le);
          break;
        case MI_UINT32:
          out[i] = v.getUint32(at, le);
          break;
        case MI_SINGLE:
          out[i] = v.getFloat32(at, le);
          break;
        case MI_DOUBLE:
          out[i] = v.getFloat64(at, le);
          break;
        case MI_INT64:
          out[i] = Number(v.getBigInt64(at, le));
          break;
        case MI_UINT64:
          out[i] = Number(v.getBigUint64(at, le));
          break;
      }
    }
    return out;
  }

  text(e: Element): string {
    return LATIN1.decode(this.bytes.subarray(e.start, e.end)).replace(/\0+$/, '');
  }

  /** An miMATRIX element's contents, from `start` to `end`. */
  matrix(start: number, end: number, depth: number): { name: string; value: MatValue } {
    if (depth > MAX_DEPTH) throw new MatFormatError(`arrays nested more than ${MAX_DEPTH} deep`);
    if (start === end)
      return { name: '', value: { kind: 'numeric', dims: [0, 0], data: new Float64Array(0) } };
    const { cls, dims, count, name, at } = this.arrayHeader(start, end);
    const where = name === '' ? 'an array' : `variable "${name}"`;
    if (cls >= MX_DOUBLE && cls <= MX_UINT64) {
      // Real part (an imaginary part may follow; it is not needed here).
      const real = this.element(at, end);
      return { name, value: { kind: 'numeric', dims, data: this.numbers(real, count, where) } };
    }
    const body: ArrayBody = { at, end, dims, count, where, depth };
    if (cls === MX_CHAR) return { name, value: this.charArray(body) };
    if (cls === MX_STRUCT) return { name, value: this.structArray(body) };
    if (cls === MX_CELL) return { name, value: this.cellArray(body) };
    throw new MatFormatError(
      `${where} is of MATLAB class ${cls} (sparse or object arrays are not supported)`,
    );
  }

  /** An array's flags, dimensions and name, and where its data starts. */
  private arrayHeader(
    start: number,
    end: number,
  ): { cls: number; dims: number[]; count: number; name: string; at: number } {
    const flags = this.expect(start, end, 'array flags', MI_UINT32);
    if (flags.end - flags.start !== 8)
      throw new MatFormatError(`array flags of ${flags.end - flags.start} bytes`);
    const cls = this.u32(flags.start) & 0xff;
    const dimsElement = this.expect(flags.next, end, 'dimensions', MI_INT32);
    const dims = Array.from(
      this.numbers(dimsElement, (dimsElement.end - dimsElement.start) / 4, 'dimensions'),
    );
    if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new MatFormatError(`bad dimensions ${JSON.stringify(dims)}`);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    const nameElement = this.expect(dimsElement.next, end, 'array name', MI_INT8);
    const name = this.text(nameElement);
    return { cls, dims, count, name, at: nameElement.next };
  }

  /** A character array's data, from `at`: one string per row. */
  private charArray({ at, end, dims, count, where }: ArrayBody): MatValue {
    const data = this.element(at, end);
    let codes: ArrayLike<number>;
    if (data.type === MI_UTF8) {
      codes = Array.from(UTF8.decode(this.bytes.subarray(data.start, data.end)), (c) =>
        c.codePointAt(0)!,
      );
    } else if (data.type === MI_UTF16) {
      codes = this.numbers({ ...data, type: MI_UINT16 }, count, where);
    } else {
      codes = this.numbers(data, count, where);
    }
    if (codes.length !== count)
      throw new MatFormatError(`${where} holds ${codes.length} characters, not ${count}`);
    // Column-major: character (r, c) is at r + c · rows.
    const [rowCount, colCount] = [dims[0], count / Math.max(dims[0], 1)];
    const rows: string[] = [];
    for (let r = 0; r < rowCount; r++) {
      let s = '';
      for (let c = 0; c < colCount; c++) s += String.fromCodePoint(codes[r + c * rowCount]);
      rows.push(s);
    }
    return { kind: 'char', dims, rows };
  }

  /** A struct array's field names, from `at`, and where its elements start. */
  private fieldNames(at: number, end: number, where: string): { fields: string[]; at: number } {
    const lengthElement = this.expect(at, end, 'field name length', MI_INT32);
    const nameLength = this.view.getInt32(lengthElement.start, this.little);
    const namesElement = this.expect(lengthElement.next, end, 'field names', MI_INT8);
    const namesBytes = namesElement.end - namesElement.start;
    if (nameLength < 1 || nameLength > 4096 || namesBytes % nameLength !== 0) {
      throw new MatFormatError(
        `${where}: field names of ${namesBytes} bytes in slots of ${nameLength}`,
      );
    }
    const fields: string[] = [];
    for (let f = namesElement.start; f < namesElement.end; f += nameLength) {
      fields.push(this.text({ ...namesElement, start: f, end: f + nameLength }));
    }
    return { fields, at: namesElement.next };
  }

  /** A struct array's field names and elements, from `at`. */
  private structArray({ at: start, end, dims, count, where, depth }: ArrayBody): MatValue {
    const { fields, at: first } = this.fieldNames(start, end, where);
    let at = first;
    // Each field of each element is an miMATRIX of at least a tag: refuse counts the bytes cannot hold.
    if (count * fields.length * 8 > end - at) {
      throw new MatFormatError(
        `${where}: ${count} elements × ${fields.length} fields do not fit in ${end - at} bytes`,
      );
    }
    const elements: Record<string, MatValue>[] = [];
    for (let i = 0; i < count; i++) {
      const record: Record<string, MatValue> = {};
      for (const field of fields) {
        const e = this.expect(at, end, `field "${field}" of ${where}`, MI_MATRIX);
        record[field] = this.matrix(e.start, e.end, depth + 1).value;
        at = e.next;
      }
      elements.push(record);
    }
    return { kind: 'struct', dims, fields, elements };
  }

  /** A cell array's elements, from `at`. */
  private cellArray({ at: start, end, dims, count, where, depth }: ArrayBody): MatValue {
    let at = start;
    if (count * 8 > end - at)
      throw new MatFormatError(`${where}: ${count} cells do not fit in ${end - at} bytes`);
    const elements: MatValue[] = [];
    for (let i = 0; i < count; i++) {
      const e = this.expect(at, end, `cell ${i + 1} of ${where}`, MI_MATRIX);
      elements.push(this.matrix(e.start, e.end, depth + 1).value);
      at = e.next;
    }
    return { kind: 'cell', dims, elements };
  }
}

const BYTES: Record<number, number> = {
  [MI_INT8]: 1,
  [MI_UINT8]: 1,
  [MI_INT16]: 2,
  [MI_UINT16]: 2,
  [MI_INT32]: 4,
  [MI_UINT32]: 4,
  [MI_SINGLE]: 4,
  [MI_DOUBLE]: 8,
  [MI_INT64]: 8,
  [MI_UINT64]: 8,
};

/**
 * Checks a MAT-file's 128-byte header.
 *
 * @returns whether the file is little-endian.
 * @throws Error for a file that is not a level-5 MAT-file.
 */
function littleEndian(bytes: Uint8Array): boolean {
  const head = LATIN1.decode(bytes.subarray(0, Math.min(116, bytes.length)));
  if (bytes.length < 128 || !head.startsWith('MATLAB')) {
    throw new Error(
      'not a MAT-file: it does not start with a 128-byte "MATLAB … MAT-file" header.',
    );
  }
  if (/MATLAB 7\.3/.test(head)) {
    throw new Error(
      'a MATLAB 7.3 (HDF5) MAT-file; only level-5 MAT-files (MATLAB 5 … 7.2) are supported.',
    );
  }
  const endian = String.fromCharCode(bytes[126], bytes[127]);
  if (endian !== 'IM' && endian !== 'MI') {
    throw new Error(
      `not a level-5 MAT-file: the byte-order mark is ${JSON.stringify(endian)}, not "IM" or "MI".`,
    );
  }
  return endian === 'IM';
}

/**
 * Reads the variables of a MATLAB level-5 MAT-file (the format of the
 * ILSVRC-2012 devkit's `meta.mat`): numeric, character, struct and cell
 * arrays, compressed (zlib) or not, either byte order. Every length is
 * checked against the bytes that are actually there before anything is
 * allocated, nesting is bounded and decompression stops at
 * `limits.maxInflatedBytes`, so a damaged or hostile file fails with an
 * error instead of exhausting memory.
 *
 * @param bytes - the whole file.
 * @param limits - decompression limit.
 * @returns the variables by name.
 * @throws Error naming what is wrong and where, for a file that is not a
 *   level-5 MAT-file (including MATLAB 7.3 files, which are HDF5) or is damaged.
 */
export function readMatFile(bytes: Uint8Array, limits: MatFileLimits = {}): Map<string, MatValue> {
  const resolved = { maxInflatedBytes: limits.maxInflatedBytes ?? 256 * 2 ** 20 };
  const little = littleEndian(bytes);
  const variables = new Map<string, MatValue>();
  const readElements = (data: Uint8Array, offset: number, allowCompressed: boolean) => {
    const reader = new Reader(
      data,
      new DataView(data.buffer, data.byteOffset, data.byteLength),
      little,
    );
    let at = offset;
    // Up to 7 zero bytes of padding may end the file.
    while (at < data.length && !(data.length - at < 8 && data.subarray(at).every((b) => b === 0))) {
      const e = reader.element(at, data.length);
      if (e.type === MI_COMPRESSED && allowCompressed) {
        let inflated: Buffer;
        try {
          inflated = inflateSync(data.subarray(e.start, e.end), {
            maxOutputLength: resolved.maxInflatedBytes,
          });
        } catch (error) {
          throw new MatFormatError(
            `a compressed variable at byte ${at} does not inflate within ${resolved.maxInflatedBytes} bytes: ${(error as Error).message}`,
          );
        }
        readElements(inflated, 0, false);
      } else if (e.type === MI_MATRIX) {
        const { name, value } = reader.matrix(e.start, e.end, 0);
        variables.set(name, value);
      }
      at = e.next;
    }
  };
  try {
    readElements(bytes, 128, true);
  } catch (error) {
    if (error instanceof MatFormatError || error instanceof RangeError) {
      throw new Error(`a damaged or unsupported MAT-file: ${error.message}.`, { cause: error });
    }
    throw error;
  }
  return variables;
}
