import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { input, layers, model, type LayersModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import {
  loadSafetensorsWeights,
  readStateDict,
  readTorchStateDict,
  toFloat32,
  torchBatchNormWeight,
  type SafetensorsTensor,
  type StateDictFormat,
} from '../src';
import { thrown } from './helpers';

// Every .pth here was written by torch.save (PyTorch 1.13), or by hand with
// Python's pickle and zipfile for the hostile ones, by
// scripts/fixtures/generate_pth_fixtures.py; the expected values come from
// torch, in fixtures/pth/expected.json.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/pth/${name}`, import.meta.url));
const fixturePath = (name: string) => new URL(`./fixtures/pth/${name}`, import.meta.url).pathname;
interface Expected {
  dtypes: Record<string, { dtype: string; shape: number[]; values: number[] }>;
  tiny: { inputShapeNCHW: number[]; input: number[]; logits: number[][] };
  'nested-zip': Record<string, string | number>;
  'nested-legacy': Record<string, string | number>;
}
const expected = JSON.parse(fixture('expected.json').toString('utf8')) as Expected;
/** What the hostile pickles would create if they were run. */
const PWNED = '/tmp/convnets-pth-fixture-pwned';

/** A tensor's values as numbers, row-major, decoded from its little-endian bytes. */
function values(t: SafetensorsTensor): number[] {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const read: Record<string, [number, (at: number) => number]> = {
    F64: [8, (at) => view.getFloat64(at, true)],
    I64: [8, (at) => Number(view.getBigInt64(at, true))],
    I32: [4, (at) => view.getInt32(at, true)],
    I16: [2, (at) => view.getInt16(at, true)],
    I8: [1, (at) => view.getInt8(at)],
    U8: [1, (at) => view.getUint8(at)],
    BOOL: [1, (at) => view.getUint8(at)],
  };
  if (!(t.dtype in read)) return Array.from(toFloat32(t));
  const [size, get] = read[t.dtype];
  return Array.from({ length: t.bytes.byteLength / size }, (_, i) => get(i * size));
}

describe('readTorchStateDict on files written by torch.save', () => {
  it.each([
    ['dtypes.pth', 'torch-zip'],
    ['dtypes-legacy.pth', 'torch-legacy'],
    ['dtypes-protocol4.pth', 'torch-zip'],
    ['dtypes-zip64.pth', 'torch-zip'],
  ])(
    '%s: every dtype, transposed and shared-storage views, 0-d, empty, a Parameter',
    (name, format) => {
      const file = readTorchStateDict(fixture(name));
      expect(file.format).toBe(format);
      expect(file.metadata).toEqual({});
      expect([...file.tensors.keys()]).toEqual(Object.keys(expected.dtypes));
      for (const [key, want] of Object.entries(expected.dtypes)) {
        const t = file.tensors.get(key)!;
        expect({ key, dtype: t.dtype, shape: t.shape }).toEqual({
          key,
          dtype: want.dtype,
          shape: want.shape,
        });
        expect(values(t)).toEqual(want.values.map((v) => (typeof v === 'boolean' ? +v : v)));
      }
    },
  );

  it('readStateDict tells the three formats apart by content', () => {
    expect(readStateDict(fixture('dtypes.pth')).format).toBe('torch-zip');
    expect(readStateDict(fixture('dtypes-legacy.pth')).format).toBe('torch-legacy');
    const safetensors = readFileSync(new URL('./fixtures/tiny.safetensors', import.meta.url));
    expect(readStateDict(safetensors).format).toBe('safetensors');
    expect(readStateDict(new Uint8Array(fixture('tiny-net.pth')).buffer).tensors.size).toBe(8);
  });

  it('finds a nested state dict, drops the module. prefix, keeps the scalars as metadata', () => {
    const zip = readTorchStateDict(fixture('nested-zip.pth'));
    expect([...zip.tensors.keys()]).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
      'fc.weight',
      'fc.bias',
    ]);
    const stringify = (o: Record<string, string | number>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
    expect(zip.metadata).toEqual(stringify(expected['nested-zip']));
    // numpy scalars and an argparse.Namespace beside the state dict (legacy format).
    const legacy = readTorchStateDict(fixture('nested-legacy.pth'));
    expect([...legacy.tensors.keys()]).toEqual([...zip.tensors.keys()]);
    expect(legacy.metadata).toEqual(stringify(expected['nested-legacy']));
  });

  it("does not read the optimizer's storages", () => {
    // The same checkpoint without the records of the optimizer's momentum buffers.
    const file = readTorchStateDict(fixture('nested-no-optimizer-data.pth'));
    expect(file.tensors.size).toBe(8);
  });
});

