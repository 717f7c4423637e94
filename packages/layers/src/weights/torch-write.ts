/**
 * A writer of `torch.save`'s zip format for float32 state dicts: what
 * `torch.load` (PyTorch 1.6 and later) reads into an `OrderedDict` of tensors.
 */

import { quote } from './excerpt';
import type { Float32Entry } from './safetensors';
import { writeZip } from './zip';

/** Pickle opcodes written (protocol 2). */
const OP = {
  PROTO: 0x80,
  GLOBAL: 0x63,
  EMPTY_TUPLE: 0x29,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  MARK: 0x28,
  TUPLE: 0x74,
  REDUCE: 0x52,
  BINUNICODE: 0x58,
  BININT1: 0x4b,
  BININT2: 0x4d,
  BININT: 0x4a,
  BINPERSID: 0x51,
  NEWFALSE: 0x89,
  SETITEMS: 0x75,
  STOP: 0x2e,
} as const;

/** A growing byte buffer for a pickle. */
class PickleWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  bytes(...values: (number | Uint8Array)[]): void {
    for (const v of values) {
      const chunk = typeof v === 'number' ? Uint8Array.of(v) : v;
      this.chunks.push(chunk);
      this.length += chunk.byteLength;
    }
  }

  /** A non-negative integer below 2^31, in the shortest form `pickle` itself uses. */
  int(n: number): void {
    if (n < 0x100) return this.bytes(OP.BININT1, n);
    if (n < 0x10000) return this.bytes(OP.BININT2, n & 0xff, n >>> 8);
    // Larger counts do not fit the 4 GiB of a zip without zip64 (writeZip refuses them).
    if (n >= 0x80000000) throw new Error(`writeTorchStateDict: ${n} is too large to write.`);
    const le = new Uint8Array(4);
    new DataView(le.buffer).setInt32(0, n, true);
    this.bytes(OP.BININT, le);
  }

  string(text: string): void {
    const utf8 = new TextEncoder().encode(text);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, utf8.byteLength, true);
    this.bytes(OP.BINUNICODE, length, utf8);
  }

  global(module: string, name: string): void {
    this.bytes(OP.GLOBAL, new TextEncoder().encode(`${module}\n${name}\n`));
  }

  tuple(values: readonly number[]): void {
    if (values.length === 0) return this.bytes(OP.EMPTY_TUPLE);
    if (values.length > 3) this.bytes(OP.MARK);
    for (const v of values) this.int(v);
    this.bytes([OP.TUPLE, OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][values.length > 3 ? 0 : values.length]);
  }

  /** `OrderedDict()`. */
  orderedDict(): void {
    this.global('collections', 'OrderedDict');
    this.bytes(OP.EMPTY_TUPLE, OP.REDUCE);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    return out;
  }
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

/**
 * One state-dict entry: `key: _rebuild_tensor_v2((persistent id), 0, shape,
 * strides, False, OrderedDict())`, its storage the float32 record `index`.
 */
function writeEntry(
  p: PickleWriter,
  key: string,
  shape: readonly number[],
  index: number,
  numel: number,
): void {
  p.string(key);
  p.global('torch._utils', '_rebuild_tensor_v2');
  p.bytes(OP.MARK, OP.MARK);
  p.string('storage');
  p.global('torch', 'FloatStorage');
  p.string(String(index));
  p.string('cpu');
  p.int(numel);
  p.bytes(OP.TUPLE, OP.BINPERSID);
  p.int(0);
  p.tuple(shape);
  p.tuple(stridesOf(shape));
  p.bytes(OP.NEWFALSE);
  p.orderedDict();
  p.bytes(OP.TUPLE, OP.REDUCE);
}

const littleEndianHost = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** A float32 array's little-endian bytes (a view on little-endian hosts). */
function float32Bytes(data: Float32Array): Uint8Array {
  if (littleEndianHost) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return out;
}

/**
 * Serialises float32 tensors as `torch.save(OrderedDict(...))` does since
 * PyTorch 1.6: a zip archive of `archive/data.pkl` (a protocol-2 pickle of
 * an `OrderedDict` of `torch._utils._rebuild_tensor_v2` calls, one storage
 * per tensor), `archive/byteorder` (`little`), `archive/data/<i>` (each
 * tensor's bytes, stored, aligned to 64 bytes) and `archive/version` (`3`).
 * The result reads back with {@link readTorchStateDict} and with
 * `torch.load` (checked with PyTorch 1.13), ready for `load_state_dict`.
 *
 * @param tensors - Name → `{ shape, data }`, as a `Map` or a plain object, in the order to write.
 * @returns The file's bytes.
 * @throws Error when a tensor's value count does not match its shape, a
 *   dimension is not a non-negative integer, or the archive would exceed
 *   4 GiB (zip64 is not written).
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * const bytes = writeTorchStateDict({ 'fc.bias': { shape: [2], data: new Float32Array([0.5, -1]) } });
 * await writeFile('tiny.pth', bytes); // torch.load('tiny.pth') → OrderedDict([('fc.bias', tensor([0.5, -1.]))])
 * ```
 */
export function writeTorchStateDict(
  tensors: Map<string, Float32Entry> | Record<string, Float32Entry>,
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const p = new PickleWriter();
  p.bytes(OP.PROTO, 2);
  p.orderedDict();
  p.bytes(OP.MARK);
  const records = entries.map(([name, { shape, data }], index) => {
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(
        `writeTorchStateDict: ${quote(name)} has shape [${shape.join(', ')}]; expected non-negative integers.`,
      );
    }
    const count = shape.reduce((a, d) => a * d, 1);
    if (count !== data.length) {
      throw new Error(
        `writeTorchStateDict: ${quote(name)} has shape [${shape.join(', ')}] (${count} values) but ${data.length} values.`,
      );
    }
    if (4 * count > 0xffffffff) {
      throw new Error(
        `writeTorchStateDict: ${quote(name)} has ${count} values (${4 * count} bytes), more than the 4 GiB a zip without zip64 holds.`,
      );
    }
    writeEntry(p, name, shape, index, count);
    return { name: `archive/data/${index}`, data: float32Bytes(data) };
  });
  p.bytes(OP.SETITEMS, OP.STOP);
  return writeZip([
    { name: 'archive/data.pkl', data: p.finish() },
    { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
    ...records,
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}
