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

/** A safetensors element type, as written in a file's header (`F32` is float32, `BF16` bfloat16, …). */
export type SafetensorsDtype =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Element types the reader understands, with their sizes in bytes. */
const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
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

function bad(reason: string): never {
  throw new Error(`Invalid safetensors data: ${reason}.`);
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
 *   `maxHeaderBytes`, a header that is not a UTF-8 JSON object, an unknown
 *   dtype, a malformed or absurd shape, offsets out of range, overlapping or
 *   leaving holes, or a byte count that does not match the shape.
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
  const maxHeader = opts.maxHeaderBytes ?? 100_000_000;
  if (bytes.byteLength < 8)
    bad(`${bytes.byteLength} bytes is too short: expected at least the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.byteLength - 8)) {
    bad(`the header length is ${declared} bytes but only ${bytes.byteLength - 8} bytes follow it`);
  }
  const headerLength = Number(declared);
  if (headerLength > maxHeader)
    bad(`the header is ${headerLength} bytes, more than the limit of ${maxHeader}`);

  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (e) {
    bad(`the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    bad('the header must be a JSON object');
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  const spans: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
        bad('"__metadata__" must be an object');
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e === null || typeof e !== 'object') bad(`the entry of "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      bad(
        `"${name}" has dtype ${JSON.stringify(e.dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`,
      );
    }
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      bad(
        `"${name}" has shape ${JSON.stringify(e.shape)}; expected an array of non-negative integers`,
      );
    }
    const shape = e.shape as number[];
    // The element count is bounded by the bytes actually present before it is trusted.
    let expectedBytes = DTYPE_BYTES[dtype];
    for (const d of shape) {
      expectedBytes *= d;
      if (expectedBytes > dataLength) {
        bad(
          `"${name}" declares shape [${shape.join(', ')}] of ${dtype}, larger than the ${dataLength} bytes of data in the file`,
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
        `"${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 ≤ begin ≤ end ≤ ${dataLength}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (end - begin !== expectedBytes) {
      bad(
        `"${name}" spans ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${expectedBytes}`,
      );
    }
    spans.push([begin, end, name]);
    tensors.set(name, { dtype, shape, bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin < covered) bad(`the bytes of "${name}" overlap another tensor's`);
    if (begin > covered) bad(`bytes ${covered}–${begin} of the data belong to no tensor`);
    covered = end;
  }
  if (covered !== dataLength) bad(`bytes ${covered}–${dataLength} of the data belong to no tensor`);
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
        `writeSafetensors: "${name}" has shape [${shape.join(', ')}] (${count} values) but ${data.length} values.`,
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