/** The net of tiny-net.pth: conv 3→4 (3×3, same, no bias), BN, ReLU, global mean, dense 4→5. */
function tinyNet(): LayersModel {
  const x = input({ shape: [6, 6, 3] });
  const conv = layers.conv2d({
    name: 'conv1',
    filters: 4,
    kernelSize: 3,
    padding: 'same',
    useBias: false,
  });
  const bn = layers.batchNormalization({ name: 'bn1', epsilon: 1e-5 });
  const y = layers.globalAveragePooling2d({}).apply(layers.reLU().apply(bn.apply(conv.apply(x))));
  return model({ inputs: x, outputs: layers.dense({ name: 'fc', units: 5 }).apply(y) as never });
}
const TINY: StateDictFormat = {
  name: 'tiny net',
  ignore: /num_batches_tracked$/,
  map: ({ layer, weight }) => {
    if (layer === 'conv1') return { key: 'conv1.weight', layout: 'conv' };
    if (layer === 'bn1') return torchBatchNormWeight('bn1', weight);
    if (layer !== 'fc') return null;
    return weight === 'kernel'
      ? { key: 'fc.weight', layout: 'linear' }
      : { key: 'fc.bias', layout: 'vector' };
  },
};

/** The tiny net's logits on the fixture's input (NCHW in the fixture, NHWC here). */
function logits(net: LayersModel): number[][] {
  return tf.tidy(() => {
    const nchw = tf.tensor(expected.tiny.input, expected.tiny.inputShapeNCHW);
    const x = tf.transpose(nchw, [0, 2, 3, 1]);
    return (net.predict(x) as tf.Tensor).arraySync() as number[][];
  });
}

describe('loading .pth files into a model', () => {
  it.each(['tiny-net.pth', 'nested-zip.pth', 'nested-legacy.pth', 'nested-no-optimizer-data.pth'])(
    '%s gives torch’s logits, from a path and from bytes',
    async (name) => {
      for (const source of [fixturePath(name), new Uint8Array(fixture(name))]) {
        const net = tinyNet();
        const before = tf.memory().numTensors;
        await expect(loadSafetensorsWeights(net, source, TINY)).resolves.toEqual({
          nonFinite: [],
          missing: [],
          unexpected: [],
          mismatched: [],
          skipped: [],
        });
        expect(tf.memory().numTensors).toBe(before);
        const got = logits(net);
        expected.tiny.logits.forEach((row, n) =>
          row.forEach((v, k) => expect(got[n][k]).toBeCloseTo(v, 5)),
        );
        net.dispose();
      }
    },
  );
});

