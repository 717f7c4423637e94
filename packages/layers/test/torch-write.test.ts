import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { layers, sequential, type LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadSafetensorsWeights,
  readSafetensors,
  readStateDict,
  readTorchStateDict,
  saveTorchWeights,
  toFloat32,
  writeTorchStateDict,
  type Float32Entry,
  type StateDictFormat,
} from '../src';
import { unpickle } from '../src/weights/pickle';
import { torchHooks } from '../src/weights/torch-pickle';
import { readZipDirectory, zipEntryData } from '../src/weights/zip';

// What torch.load makes of this writer's files (through saveWeights) is checked
// by scripts/interop (npm run test:interop, PyTorch, in CI); here, its
// structure and the round trip through our reader.

const entries = (): Map<string, Float32Entry> =>
  new Map([
    [
      'conv.weight',
      { shape: [2, 1, 2, 2], data: Float32Array.from([1, -2, 3.5, 4, 0, 1e-3, -7, 8]) },
    ],
    ['scalar', { shape: [], data: Float32Array.from([2.5]) }],
    ['empty', { shape: [0, 3], data: new Float32Array(0) }],
    ['long', { shape: [70_000], data: Float32Array.from({ length: 70_000 }, (_, i) => i) }],
    ['nan', { shape: [2], data: Float32Array.from([NaN, -Infinity]) }],
  ]);

describe('writeTorchStateDict', () => {
  it('writes the zip torch.save writes: data.pkl, byteorder, one stored record per tensor, version', () => {
    const bytes = writeTorchStateDict(entries());
    const zip = readZipDirectory(bytes);
    expect([...zip.keys()]).toEqual([
      'archive/data.pkl',
      'archive/byteorder',
      'archive/data/0',
      'archive/data/1',
      'archive/data/2',
      'archive/data/3',
      'archive/data/4',
      'archive/version',
    ]);
    const text = (name: string) => new TextDecoder().decode(zipEntryData(bytes, zip.get(name)!));
    expect(text('archive/version')).toBe('3\n');
    expect(text('archive/byteorder')).toBe('little');
    expect([...zip.values()].every((e) => e.method === 0)).toBe(true);
    // The storages: float32, little-endian, as given.
    const record = zipEntryData(bytes, zip.get('archive/data/0')!);
    expect(Array.from(new Float32Array(record.slice().buffer))).toEqual(
      Array.from(entries().get('conv.weight')!.data),
    );
    // Only the globals that torch.load's weights_only mode allows.
    const globals = new Set<string>();
    const storages = new Map();
    const hooks = torchHooks(false, storages);
    const pickle = zipEntryData(bytes, zip.get('archive/data.pkl')!);
    unpickle(
      pickle,
      0,
      { ...hooks, findClass: (m, n) => (globals.add(`${m}.${n}`), hooks.findClass(m, n)) },
      'data.pkl',
    );
    expect(globals).toEqual(
      new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch.FloatStorage']),
    );
    expect(storages.size).toBe(5);
  });

  it('reads back with readTorchStateDict, value for value', () => {
    const { tensors, format, metadata } = readTorchStateDict(writeTorchStateDict(entries()));
    expect(format).toBe('torch-zip');
    expect(metadata).toEqual({});
    expect([...tensors.keys()]).toEqual([...entries().keys()]);
    for (const [name, { shape, data }] of entries()) {
      const t = tensors.get(name)!;
      expect({ name, dtype: t.dtype, shape: t.shape }).toEqual({ name, dtype: 'F32', shape });
      expect(Array.from(toFloat32(t))).toEqual(Array.from(data));
    }
  });

  it('takes a plain object too, and checks the shapes', () => {
    const bytes = writeTorchStateDict({ b: { shape: [1], data: Float32Array.from([3]) } });
    expect(Array.from(toFloat32(readTorchStateDict(bytes).tensors.get('b')!))).toEqual([3]);
    expect(() => writeTorchStateDict({ b: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      'writeTorchStateDict: "b" has shape [2, 2] (4 values) but 3 values.',
    );
    expect(() => writeTorchStateDict({ b: { shape: [-1], data: new Float32Array(0) } })).toThrow(
      'writeTorchStateDict: "b" has shape [-1]; expected non-negative integers.',
    );
  });
});

/** A dense layer "head" (2 → 3) with weights `seed + i / 8`, stored as `fc.weight` [3, 2] and `fc.bias` [3]. */
function head(seed: number): LayersModel {
  const m = sequential({
    name: 'tiny',
    layers: [layers.dense({ name: 'head', units: 3, inputShape: [2] })],
  });
  const values = (n: number) => Array.from({ length: n }, (_, i) => seed + i / 8);
  const weights = [tf.tensor(values(6), [2, 3]), tf.tensor(values(3), [3])];
  m.getLayer('head').setWeights(weights);
  tf.dispose(weights);
  return m;
}
const HEAD: StateDictFormat = {
  name: 'test head',
  map: ({ layer, weight }) =>
    layer !== 'head'
      ? null
      : weight === 'kernel'
        ? { key: 'fc.weight', layout: 'linear' }
        : { key: 'fc.bias', layout: 'vector' },
};

describe('saveTorchWeights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convnets-save-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('picks the format from the extension, or from fileFormat', async () => {
    const model = head(1);
    const kind = (bytes: Uint8Array) => readStateDict(bytes).format;
    for (const name of ['a.pth', 'b.pt', 'c.th', 'D.PTH']) {
      const bytes = await saveTorchWeights(model, HEAD, join(dir, name));
      expect(kind(bytes)).toBe('torch-zip');
      expect(readFileSync(join(dir, name)).equals(Buffer.from(bytes))).toBe(true);
    }
    for (const name of ['e.safetensors', 'f.bin', 'g']) {
      expect(kind(await saveTorchWeights(model, HEAD, join(dir, name)))).toBe('safetensors');
    }
    expect(kind(await saveTorchWeights(model, HEAD))).toBe('safetensors');
    expect(kind(await saveTorchWeights(model, HEAD, undefined, { fileFormat: 'torch' }))).toBe(
      'torch-zip',
    );
    const forced = await saveTorchWeights(model, HEAD, join(dir, 'h.pth'), {
      fileFormat: 'safetensors',
    });
    expect(readSafetensors(forced).metadata).toEqual({ format: 'pt', producer: 'convnets' });
    // Written atomically: no temporary file is left.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    model.dispose();
  });

  it('round-trips a model through a .pth file', async () => {
    const a = head(1);
    const b = head(2);
    const path = join(dir, 'head.pth');
    await saveTorchWeights(a, HEAD, path);
    await loadSafetensorsWeights(b, path, HEAD);
    expect(Array.from(b.weights[0].read().dataSync())).toEqual([1, 1.125, 1.25, 1.375, 1.5, 1.625]);
    expect(Array.from(b.weights[1].read().dataSync())).toEqual([1, 1.125, 1.25]);
    a.dispose();
    b.dispose();
  });

  it('checks its options', async () => {
    const model = head(1);
    await expect(
      saveTorchWeights(model, HEAD, undefined, { fileFormat: 'pth' as never }),
    ).rejects.toThrow(
      'saveWeights: option "fileFormat" must be one of "safetensors", "torch"; received "pth".',
    );
    await expect(
      saveTorchWeights(model, HEAD, undefined, { format: 'torch' } as never),
    ).rejects.toThrow('saveWeights: unknown option "format"; allowed options are "fileFormat".');
    model.dispose();
  });
});
