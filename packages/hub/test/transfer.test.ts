import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  exportStateDict,
  readTorchStateDict,
  toFloat32,
  torchvisionWeights,
  writeTorchStateDict,
  type ModelEntry,
  type StateDictFormat,
} from '@convnets/layers';
import { CIFAR_RESNET, RESNET_MODELS, cifarResNet, resnet18 } from '@convnets/resnet';
import { TORCHVISION_VGG, VGG_MODELS, vgg11, vgg11Bn } from '@convnets/vgg';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pretrained } from '../src';
import { fileHandler, payload, serve, type Served } from './server';

let home: string;
let server: Served | undefined;
let tensorsBefore: number;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'convnets-transfer-'));
  tensorsBefore = tf.memory().numTensors;
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(home, { recursive: true, force: true });
});

/** `entry` given `bytes` as its only weights, IMAGENET1K_V1 (1000 classes), served under the canonical path. */
function withFile(entry: ModelEntry, bytes: Uint8Array, name: string): ModelEntry {
  const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  return {
    ...entry,
    name,
    ...torchvisionWeights(
      1,
      { IMAGENET1K_V1: { file: `${name}-${sha}.pth`, acc: [1, 5] } },
      'IMAGENET1K_V1',
    ),
  } as ModelEntry;
}

/** scripts/fixtures/generate_cifar_fixtures.py: a PyTorch CIFAR ResNet-8 (10 classes) saved by torch.save. */
const RESNET8 = new Uint8Array(
  readFileSync(fileURLToPath(new URL('../../resnet/fixtures/cifar/resnet8.pth', import.meta.url))),
);
const resnet8 = withFile(
  {
    ...RESNET_MODELS.cifar_resnet20,
    stateDict: CIFAR_RESNET,
    torchvisionClassifierKey: 'linear.weight',
    build: (o) => cifarResNet(8, { ...o, channelPadding: 'both' }),
  } as ModelEntry,
  RESNET8,
  'resnet8',
);

/**
 * Checks that every weight of `net` but those of `head` equals the file's
 * tensor (PyTorch's values, in PyTorch's layout); returns the keys checked.
 */
function expectFileWeights(
  net: LayersModel,
  format: StateDictFormat,
  file: Uint8Array,
  head: RegExp,
): string[] {
  const { tensors } = readTorchStateDict(file);
  const checked: string[] = [];
  for (const [key, { data }] of exportStateDict(net, format)) {
    if (head.test(key)) continue;
    const expected = toFloat32(tensors.get(key)!);
    // A loop, not toEqual: VGG's tensors hold millions of values.
    const differing = data.findIndex((v, i) => !Object.is(v, expected[i]));
    expect([key, data.length, differing]).toEqual([key, expected.length, -1]);
    checked.push(key);
  }
  return checked;
}

/** The weights of layer `name`. */
const layerWeights = (m: LayersModel, name: string) =>
  m
    .getLayer(name)
    .getWeights()
    .map((w) => w.arraySync());

