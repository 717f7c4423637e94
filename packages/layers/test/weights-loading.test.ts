import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { layers, sequential, type LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  importStateDict,
  loadSafetensorsWeights,
  loadTorchWeights,
  readSafetensors,
  writeSafetensors,
  type StateDictFormat,
  type WeightsWarning,
} from '../src';
import { file, thrown } from './helpers';

/** What a report holds beyond `nonFinite` after a strict load. */
const NOTHING_LEFT = { missing: [], unexpected: [], mismatched: [], skipped: [] };

// Hostile files and non-finite weights (issue #13): each of these failed on
// the loader as it was before.

/** A dense layer "head" (2 → 3), stored as PyTorch's `fc.weight` [3, 2] and `fc.bias` [3]. */
function head(): LayersModel {
  return sequential({
    name: 'tiny',
    layers: [layers.dense({ name: 'head', units: 3, inputShape: [2] })],
  });
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
function headFile(weight: number[], bias: number[]): Uint8Array {
  return writeSafetensors({
    'fc.weight': { shape: [3, 2], data: new Float32Array(weight) },
    'fc.bias': { shape: [3], data: new Float32Array(bias) },
  });
}

const dir = mkdtempSync(join(tmpdir(), 'convnets-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadSafetensorsWeights on hostile files', () => {
  it('refuses a directory, naming it', async () => {
    await expect(loadSafetensorsWeights(head(), dir, HEAD)).rejects.toThrow(
      `${dir}: not a regular file (a directory); expected a weights file (safetensors or a PyTorch checkpoint)`,
    );
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a character device such as /dev/zero without reading it',
    async () => {
      await expect(loadSafetensorsWeights(head(), '/dev/zero', HEAD)).rejects.toThrow(
        '/dev/zero: not a regular file (a character device); expected a weights file (safetensors or a PyTorch checkpoint)',
      );
    },
    10_000,
  );

  it.skipIf(process.platform === 'win32')(
    'refuses a FIFO without blocking on it',
    async () => {
      const fifo = join(dir, 'pipe.safetensors');
      execFileSync('mkfifo', [fifo]);
      await expect(loadSafetensorsWeights(head(), fifo, HEAD)).rejects.toThrow(
        `${fifo}: not a regular file (a FIFO); expected a weights file (safetensors or a PyTorch checkpoint)`,
      );
    },
    10_000,
  );

  it('names the file when a 3 GiB file is invalid, without reading it whole', async () => {
    const before = process.memoryUsage().arrayBuffers;
    // Each sparse: 3 GiB, mostly zeros, no disk used.
    const sparse = (name: string, start: Uint8Array) => {
      const path = join(dir, name);
      writeFileSync(path, start);
      truncateSync(path, 3 * 1024 ** 3);
      return path;
    };
    // A safetensors header that is not JSON.
    const big = sparse('big.safetensors', file('{nope}'));
    await expect(loadSafetensorsWeights(head(), big, HEAD)).rejects.toThrow(
      `${big}: Invalid safetensors data: the header is not valid UTF-8 JSON`,
    );
    // No format at all.
    const zeros = sparse('zeros.pth', new Uint8Array(8));
    await expect(loadSafetensorsWeights(head(), zeros, HEAD)).rejects.toThrow(
      `${zeros}: Unrecognised weights data (3221225472 bytes, starting 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00): expected safetensors`,
    );
    // A zip (torch.save) cut short: no end record.
    const zip = sparse('truncated.pth', Uint8Array.from([0x50, 0x4b, 0x03, 0x04]));
    await expect(loadSafetensorsWeights(head(), zip, HEAD)).rejects.toThrow(
      `${zip}: Invalid PyTorch checkpoint: no zip end-of-central-directory record in the last 65557 bytes (the file may be truncated).`,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 30);
  });

  it('names the file in every error: invalid data, then a state dict that does not fit', async () => {
    const invalid = join(dir, 'invalid.safetensors');
    writeFileSync(invalid, file('{"a": 1}'));
    await expect(loadSafetensorsWeights(head(), invalid, HEAD)).rejects.toThrow(
      `${invalid}: Invalid safetensors data: the entry of "a" is not an object`,
    );
    const misfit = join(dir, 'misfit.safetensors');
    writeFileSync(
      misfit,
      writeSafetensors({ 'fc.bias': { shape: [3], data: new Float32Array(3) } }),
    );
    await expect(loadTorchWeights(head(), misfit, HEAD, { from: 'torchvision' })).rejects.toThrow(
      `${misfit}: Cannot load test head weights into model "tiny"`,
    );
  });

  it('cuts a huge unexpected key to an excerpt', () => {
    const model = head();
    const bytes = writeSafetensors({
      'fc.weight': { shape: [3, 2], data: new Float32Array(6) },
      'fc.bias': { shape: [3], data: new Float32Array(3) },
      ['k'.repeat(20_000_000)]: { shape: [1], data: new Float32Array(1) },
    });
    const error = thrown(() => importStateDict(model, readSafetensors(bytes).tensors, HEAD));
    expect(error.message.length).toBeLessThan(1000);
    expect(error.message).toMatch(/unexpected key "k+… \(20000000 characters\)"/);
  });
});

describe('non-finite weights', () => {
  const nanAndInf = () => headFile([1, NaN, 2, NaN, 3, 4], [0, Infinity, -Infinity]);

  it('loads them and reports each tensor with NaN or Inf to onWarning, and in the result', async () => {
    const model = head();
    const warnings: WeightsWarning[] = [];
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const report = await loadSafetensorsWeights(model, nanAndInf(), HEAD, {
      onWarning: (w) => warnings.push(w),
    });
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    const nonFinite = [
      { key: 'fc.weight', weight: 'head/kernel', size: 6, nan: 2, infinite: 0 },
      { key: 'fc.bias', weight: 'head/bias', size: 3, nan: 0, infinite: 2 },
    ];
    expect(report).toEqual({ nonFinite, ...NOTHING_LEFT });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ kind: 'non-finite', nonFinite });
    expect(warnings[0].message).toBe(
      '2 of 2 loaded tensors hold NaN or infinite values:\n' +
        '  - "fc.weight" (head/kernel): 2 NaN of 6 values\n' +
        '  - "fc.bias" (head/bias): 2 infinite of 3 values',
    );
    const bias = model.getLayer('head').getWeights()[1].dataSync();
    expect(Array.from(bias)).toEqual([0, Infinity, -Infinity]);
  });

  it('names the file in the warning when loading a path', async () => {
    const path = join(dir, 'nan.safetensors');
    writeFileSync(path, nanAndInf());
    const onWarning = vi.fn();
    await loadTorchWeights(head(), path, HEAD, { from: 'torchvision', onWarning });
    expect(onWarning).toHaveBeenCalledOnce();
    expect(onWarning.mock.calls[0][0].message).toMatch(
      new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}: 2 of 2 loaded tensors hold NaN`),
    );
  });

  it('warns on the console without onWarning', async () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await loadSafetensorsWeights(head(), nanAndInf(), HEAD);
    expect(spy).toHaveBeenCalledOnce();
    expect(spy.mock.calls[0][0]).toMatch(/"fc.weight" \(head\/kernel\): 2 NaN of 6 values/);
    spy.mockRestore();
  });

  it('reports nothing for finite weights', async () => {
    const onWarning = vi.fn();
    const report = await loadSafetensorsWeights(
      head(),
      headFile([1, 2, 3, 4, 5, 6], [0, 0, 0]),
      HEAD,
      {
        onWarning,
      },
    );
    expect(onWarning).not.toHaveBeenCalled();
    expect(report).toEqual({ nonFinite: [], ...NOTHING_LEFT });
  });

  it('importStateDict returns the report without warning', () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const report = importStateDict(head(), readSafetensors(nanAndInf()).tensors, HEAD);
    expect(report.nonFinite.map((t) => t.key)).toEqual(['fc.weight', 'fc.bias']);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});

describe('other spellings of a key (canonicalKey) and a family of formats', () => {
  /** HEAD, also accepting the head as `linear.*` (as some repositories save it). */
  const EITHER: StateDictFormat = {
    ...HEAD,
    name: 'either head',
    canonicalKey: (key) => key.replace(/^linear\./, 'fc.'),
  };
  const linearFile = (weight: number[], bias: number[]) =>
    writeSafetensors({
      'linear.weight': { shape: [3, 2], data: new Float32Array(weight) },
      'linear.bias': { shape: [3], data: new Float32Array(bias) },
    });
  const values = (m: LayersModel) =>
    m
      .getLayer('head')
      .getWeights()
      .map((w) => w.arraySync());

  it('loads either spelling to the same weights; HEAD alone refuses the other', () => {
    const [a, b] = [head(), head()];
    importStateDict(a, readSafetensors(headFile([1, 2, 3, 4, 5, 6], [7, 8, 9])).tensors, EITHER);
    importStateDict(b, readSafetensors(linearFile([1, 2, 3, 4, 5, 6], [7, 8, 9])).tensors, EITHER);
    // fc.weight [out=3, in=2] → kernel [in, out]: row i of the kernel is column i of the file.
    expect(values(a)).toEqual([
      [
        [1, 3, 5],
        [2, 4, 6],
      ],
      [7, 8, 9],
    ]);
    expect(values(b)).toEqual(values(a));
    expect(
      thrown(() =>
        importStateDict(
          head(),
          readSafetensors(linearFile([0, 0, 0, 0, 0, 0], [0, 0, 0])).tensors,
          HEAD,
        ),
      ).message,
    ).toMatch(/missing key "fc\.weight"[\s\S]*unexpected key "linear\.weight"/);
  });

  it("names the file's keys in problems and reports, and refuses both spellings at once", () => {
    const wrong = writeSafetensors({
      'linear.weight': { shape: [2, 3], data: new Float32Array(6) },
      'linear.bias': { shape: [3], data: new Float32Array([0, NaN, 0]) },
    });
    expect(
      thrown(() => importStateDict(head(), readSafetensors(wrong).tensors, EITHER)).message,
    ).toMatch(/"linear\.weight" has shape \[2, 3\], expected \[3, 2\] \(for head\/kernel\)/);
    const report = importStateDict(
      head(),
      readSafetensors(linearFile([1, 2, 3, 4, 5, 6], [0, NaN, 0])).tensors,
      EITHER,
    );
    expect(report.nonFinite.map((t) => t.key)).toEqual(['linear.bias']);
    const both = writeSafetensors({
      'fc.weight': { shape: [3, 2], data: new Float32Array(6) },
      'fc.bias': { shape: [3], data: new Float32Array(3) },
      'linear.bias': { shape: [3], data: new Float32Array(3) },
    });
    expect(
      thrown(() => importStateDict(head(), readSafetensors(both).tensors, EITHER)).message,
    ).toMatch(
      /"fc\.bias" and "linear\.bias" are the same weight in the either head format; expected one of them/,
    );
  });

  it('loadTorchWeights picks the format named by from, and lists the names it knows', async () => {
    const formats = { torchvision: HEAD, other: EITHER };
    const model = head();
    await loadTorchWeights(model, linearFile([1, 2, 3, 4, 5, 6], [7, 8, 9]), formats, {
      from: 'other',
    });
    expect(values(model)[1]).toEqual([7, 8, 9]);
    await expect(
      loadTorchWeights(model, linearFile([1, 2, 3, 4, 5, 6], [7, 8, 9]), formats, {
        from: 'torchvision',
      }),
    ).rejects.toThrow(/missing key "fc\.weight"/);
    await expect(
      loadTorchWeights(model, headFile([0, 0, 0, 0, 0, 0], [0, 0, 0]), formats, {
        from: 'keras' as never,
      }),
    ).rejects.toThrow(
      'loadWeights: option "from" must be one of "torchvision", "other"; received "keras".',
    );
    await expect(
      loadTorchWeights(model, headFile([0, 0, 0, 0, 0, 0], [0, 0, 0]), HEAD, {
        from: 'toString' as never,
      }),
    ).rejects.toThrow('loadWeights: option "from" must be "torchvision"; received "toString".');
  });
});

describe('strict: false and skip (transfer learning)', () => {
  /** A dense "body" (2 → 3) and a dense "head" (3 → 2): PyTorch's `body.*` and `fc.*`. */
  function twoLayers(): LayersModel {
    return sequential({
      name: 'two',
      layers: [
        layers.dense({ name: 'body', units: 3, inputShape: [2] }),
        layers.dense({ name: 'head', units: 2, biasInitializer: 'ones' }),
      ],
    });
  }
  const TWO: StateDictFormat = {
    name: 'two layers',
    map: ({ layer, weight }) => {
      const key = layer === 'body' ? 'body' : 'fc';
      return weight === 'kernel'
        ? { key: `${key}.weight`, layout: 'linear' }
        : { key: `${key}.bias`, layout: 'vector' };
    },
  };
  // PyTorch's Linear(2, 3).weight is [out, in] = [3, 2]: ours is its transpose.
  const BODY_WEIGHT = [1, 2, 3, 4, 5, 6];
  const BODY_KERNEL = [
    [1, 3, 5],
    [2, 4, 6],
  ];
  const values = (net: LayersModel) => net.getWeights().map((w) => w.arraySync());

  it('loads what fits and reports each missing, unexpected and mismatched tensor', () => {
    const net = twoLayers();
    const before = values(net);
    const bytes = writeSafetensors({
      'body.weight': { shape: [3, 2], data: new Float32Array(BODY_WEIGHT) },
      'fc.weight': { shape: [5, 3], data: new Float32Array(15) },
      'fc.bias': { shape: [2], data: new Float32Array([7, 8]) },
      'extra.weight': { shape: [1], data: new Float32Array([0]) },
    });
    const { tensors } = readSafetensors(bytes);
    expect(thrown(() => importStateDict(net, tensors, TWO)).message).toBe(
      'Cannot load two layers weights into model "two" (nothing was loaded):\n' +
        '  - missing key "body.bias" (for body/bias)\n' +
        '  - "fc.weight" has shape [5, 3], expected [2, 3] (for head/kernel)\n' +
        '  - unexpected key "extra.weight"',
    );
    expect(values(net)).toEqual(before);

    const tensorsBefore = tf.memory().numTensors;
    const report = importStateDict(net, tensors, TWO, { strict: false });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(report).toEqual({
      nonFinite: [],
      missing: ['body/bias'],
      unexpected: ['extra.weight'],
      mismatched: [
        { key: 'fc.weight', weight: 'head/kernel', reason: 'has shape [5, 3], expected [2, 3]' },
      ],
      skipped: [],
    });
    const [bodyKernel, bodyBias, headKernel, headBias] = values(net);
    expect(bodyKernel).toEqual(BODY_KERNEL);
    expect(bodyBias).toEqual(before[1]); // as initialised: zeros
    expect(headKernel).toEqual(before[2]);
    expect(headBias).toEqual([7, 8]);
    net.dispose();
  });

  it('skips the keys asked, strictly loading the rest (a replaced head)', async () => {
    const net = twoLayers();
    const before = values(net);
    const bytes = writeSafetensors({
      'body.weight': { shape: [3, 2], data: new Float32Array(BODY_WEIGHT) },
      'body.bias': { shape: [3], data: new Float32Array([9, 9, 9]) },
      'fc.weight': { shape: [1000, 3], data: new Float32Array(3000) },
      'fc.bias': { shape: [1000], data: new Float32Array(1000) },
    });
    const report = await loadSafetensorsWeights(net, bytes, TWO, { skip: /^fc\./ });
    expect(report.skipped).toEqual(['fc.weight', 'fc.bias']);
    expect(report.unexpected).toEqual([]);
    const [bodyKernel, bodyBias, headKernel, headBias] = values(net);
    expect([bodyKernel, bodyBias]).toEqual([BODY_KERNEL, [9, 9, 9]]);
    expect([headKernel, headBias]).toEqual([before[2], [1, 1]]);
    net.dispose();
  });
});
