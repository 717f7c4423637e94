/**
 * A strict reader and a writer for the safetensors format
 * (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON header, then the tensors' bytes back to back.
 *
 * The reader treats every file as untrusted: the header is bounded and parsed
 * before anything else, every declared shape and offset is checked against the
 * file's actual size, and tensors are returned as views into the input (no
 * allocation sized by the header).
 */

import { excerpt, quote, show } from './excerpt';

/** A safetensors element type, as written in a file's header (`F32` is float32, `BF16` bfloat16, …). */
export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * Element types the reader understands, with their sizes in bytes.
 *
 * @internal
 */
export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor of a safetensors file: its type, shape and raw little-endian bytes. */
export interface SafetensorsTensor {
  /** Element type as written in the header. */
  dtype: SafetensorsDtype;
  /** Shape, row-major. */
  shape: number[];
  /** The tensor's bytes (a view into the file's buffer, not a copy). */
  bytes: Uint8Array;
}

/** What {@link readSafetensors} returns. */
export interface SafetensorsFile {
  /** Tensors by name, in header order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The free-form `__metadata__` string map, if any. */
  metadata: Record<string, string>;
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /**
   * Largest accepted JSON header, in bytes.
   *
   * @defaultValue `100_000_000` (100 MB, the format's own limit)
   */
  maxHeaderBytes?: number;
}

const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16'];

/**
 * Deepest JSON nesting accepted in a header. A safetensors header needs 3
 * (the header object, a tensor's entry, its shape array); the margin leaves
 * room for other writers' extensions.
 */
const MAX_HEADER_DEPTH = 8;

/** A checked shape as `[a, b, …]`, cut with {@link excerpt}. */
function showShape(shape: number[]): string {
  return excerpt(`[${shape.join(', ')}]`);
}

function bad(reason: string): never {
  throw new Error(`Invalid safetensors data: ${reason}.`);
}

/**
 * Checks the header's JSON text before `JSON.parse` sees it, in one pass
 * without recursion: nesting deeper than {@link MAX_HEADER_DEPTH} (which would
 * overflow the stack of anything recursive downstream) and duplicate keys in
 * any object (which `JSON.parse` silently resolves to the last). Malformed
 * JSON is left to `JSON.parse` to report.
 */
function checkHeaderText(text: string): void {
  // One entry per open container: its keys so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: find its closing quote, skipping escapes.
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const d = text.charCodeAt(j);
        if (d === 0x22) break;
        if (d === 0x5c) {
          escaped = true;
          j++;
        }
      }
      if (j >= text.length) return;
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        let key: string;
        try {
          key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        } catch {
          return;
        }
        if (keys.has(key)) {
          bad(
            `duplicate key ${quote(key)} in the header (at character ${i}); expected each key once`,
          );
        }
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (open.length >= MAX_HEADER_DEPTH) {
        bad(
          `the header nests JSON ${open.length + 1} levels deep at character ${i}; at most ${MAX_HEADER_DEPTH} expected (a tensor's shape is a flat array)`,
        );
      }
      open.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = open.length > 0 && open[open.length - 1] !== null;
    }
  }
}

/** One tensor's entry in a checked header; offsets are relative to the data. */
export interface HeaderEntry {
  /** Tensor name. */
  name: string;
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Shape, row-major. */
  shape: number[];
  /** First byte, relative to the data (after the header). */
  begin: number;
  /** One past the last byte, relative to the data. */
  end: number;
}

/** A checked header: where the data starts, the tensors' entries and the metadata. */
export interface CheckedHeader {
  /** Offset of the data in the file: 8 + the header's length. */
  dataStart: number;
  /** The tensors' entries, in header order. */
  entries: HeaderEntry[];
  /** The `__metadata__` string map. */
  metadata: Record<string, string>;
}

/**
 * How many bytes of a file {@link checkSafetensorsHeader} needs, given its
 * first 8 bytes (or fewer for a shorter file): 8 + the declared header length,
 * capped by the file's size and the header limit (beyond either, the check
 * fails without reading the header).
 *
 * @internal
 */
export function safetensorsPrefixLength(
  first: Uint8Array,
  fileLength: number,
  maxHeaderBytes = 100_000_000,
): number {
  if (first.byteLength < 8 || fileLength < 8) return Math.min(8, fileLength);
  const declared = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  const cap = BigInt(Math.min(fileLength - 8, maxHeaderBytes));
  return 8 + Number(declared < cap ? declared : cap);
}