describe('transfer learning with pretrained weights', () => {
  it('classes: N keeps the backbone of a real PyTorch file and starts a fresh, seeded head', async () => {
    server = await serve(fileHandler(RESNET8));
    const opts = { home, mirror: server.origin, classes: 5, seed: 7 };
    const net = await pretrained(resnet8, 'DEFAULT', opts);
    const checked = expectFileWeights(net, CIFAR_RESNET, RESNET8, /^linear\./);
    expect(checked).toHaveLength(3 * 2 * 5 + 5); // conv1, bn1 and 3 blocks of 2 conv-BN units; 5 per unit less the conv's bias
    expect(net.outputs[0].shape).toEqual([null, 5]);
    const fresh = cifarResNet(8, { channelPadding: 'both', classes: 5, seed: 7 });
    expect(layerWeights(net, 'predictions')).toEqual(layerWeights(fresh, 'predictions'));
    [net, fresh].forEach((m) => m.dispose());
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it("includeTop: false loads the backbone and leaves the file's classifier unused", async () => {
    server = await serve(fileHandler(RESNET8));
    const opts = { home, mirror: server.origin, includeTop: false, pooling: 'avg' as const };
    const net = await pretrained(resnet8, 'DEFAULT', opts);
    expect(net.outputs[0].shape).toEqual([null, 64]);
    expect(expectFileWeights(net, CIFAR_RESNET, RESNET8, /^linear\./)).toHaveLength(35);
    net.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it("includeTop: false skips a VGG's whole classifier", async () => {
    const source = vgg11({ includeTop: false, inputShape: [32, 32, 3], seed: 3 });
    const stateDict = exportStateDict(source, TORCHVISION_VGG);
    source.dispose();
    for (const [key, shape] of [
      ['classifier.0.weight', [4096, 512]],
      ['classifier.6.bias', [1000]],
    ] as const)
      stateDict.set(key, { shape: [...shape], data: new Float32Array(shape[0] * (shape[1] ?? 1)) });
    const bytes = writeTorchStateDict(stateDict);
    const entry = withFile(VGG_MODELS.vgg11, bytes, 'tiny_vgg11');
    server = await serve(fileHandler(bytes));
    const opts = { home, mirror: server.origin, includeTop: false, inputShape: [32, 32, 3] };
    const net = await pretrained(entry, 'DEFAULT', opts as never);
    expect(expectFileWeights(net, TORCHVISION_VGG, bytes, /^classifier\./)).toHaveLength(16);
    net.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('strict: false loads what fits, leaving the rest as initialised', async () => {
    const { tensors } = readTorchStateDict(RESNET8);
    const stateDict = new Map(
      [...tensors]
        .filter(([key]) => key !== 'bn1.running_mean' && !key.endsWith('num_batches_tracked'))
        .map(([key, t]) => [key, { shape: t.shape, data: toFloat32(t) }]),
    );
    const bytes = writeTorchStateDict(stateDict);
    const entry = withFile(resnet8, bytes, 'resnet8_partial');
    server = await serve(fileHandler(bytes));
    const opts = { home, mirror: server.origin, classes: 5, seed: 7 };
    await expect(pretrained(entry, 'DEFAULT', opts)).rejects.toThrow(
      'missing key "bn1.running_mean" (for conv1_bn/moving_mean)',
    );
    const net = await pretrained(entry, 'DEFAULT', { ...opts, strict: false });
    const [, , mean] = layerWeights(net, 'conv1_bn');
    expect(mean).toEqual(new Array(16).fill(0)); // as initialised
    const [gamma] = layerWeights(net, 'conv1_bn');
    expect(gamma).toEqual(Array.from(toFloat32(tensors.get('bn1.weight')!)));
    net.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});

describe('factories with weights', () => {
  it('resolve to the model through @convnets/hub, hash-checked, with a clear error for an unknown name', async () => {
    await expect(resnet18({ weights: 'IMAGENET1K_V9', home })).rejects.toThrow(
      'resnet18 has no weights "IMAGENET1K_V9"; expected one of IMAGENET1K_V1, DEFAULT.',
    );
    await expect(vgg11Bn({ weights: 'NOPE', home })).rejects.toThrow(
      'vgg11_bn has no weights "NOPE"; expected one of IMAGENET1K_V1, DEFAULT.',
    );
    const { bytes, sha256 } = payload(100);
    server = await serve(fileHandler(bytes));
    const loading = resnet18({ weights: 'DEFAULT', home, mirror: server.origin, classes: 10 });
    await expect(loading).rejects.toThrow(
      `its SHA-256 starts ${sha256.slice(0, 8)}, expected f37072fd`,
    );
    expect(server.requests.map((r) => r.path)).toEqual(['/models/resnet18-f37072fd.pth']);
    expect(tf.memory().numTensors).toBe(tensorsBefore); // the model built is disposed
  });
});