describe('hostile .pth files', () => {
  it.each([
    [
      'hostile-os-system.pth',
      'archive/data.pkl, byte \\d+: the reader refuses the global "posix.system"',
    ],
    [
      'hostile-os-system-legacy.pth',
      'the checkpoint pickle, byte \\d+: the reader refuses the global "os.system"',
    ],
    [
      'hostile-eval-protocol4.pth',
      'archive/data.pkl, byte \\d+: the reader refuses the global "builtins.eval"',
    ],
    [
      'hostile-whole-model.pth',
      'hostile-whole-model/data.pkl, byte 2: the reader refuses the global "__main__.Tiny".* save its state_dict\\(\\) instead',
    ],
  ])('%s: refuses the global, naming it, and runs nothing', (name, message) => {
    const error = thrown(() => readTorchStateDict(fixture(name)));
    expect(error.message).toMatch(new RegExp(`^Invalid PyTorch checkpoint: ${message}`));
    expect(error.message).toMatch(
      /only tensor state dicts are read \(allowed: collections\.OrderedDict, torch\._utils\._rebuild_tensor_v2, .*torch\.\{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool\}Storage/,
    );
    expect(existsSync(PWNED)).toBe(false);
  });

  it.each([
    [
      'hostile-storage-short.pth',
      'storage "0" declares 1000 F32 elements (4000 bytes) but its record holds 24 bytes.',
    ],
    [
      'hostile-huge-numel.pth',
      'storage "0" declares 1125899906842624 F32 elements (4503599627370496 bytes) but its record holds 24 bytes.',
    ],
    [
      'hostile-numel-2pow60.pth',
      'archive/data.pkl, byte 117: storage "0" declares 1152921504606846976 elements; expected a non-negative integer below 2^53.',
    ],
    [
      'hostile-huge-numel-legacy.pth',
      'storage "0" declares 1099511627776 F32 elements (4398046511104 bytes) at byte 335, but only 24 bytes remain (the file may be truncated).',
    ],
    [
      'hostile-out-of-bounds.pth',
      'archive/data.pkl, byte 161: a tensor of shape [3, 3] with strides [3, 1] at offset 0 of storage "0" (6 elements) reaches beyond the end of its storage.',
    ],
    [
      'hostile-expanded.pth',
      'a non-contiguous tensor of shape [1048576, 1048576] would take 4398046511104 bytes to copy, more than the 518 bytes left',
    ],
    [
      'truncated.pth',
      'no zip end-of-central-directory record in the last 3138 bytes (the file may be truncated).',
    ],
    [
      'hostile-deflated.pth',
      'the zip entry "dtypes/data.pkl" is compressed (method 8, deflate); torch.save stores entries uncompressed',
    ],
  ])('%s: refused before any large allocation', (name, message) => {
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readTorchStateDict(fixture(name))).toThrow(
      `Invalid PyTorch checkpoint: ${message}`,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 24);
  });

  it('truncated legacy file: the storage that runs past the end is named', () => {
    // Which storage comes last depends on the keys (object ids) torch.save chose.
    expect(() => readTorchStateDict(fixture('truncated-legacy.pth'))).toThrow(
      /^Invalid PyTorch checkpoint: storage "\d+" (declares \d+ \w+ elements \(\d+ bytes\) at byte \d+, but only \d+ bytes remain|would start at byte \d+, past the end of the file) \(the file may be truncated\)\.$/,
    );
  });

  it('a corrupt byte in a storage fails its CRC-32', () => {
    const bytes = new Uint8Array(fixture('tiny-net.pth'));
    // The first storage (conv1.weight) follows the local header of ".../data/0".
    const at = Buffer.from(bytes).indexOf('tiny-net/data/0');
    const start = at + 'tiny-net/data/0'.length;
    const data = start + new DataView(bytes.buffer).getUint16(at - 2, true);
    bytes[data] ^= 1;
    expect(() => readTorchStateDict(bytes)).toThrow(
      /the zip entry "tiny-net\/data\/0" has CRC-32 0x[0-9a-f]{8} but the directory says 0x[0-9a-f]{8} \(the file is corrupt\)/,
    );
  });

  it('refuses big-endian legacy data', () => {
    const bytes = new Uint8Array(fixture('dtypes-legacy.pth'));
    // sys_info's little_endian: NEWTRUE → NEWFALSE.
    const at = Buffer.from(bytes).indexOf('little_endian') + 'little_endian'.length + 2;
    expect(bytes[at]).toBe(0x88);
    bytes[at] = 0x89;
    expect(() => readTorchStateDict(bytes)).toThrow(
      'Invalid PyTorch checkpoint: the file was written on a big-endian machine (sys_info little_endian False); only little-endian data is read.',
    );
  });

  it('names the formats read for anything else', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    const message =
      'Unrecognised weights data (12 bytes, starting 89 50 4e 47 0d 0a 1a 0a 00 00 00 0d): expected safetensors (an 8-byte header length, then a JSON header starting "{"), a PyTorch checkpoint of torch.save (a zip archive, starting "PK") or a legacy PyTorch checkpoint (torch.save with _use_new_zipfile_serialization=False, a pickle starting 80 02 8a 0a 6c fc 9c 46 f9 20 6a a8 50 19).';
    expect(() => readStateDict(png)).toThrow(message);
    expect(() =>
      readTorchStateDict(readFileSync(new URL('./fixtures/tiny.safetensors', import.meta.url))),
    ).toThrow(
      /^Unrecognised weights data \(\d+ bytes, starting [0-9a-f ]+\): expected a PyTorch checkpoint of torch.save/,
    );
    expect(() => readStateDict(new Uint8Array(0))).toThrow(
      'Unrecognised weights data (0 bytes): expected',
    );
  });

  it('tells a safetensors header length that reads "PK\\x03\\x04" from a zip by its "{"', () => {
    const bytes = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0x7b, 0x7d]);
    expect(() => readStateDict(bytes)).toThrow(
      'Invalid safetensors data: the header length is 67324752 bytes but only 2 bytes follow it.',
    );
    bytes[8] = 0;
    expect(() => readStateDict(bytes)).toThrow(
      'Invalid PyTorch checkpoint: 10 bytes is too short for a zip archive.',
    );
  });

  it('checks its options', () => {
    expect(() => readStateDict(fixture('dtypes.pth'), { maxHeaderBytes: -1 })).toThrow(
      'readStateDict: option "maxHeaderBytes" must be a positive integer; received -1.',
    );
    expect(() => readStateDict(fixture('dtypes.pth'), { maxHeader: 1 } as never)).toThrow(
      'readStateDict: unknown option "maxHeader"; allowed options are "maxHeaderBytes".',
    );
  });
});