/** The header's length and JSON, checked against the file's size and the limit. */
function parseHeader(
  prefix: Uint8Array,
  fileLength: number,
  opts: ReadSafetensorsOptions,
): { headerLength: number; header: unknown } {
  const maxHeader = opts.maxHeaderBytes ?? 100_000_000;
  if (fileLength < 8)
    bad(`${fileLength} bytes is too short: expected at least the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(fileLength - 8)) {
    bad(`the header length is ${declared} bytes but only ${fileLength - 8} bytes follow it`);
  }
  const headerLength = Number(declared);
  if (headerLength > maxHeader)
    bad(`the header is ${headerLength} bytes, more than the limit of ${maxHeader}`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + headerLength));
  } catch (e) {
    bad(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  checkHeaderText(text);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    bad(`the header is not valid UTF-8 JSON (${excerpt((e as Error).message)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    bad('the header must be a JSON object');
  }
  return { headerLength, header };
}

/** Adds the `__metadata__` entry's strings to `metadata`. */
function readMetadata(entry: unknown, metadata: Record<string, string>): void {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    bad(`"__metadata__" is ${show(entry)}; expected an object of strings`);
  for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof value !== 'string')
      bad(`the "__metadata__" value of ${quote(key)} is ${show(value)}; expected a string`);
    metadata[key] = value;
  }
}

