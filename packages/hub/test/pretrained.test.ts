import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { torchvisionWeights, type ModelEntry } from '@convnets/layers';
import {
  RESNET_MODELS,
  TORCHVISION_RESNET,
  cifarResNet,
  loadWeights,
  saveWeights,
} from '@convnets/resnet';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PRETRAINED_MODELS, downloadWeights, mirrored, pretrained } from '../src';
import { fileHandler, payload, serve, type Served } from './server';

/** A fixture of `@convnets/resnet`'s PyTorch CIFAR ResNet tests. */
const cifarFixture = (name: string) =>
  fileURLToPath(new URL(`../../resnet/fixtures/cifar/${name}`, import.meta.url));

let home: string;
let server: Served | undefined;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'convnets-hub-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(home, { recursive: true, force: true });
});

/**
 * A registry entry like torchvision's, for a model small enough to test
 * with: CIFAR ResNet-20 with 1000 classes, whose only weights are `bytes`
 * (served under the canonical URL's path).
 */
function tinyEntry(bytes: Uint8Array, name = 'tiny_resnet'): ModelEntry {
  const sha = createHash('sha256').update(bytes).digest('hex').slice(0, 8);
  return {
    ...RESNET_MODELS.cifar_resnet20,
    name,
    // What saveWeights writes and torchvision's ResNets use (the CIFAR entries' own is akamaster's).
    stateDict: TORCHVISION_RESNET,
    torchvisionClassifierKey: 'fc.weight',
    ...torchvisionWeights(
      272_474,
      { IMAGENET1K_V1: { file: `${name}-${sha}.pth`, acc: [1, 5] } },
      'IMAGENET1K_V1',
    ),
  } as ModelEntry;
}

