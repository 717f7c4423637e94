import { exportStateDict, readSafetensors, toFloat32, writeSafetensors } from '@convnets/layers';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CIFAR_RESNET,
  cifarResNet,
  loadWeights,
  resnet18,
  saveWeights,
  type CifarResNetOptions,
} from '../src';

// A PyTorch CIFAR ResNet-8 in akamaster/pytorch_resnet_cifar10's layout (option A
// padded on both sides), its BN statistics moved by ten training passes, and its
// float64 eval-mode logits: written by scripts/fixtures/generate_cifar_fixtures.py.
const fixtureFile = (name: string) =>
  fileURLToPath(new URL(`../fixtures/cifar/${name}`, import.meta.url));
const fixture = JSON.parse(readFileSync(fixtureFile('resnet8.json'), 'utf8')) as {
  inputs: number[][][][];
  logits: number[][];
  logitsChannelPaddingEnd: number[][];
  resnet20Parameters: [string, number[]][];
};
const SAFETENSORS = fixtureFile('resnet8.safetensors');

/** The fixture's NCHW inputs as one NHWC tensor. */
function inputs(): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(fixture.inputs), [0, 2, 3, 1]));
}

/** ResNet-8 built with `opts` and the fixture's weights: its logits for the fixture's inputs. */
async function logits(
  source: string | Uint8Array,
  opts: CifarResNetOptions,
  from: 'cifar' | 'torchvision' = 'cifar',
): Promise<number[][]> {
  const net = cifarResNet(8, { classifierActivation: null, skipInit: true, ...opts });
  try {
    await loadWeights(net, source, { from });
    const x = inputs();
    const y = net.predict(x) as tf.Tensor;
    const out = y.arraySync() as number[][];
    tf.dispose([x, y]);
    return out;
  } finally {
    net.dispose();
  }
}

const maxDiff = (a: number[][], b: number[][]) =>
  Math.max(...a.flatMap((row, n) => row.map((v, k) => Math.abs(v - b[n][k]))));

/** The fixture's state dict with its keys renamed. */
function renamed(rename: (key: string) => string): Uint8Array {
  const { tensors } = readSafetensors(readFileSync(SAFETENSORS));
  const entries = new Map(
    [...tensors]
      .filter(([key]) => !key.endsWith('num_batches_tracked'))
      .map(([key, t]) => [rename(key), { shape: t.shape, data: toFloat32(t) }]),
  );
  return writeSafetensors(entries);
}

describe('PyTorch CIFAR ResNets (akamaster layout)', () => {
  it("computes torch's logits with channelPadding 'both', within 1e-4", async () => {
    const got = await logits(SAFETENSORS, { channelPadding: 'both' });
    expect(got).toHaveLength(2);
    expect(maxDiff(got, fixture.logits)).toBeLessThan(1e-4);
  });

  it("does not with 'end' (the default): it computes the end-padded torch net instead", async () => {
    const end = await logits(SAFETENSORS, {});
    expect(maxDiff(end, fixture.logits)).toBeGreaterThan(0.1);
    expect(maxDiff(end, fixture.logitsChannelPaddingEnd)).toBeLessThan(1e-4);
  });

  it('also reads the head as fc.* (from "cifar" only), but not both spellings at once', async () => {
    const fc = renamed((key) => key.replace(/^linear\./, 'fc.'));
    expect(maxDiff(await logits(fc, { channelPadding: 'both' }), fixture.logits)).toBeLessThan(
      1e-4,
    );
    await expect(logits(SAFETENSORS, { channelPadding: 'both' }, 'torchvision')).rejects.toThrow(
      /missing key "fc\.weight"[\s\S]*unexpected key "linear\.weight"/,
    );
    const akamaster = readSafetensors(renamed((key) => key)).tensors;
    const twice = writeSafetensors(
      new Map([
        ...[...akamaster].map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }] as const),
        ['fc.bias', { shape: [10], data: new Float32Array(10) }] as const,
      ]),
    );
    await expect(logits(twice, { channelPadding: 'both' })).rejects.toThrow(
      /"linear\.bias" and "fc\.bias" are the same weight in the PyTorch CIFAR ResNet format/,
    );
  });

  it('reads option B projections as shortcut.{0,1} or downsample.{0,1} (what saveWeights writes)', async () => {
    const build = (seed?: number) =>
      cifarResNet(8, { shortcut: 'B', inputShape: [8, 8, 3], seed, skipInit: seed === undefined });
    const [a, b] = [build(3), build()];
    const written = await saveWeights(a);
    expect(readSafetensors(written).tensors.has('layer2.0.downsample.0.weight')).toBe(true);
    await loadWeights(b, written, { from: 'cifar' });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5);
    const [ya, yb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    tf.dispose([x, ya, yb]);
    const keys = [...exportStateDict(a, CIFAR_RESNET).keys()];
    expect(keys).toContain('layer2.0.shortcut.0.weight');
    expect(keys).toContain('layer3.0.shortcut.1.running_var');
    a.dispose();
    b.dispose();
  });

  it("names ResNet-20's weights as torch's ResNet-20 state dict does", () => {
    const net = cifarResNet(20, { channelPadding: 'both', skipInit: true });
    // Sorted: tfjs lists every trainable weight before the BN statistics.
    const ours = [...exportStateDict(net, CIFAR_RESNET)].map(([key, t]) => [key, t.shape]).sort();
    const torch = fixture.resnet20Parameters
      .filter(([k]) => !k.endsWith('num_batches_tracked'))
      .sort();
    expect(torch).toHaveLength(19 + 19 * 4 + 2); // 19 conv weights, 19 BN × 4 tensors, linear weight and bias
    expect(ours).toEqual(torch);
    net.dispose();
  });

  it('loads the same network from the .pth file (torch.save, zip format)', async () => {
    const got = await logits(fixtureFile('resnet8.pth'), { channelPadding: 'both' });
    expect(maxDiff(got, fixture.logits)).toBeLessThan(1e-4);
  });
});

describe('channelPadding in the factories', () => {
  it('is refused with projection shortcuts and outside its values, before any layer exists', () => {
    expect(() => cifarResNet(20, { shortcut: 'B', channelPadding: 'both' })).toThrow(
      'cifarResNet(20): option "channelPadding" applies to option-A shortcuts only; received "both" with shortcut "B".',
    );
    expect(() => resnet18({ channelPadding: 'end' })).toThrow(
      'resnet18: option "channelPadding" applies to option-A shortcuts only; received "end" with shortcut "B".',
    );
    expect(() => cifarResNet(20, { channelPadding: 'start' as never })).toThrow(
      'cifarResNet(20): option "channelPadding" must be one of "end", "both"; received "start".',
    );
  });

  it('reaches every option-A shortcut of the ImageNet ResNets too', () => {
    const net = resnet18({
      shortcut: 'A',
      channelPadding: 'both',
      inputShape: [32, 32, 3],
      skipInit: true,
    });
    const pads = net.layers.filter((l) => l.getClassName() === 'ZeroPadChannels');
    expect(pads.map((l) => l.name)).toEqual([
      'conv3_block1_0_pad',
      'conv4_block1_0_pad',
      'conv5_block1_0_pad',
    ]);
    expect(pads.map((l) => l.getConfig().channelPadding)).toEqual(['both', 'both', 'both']);
    net.dispose();
  });
});