/** One tensor's entry, checked against the `dataLength` bytes of data. */
function checkEntry(name: string, entry: unknown, dataLength: number): HeaderEntry {
  const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  if (e === null || typeof e !== 'object' || Array.isArray(e))
    bad(`the entry of ${quote(name)} is not an object`);
  if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, e.dtype)) {
    bad(
      `${quote(name)} has dtype ${show(e.dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`,
    );
  }
  const dtype = e.dtype as SafetensorsDtype;
  if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    bad(
      `${quote(name)} has shape ${show(e.shape)}; expected a flat array of non-negative safe integers`,
    );
  }
  const shape = e.shape as number[];
  // The byte count is bounded by the bytes actually present before it is
  // trusted; a zero dimension makes it 0 whatever the others are.
  let expectedBytes = shape.includes(0) ? 0 : DTYPE_BYTES[dtype];
  for (const d of shape) {
    expectedBytes *= d;
    if (expectedBytes > dataLength) {
      bad(
        `${quote(name)} declares shape ${showShape(shape)} of ${dtype}, larger than the ${dataLength} bytes of data in the file`,
      );
    }
  }
  const offsets = e.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1] ||
    offsets[1] > dataLength
  ) {
    bad(
      `${quote(name)} has data_offsets ${show(offsets)}; expected [begin, end] with 0 ≤ begin ≤ end ≤ ${dataLength}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== expectedBytes) {
    bad(
      `${quote(name)} spans ${end - begin} bytes but shape ${showShape(shape)} of ${dtype} needs ${expectedBytes}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

/** Checks that the entries' byte spans tile the data exactly. */
function checkCoverage(entries: readonly HeaderEntry[], dataLength: number): void {
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const { begin, end, name } of spans) {
    if (begin < covered) bad(`the bytes of ${quote(name)} overlap another tensor's`);
    if (begin > covered) bad(`bytes ${covered}–${begin} of the data belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength) bad(`bytes ${covered}–${dataLength} of the data belong to no tensor`);
}

/**
 * Checks a safetensors header against the file's size, without needing the
 * data: everything {@link readSafetensors} checks but the tensors' bytes.
 *
 * @param prefix - The file's first {@link safetensorsPrefixLength} bytes (or more).
 * @param fileLength - The file's size in bytes.
 * @param opts - Header size limit.
 * @returns Where the data starts, the entries and the metadata.
 * @throws Error ("Invalid safetensors data: …") as {@link readSafetensors} documents.
 * @internal
 */
export function checkSafetensorsHeader(
  prefix: Uint8Array,
  fileLength: number,
  opts: ReadSafetensorsOptions = {},
): CheckedHeader {
  const { headerLength, header } = parseHeader(prefix, fileLength, opts);
  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const entries: HeaderEntry[] = [];
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      readMetadata(entry, metadata);
      continue;
    }
    entries.push(checkEntry(name, entry, dataLength));
  }
  checkCoverage(entries, dataLength);
  return { dataStart, entries, metadata };
}

/**
 * Parses safetensors bytes (a file as written by `safetensors.torch.save_file`
 * or {@link writeSafetensors}). The tensors' bytes are views into `data`, not
 * copies; decode floating-point ones with {@link toFloat32}.
 *
 * @param data - The whole file's bytes.
 * @param opts - Header size limit; see {@link ReadSafetensorsOptions}.
 * @returns The tensors by name, in header order, and the `__metadata__` map.
 * @throws Error ("Invalid safetensors data: …"), before any large allocation,
 *   for data shorter than 8 bytes, a header length beyond the data or above
 *   `maxHeaderBytes`, a header that is not a UTF-8 JSON object, JSON nested
 *   more than 8 levels deep, a key repeated within an object, a metadata value
 *   that is not a string, an unknown dtype, a shape that is not a flat array of
 *   non-negative safe integers, offsets out of range, overlapping or leaving
 *   holes, or a byte count that does not match the shape. Content quoted in
 *   the message (a name, a value) is cut to 200 characters, with its length.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * const { tensors } = readSafetensors(await readFile('resnet18.safetensors'));
 * const fc = tensors.get('fc.weight')!; // { dtype: 'F32', shape: [1000, 512], bytes }
 * const values = toFloat32(fc);
 * ```
 * @see [The safetensors format](https://huggingface.co/docs/safetensors)
 */
export function readSafetensors(
  data: Uint8Array | ArrayBuffer,
  opts: ReadSafetensorsOptions = {},
): SafetensorsFile {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const { dataStart, entries, metadata } = checkSafetensorsHeader(bytes, bytes.byteLength, opts);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    tensors.set(name, { dtype, shape, bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  return { tensors, metadata };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Whether a dtype holds floating-point values that {@link toFloat32} converts
 * (`F64`, `F32`, `F16`, `BF16`).
 *
 * @param dtype - A safetensors dtype.
 * @returns `true` for the four floating-point dtypes.
 * @throws Never.
 *
 * @example
 * ```ts
 * isFloatDtype('BF16'); // true
 * isFloatDtype('I64'); // false: BN's num_batches_tracked, for instance
 * ```
 */
export function isFloatDtype(dtype: SafetensorsDtype): boolean {
  return FLOAT_DTYPES.includes(dtype);
}

/**
 * Decodes a floating-point tensor (F64, F32, F16, BF16) to a new `Float32Array`,
 * row-major, reading little-endian bytes (F64 values are rounded to float32).
 *
 * @param tensor - A tensor from {@link readSafetensors}.
 * @returns Its values as float32.
 * @throws Error when the dtype is not a floating-point one (see {@link isFloatDtype}).
 *
 * @example
 * ```ts
 * const values = toFloat32(readSafetensors(bytes).tensors.get('conv1.weight')!);
 * ```
 */
export function toFloat32(tensor: SafetensorsTensor): Float32Array {
  const { dtype, bytes } = tensor;
  if (!isFloatDtype(dtype)) {
    throw new Error(
      `toFloat32: dtype ${dtype} is not a floating-point type; expected one of ${FLOAT_DTYPES.join(', ')}.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float32Array(n);
  if (dtype === 'F32') for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F64') for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
  else if (dtype === 'F16')
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else {
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < n; i++) {
      word.setUint32(0, view.getUint16(2 * i, true) << 16, false);
      out[i] = word.getFloat32(0, false);
    }
  }
  return out;
}

/** A float32 tensor to write with {@link writeSafetensors}. */
export interface Float32Entry {
  /** Shape, row-major. */
  shape: number[];
  /** Values, row-major. */
  data: Float32Array;
}

/**
 * Serialises float32 tensors to safetensors bytes, in the order given, with
 * the header padded to an 8-byte boundary as the format recommends. The result
 * reads back with {@link readSafetensors} and with Python's
 * `safetensors.torch.load_file`.
 *
 * @param tensors - Name → `{ shape, data }`, as a `Map` or a plain object.
 * @param metadata - The header's `__metadata__` string map. Default `{}`: none written.
 * @returns The file's bytes.
 * @throws Error when a tensor's value count does not match its shape.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * const bytes = writeSafetensors({ 'fc.bias': { shape: [2], data: new Float32Array([0.5, -1]) } });
 * await writeFile('tiny.safetensors', bytes);
 * ```
 * @see [The safetensors format](https://huggingface.co/docs/safetensors)
 */
export function writeSafetensors(
  tensors: Map<string, Float32Entry> | Record<string, Float32Entry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of entries) {
    const count = shape.reduce((a, d) => a * d, 1);
    if (count !== data.length) {
      throw new Error(
        `writeSafetensors: ${quote(name)} has shape [${shape.join(', ')}] (${count} values) but ${data.length} values.`,
      );
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const [, { data }] of entries) {
    for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i], true);
    at += 4 * data.length;
  }
  return out;
}