/** The outputs of `net` on a seeded input. */
function outputs(net: LayersModel): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
    return (net.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

describe('pretrained', () => {
  it('downloads the weights (.pth) through a mirror, loads them, and reuses the file offline', async () => {
    const source = RESNET_MODELS.cifar_resnet20.build({ classes: 1000, seed: 1 });
    const bytes = await saveWeights(source, undefined, { fileFormat: 'torch' });
    expect(new TextDecoder().decode(bytes.subarray(0, 2))).toBe('PK'); // torch.save's zip format
    const entry = tinyEntry(bytes);
    server = await serve(fileHandler(bytes));
    const file = entry.weights.IMAGENET1K_V1.url.split('/').pop()!;

    const net = await pretrained(entry, 'DEFAULT', { home, mirror: `${server.origin}/torch/` });
    expect(server.requests.map((r) => r.path)).toEqual([`/torch/models/${file}`]);
    expect(readdirSync(join(home, 'weights'))).toEqual([file]);
    expect(outputs(net)).toEqual(outputs(source));
    expect(net.outputs[0].shape).toEqual([null, 1000]);

    await server.close();
    server = undefined;
    const again = await pretrained(entry, 'IMAGENET1K_V1', { home, classifierActivation: null });
    // Logits now, of the same weights.
    const probabilities = tf.tidy(
      () => tf.softmax(tf.tensor2d(outputs(again), [2, 1000])).dataSync() as Float32Array,
    );
    const expected = outputs(source);
    expect(Math.max(...probabilities.map((p, i) => Math.abs(p - expected[i])))).toBeLessThan(1e-6);
    [source, net, again].forEach((n) => n.dispose());
  });

  it('takes the mirror from CONVNETS_WEIGHTS_MIRROR and checks the registry hash (resnet18: f37072fd)', async () => {
    const { bytes, sha256 } = payload(5000);
    server = await serve(fileHandler(bytes));
    const before = process.env.CONVNETS_WEIGHTS_MIRROR;
    process.env.CONVNETS_WEIGHTS_MIRROR = `${server.origin}/mirror`;
    try {
      await expect(downloadWeights('resnet18', 'DEFAULT', { home })).rejects.toThrow(
        `download of ${server.origin}/mirror/models/resnet18-f37072fd.pth refused: its SHA-256 starts ${sha256.slice(0, 8)}, expected f37072fd; the file was deleted.`,
      );
    } finally {
      if (before === undefined) delete process.env.CONVNETS_WEIGHTS_MIRROR;
      else process.env.CONVNETS_WEIGHTS_MIRROR = before;
    }
    expect(server.requests.map((r) => r.path)).toEqual(['/mirror/models/resnet18-f37072fd.pth']);
    expect(readdirSync(join(home, 'weights'))).toEqual([]);
  });

  it('refuses a file that does not fit the model, loading nothing', async () => {
    const other = RESNET_MODELS.cifar_resnet20.build({ classes: 10, seed: 1 });
    const bytes = await saveWeights(other, undefined, { fileFormat: 'torch' });
    other.dispose();
    server = await serve(fileHandler(bytes));
    await expect(
      pretrained(tinyEntry(bytes), 'DEFAULT', { home, mirror: server.origin }),
    ).rejects.toThrow(
      /Cannot load torchvision ResNet weights into model "cifar_resnet20" \(nothing was loaded\):\n.*"fc.weight" has shape \[10, 64\], expected \[1000, 64\]/,
    );
  });

  it("downloads a real torch.save file by its hash, and the family's loadWeights reads it as PyTorch computes", async () => {
    // scripts/fixtures/generate_cifar_fixtures.py: a PyTorch CIFAR ResNet-8, its inputs and float64 logits.
    const bytes = new Uint8Array(readFileSync(cifarFixture('resnet8.pth')));
    const expected = JSON.parse(readFileSync(cifarFixture('resnet8.json'), 'utf8')) as {
      inputs: number[][][][];
      logits: number[][];
    };
    server = await serve(fileHandler(bytes));
    const entry = tinyEntry(bytes, 'resnet8');
    const { path } = await downloadWeights(entry, 'DEFAULT', { home, mirror: server.origin });
    expect(path).toBe(join(home, 'weights', entry.weights.IMAGENET1K_V1.url.split('/').pop()!));
    const net = cifarResNet(8, {
      channelPadding: 'both',
      classifierActivation: null,
      skipInit: true,
    });
    await loadWeights(net, path, { from: 'cifar' });
    const logits = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(expected.inputs), [0, 2, 3, 1]);
      return (net.predict(x) as tf.Tensor).arraySync() as number[][];
    });
    const diff = logits.flatMap((row, n) => row.map((v, k) => Math.abs(v - expected.logits[n][k])));
    expect(Math.max(...diff)).toBeLessThan(1e-4);
    net.dispose();
  });

  it('names a wrong model, weights name or option before any download', async () => {
    await expect(pretrained('resnet18', 'IMAGENET1K_V2', { home })).rejects.toThrow(
      'resnet18 has no weights "IMAGENET1K_V2"; expected one of IMAGENET1K_V1, DEFAULT.',
    );
    await expect(pretrained('plain18', 'DEFAULT', { home })).rejects.toThrow(
      `plain18 has no pretrained weights; models with weights: ${PRETRAINED_MODELS.join(', ')}.`,
    );
    await expect(pretrained('resnet51')).rejects.toThrow(
      /^unknown model "resnet51"; expected one of resnet18/,
    );
    await expect(
      pretrained('resnet50', 'DEFAULT', { home, classifierActivation: 'relu' as never }),
    ).rejects.toThrow(/resnet50: option "classifierActivation" must be/);
    await expect(
      pretrained('resnet50', 'DEFAULT', { home, mirror: 'mirror.local' }),
    ).rejects.toThrow(
      'pretrained: option "mirror": expected an http:// or https:// URL; received "mirror.local".',
    );
    expect(existsSync(join(home, 'weights'))).toBe(false);
  });

  it('names $CONVNETS_WEIGHTS_MIRROR when it is not an http(s) URL', async () => {
    const before = process.env.CONVNETS_WEIGHTS_MIRROR;
    process.env.CONVNETS_WEIGHTS_MIRROR = 'mirror.local:8080';
    try {
      await expect(downloadWeights('vgg11', 'DEFAULT', { home })).rejects.toThrow(
        '$CONVNETS_WEIGHTS_MIRROR: expected an http:// or https:// URL; received "mirror.local:8080".',
      );
    } finally {
      if (before === undefined) delete process.env.CONVNETS_WEIGHTS_MIRROR;
      else process.env.CONVNETS_WEIGHTS_MIRROR = before;
    }
  });
});

describe('the registry through the hub', () => {
  it("lists torchvision's 15 ResNets and VGGs with weights", () => {
    expect(PRETRAINED_MODELS).toEqual([
      'resnet18',
      'resnet34',
      'resnet50',
      'resnet101',
      'resnet152',
      'wide_resnet50_2',
      'wide_resnet101_2',
      'vgg11',
      'vgg11_bn',
      'vgg13',
      'vgg13_bn',
      'vgg16',
      'vgg16_bn',
      'vgg19',
      'vgg19_bn',
    ]);
  });

  it("replaces the canonical URL's origin with a mirror's, keeping its path", () => {
    const url = 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth';
    expect(mirrored(url, 'http://10.0.0.2:8080')).toBe(
      'http://10.0.0.2:8080/models/resnet50-11ad3fa6.pth',
    );
    expect(mirrored(url, 'http://m/torch/')).toBe('http://m/torch/models/resnet50-11ad3fa6.pth');
  });
});
