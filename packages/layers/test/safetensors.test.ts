import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSafetensors, toFloat32, torchBatchNormWeight, writeSafetensors } from '../src';

// tiny.safetensors was written by hand from the format specification by
// scripts/fixtures/generate_torchvision_fixtures.py, with its expected values
// beside it: an independent writer for our reader.
const tiny = readFileSync(new URL('./fixtures/tiny.safetensors', import.meta.url));
const expected = JSON.parse(
  readFileSync(new URL('./fixtures/tiny.safetensors.json', import.meta.url), 'utf8'),
) as Record<string, { dtype: string; shape: number[]; values: number[] }>;

/** A file with the given header (as an object or raw text) and data bytes. */
function file(
  header: object | string,
  data = new Uint8Array(0),
  declaredLength?: bigint,
): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === 'string' ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('readSafetensors', () => {
  it('decodes a file written from the specification: F32, F16, BF16, F64 (and I64 as bytes)', () => {
    const { tensors, metadata } = readSafetensors(tiny);
    expect(metadata).toEqual({ format: 'pt', source: 'convnets fixture' });
    expect([...tensors.keys()]).toEqual(Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) {
      const t = tensors.get(name)!;
      expect(t.dtype).toBe(want.dtype);
      expect(t.shape).toEqual(want.shape);
      if (want.dtype === 'I64') {
        const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
        expect([0, 1, 2].map((i) => Number(view.getBigInt64(8 * i, true)))).toEqual(want.values);
      } else {
        expect(Array.from(toFloat32(t))).toEqual(want.values.map((v) => Math.fround(v)));
      }
    }
    expect(() => toFloat32(tensors.get('e')!)).toThrow(/dtype I64 is not a floating-point type/);
  });

  it('reads back what writeSafetensors writes, header padded to 8 bytes', () => {
    const data = new Float32Array([1, -2, 3.5, 1e-8, 0, 6]);
    const bytes = writeSafetensors(
      { w: { shape: [2, 3], data }, b: { shape: [0], data: new Float32Array(0) } },
      { k: 'v' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ k: 'v' });
    expect(Array.from(toFloat32(tensors.get('w')!))).toEqual(Array.from(data));
    expect(tensors.get('b')!.shape).toEqual([0]);
  });

  const entry = (dtype: string, shape: number[], offsets: number[]) => ({
    dtype,
    shape,
    data_offsets: offsets,
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), /5 bytes is too short/],
    [
      'a header length beyond the file',
      file({}, new Uint8Array(0), 1000n),
      /the header length is 1000 bytes but only 2 bytes follow it/,
    ],
    [
      'a header length of 2^64 − 1',
      file({}, new Uint8Array(0), 2n ** 64n - 1n),
      /the header length is 18446744073709551615 bytes but only/,
    ],
    ['a non-JSON header', file('{"a": [1, 2'), /the header is not valid UTF-8 JSON/],
    ['a header that is not an object', file('[1, 2, 3]'), /the header must be a JSON object/],
    [
      'an unknown dtype',
      file({ a: entry('F8', [1], [0, 1]) }, new Uint8Array(1)),
      /"a" has dtype "F8"; supported: F64, F32/,
    ],
    [
      'a negative dimension',
      file({ a: entry('F32', [-1], [0, 4]) }, new Uint8Array(4)),
      /"a" has shape \[-1\]; expected a flat array of non-negative safe integers/,
    ],
    [
      'a fractional dimension',
      file({ a: entry('F32', [1.5], [0, 4]) }, new Uint8Array(4)),
      /"a" has shape \[1.5\]/,
    ],
    [
      'a 100 GB tensor',
      file({ a: entry('F32', [25_000_000_000], [0, 100_000_000_000]) }, new Uint8Array(16)),
      /"a" declares shape \[25000000000\] of F32, larger than the 16 bytes of data in the file/,
    ],
    [
      'an absurd shape whose product overflows',
      file({ a: entry('F32', [2 ** 40, 2 ** 40, 2 ** 40], [0, 4]) }, new Uint8Array(4)),
      /larger than the 4 bytes of data/,
    ],
    [
      'offsets past the end',
      file({ a: entry('F32', [1], [4, 8]) }, new Uint8Array(4)),
      /"a" has data_offsets \[4,8\]; expected \[begin, end\] with 0 ≤ begin ≤ end ≤ 4/,
    ],
    [
      'reversed offsets',
      file({ a: entry('F32', [0], [4, 0]) }, new Uint8Array(4)),
      /has data_offsets \[4,0\]/,
    ],
    [
      'offsets that disagree with the shape',
      file({ a: entry('F32', [2], [0, 4]) }, new Uint8Array(8)),
      /"a" spans 4 bytes but shape \[2\] of F32 needs 8/,
    ],
    [
      'overlapping tensors',
      file({ a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [4, 8]) }, new Uint8Array(8)),
      /the bytes of "b" overlap another tensor's|the bytes of "a" overlap/,
    ],
    [
      'a hole in the data',
      file({ a: entry('F32', [1], [4, 8]) }, new Uint8Array(8)),
      /bytes 0–4 of the data belong to no tensor/,
    ],
    [
      'trailing bytes',
      file({ a: entry('F32', [1], [0, 4]) }, new Uint8Array(8)),
      /bytes 4–8 of the data belong to no tensor/,
    ],
  ])('rejects %s', (_what, bytes, message) => {
    expect(() => readSafetensors(bytes)).toThrow(message);
  });

  it('bounds the header size', () => {
    expect(() =>
      readSafetensors(file({ a: entry('F32', [0], [0, 0]) }), { maxHeaderBytes: 10 }),
    ).toThrow(/the header is \d+ bytes, more than the limit of 10/);
  });
});

describe('torchBatchNormWeight', () => {
  // PyTorch 1.13: nn.BatchNorm2d(4).state_dict().keys() are weight, bias,
  // running_mean, running_var, num_batches_tracked.
  it.each([
    ['gamma', 'bn1.weight'],
    ['beta', 'bn1.bias'],
    ['moving_mean', 'bn1.running_mean'],
    ['moving_variance', 'bn1.running_var'],
  ])('maps %s to %s', (weight, key) => {
    expect(torchBatchNormWeight('bn1', weight)).toEqual({ key, layout: 'vector' });
  });

  it('has nothing for other weight names', () => {
    expect(torchBatchNormWeight('bn1', 'kernel')).toBeNull();
    expect(torchBatchNormWeight('bn1', 'toString')).toBeNull();
  });
});
