// PyTorch weights through the CLI (issue #15): --channel-padding, CIFAR ResNet
// state dicts, --preprocess torchvision with --mean/--std for CIFAR nets, and
// eval --classes imagenet on a subset of ImageNet's class folders.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveSafetensorsWeights } from '@convnets/layers';
import { CIFAR_RESNET, cifarResNet } from '@convnets/resnet';
import { bin, convnets, ok, tempDir } from './helpers';

const fixture = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const dir = tempDir('convnets-cli-pytorch-');

/** Expects exit code 1 and one line on stderr matching `pattern`. */
function refuses(args: string[], pattern: RegExp) {
  const r = convnets(...args);
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
  expect(r.code).toBe(1);
}

/** Sets every weight of `model`: `value(name, shape)` or zeros. */
function setWeights(model: LayersModel, value: (name: string, shape: number[]) => number[] | null) {
  for (const w of model.weights) {
    const v = value(w.originalName, w.shape as number[]);
    tf.tidy(() => {
      w.write(v ? tf.tensor(v, w.shape as number[]) : tf.zerosLike(w.read()));
    });
  }
}

const softmax = (z: number[]) => {
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  return e.map((v) => v / e.reduce((a, b) => a + b));
};

// A uniform 32×32 image of RGB (200, 100, 50), as a lossless PNG.
const RGB = [200, 100, 50];
const image = join(dir, 'uniform.png');
/** (RGB / 255 − mean) / std per channel: what a normalisation makes of the image. */
const normalised = (mean: number[], std: number[]) =>
  RGB.map((v, c) => (v / 255 - mean[c]) / std[c]);
// torchvision's ImageNet statistics and the CIFAR-10 ones, as their documentation writes them.
const IMAGENET = normalised([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
const CIFAR10 = normalised([0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]);

/**
 * A CIFAR ResNet-8 whose 3 logits are the normalised image's mean R, G, B plus
 * 10, when built with channelPadding 'both': conv1 copies channels 0–2 (its BN
 * adds 10, so the ReLUs keep them), every residual branch is zero, option A
 * moves them to channels 8–10 and then 24–26, and the head reads those. With
 * 'end' the channels stay at 0–2 and channels 24–26 are zero: every logit is 0.
 */
const probeFile = join(dir, 'probe.safetensors');
async function writeProbe() {
  const model = cifarResNet(8, { classes: 3, channelPadding: 'both', skipInit: true });
  setWeights(model, (name, shape) => {
    const at = (f: (i: number[]) => number) => {
      const out: number[] = [];
      const walk = (prefix: number[]) =>
        prefix.length === shape.length
          ? out.push(f(prefix))
          : [...Array(shape[prefix.length]).keys()].forEach((i) => walk([...prefix, i]));
      walk([]);
      return out;
    };
    if (name === 'conv1_conv/kernel') return at(([y, x, i, o]) => +(y === 1 && x === 1 && i === o));
    if (name === 'predictions/kernel') return at(([i, o]) => +(i === 24 + o));
    if (name === 'conv1_bn/beta') return at(() => 10);
    if (/\/(gamma|moving_variance)$/.test(name)) return at(() => 1 - 1e-5); // √(var + ε) = 1
    return null;
  });
  await saveSafetensorsWeights(model, CIFAR_RESNET, probeFile); // akamaster's names: linear.*
  model.dispose();
}

/** The probe's class probabilities for the image, by class. */
function predict(...flags: string[]): number[] {
  const [result] = JSON.parse(
    ok(
      'predict',
      '--arch',
      'cifar_resnet8',
      '--weights',
      probeFile,
      image,
      '--json',
      '--classes',
      'r,g,b',
      ...flags,
    ),
  );
  const byName = new Map(
    result.top.map((t: { name: string; probability: number }) => [t.name, t.probability]),
  );
  return ['r', 'g', 'b'].map((c) => byName.get(c) as number);
}

const closeTo = (got: number[], expected: number[]) =>
  got.forEach((g, i) => expect(g).toBeCloseTo(expected[i], 5));

describe('convnets with PyTorch weights', () => {
  beforeAll(async () => {
    expect(existsSync(bin)).toBe(true);
    await sharp(Buffer.alloc(32 * 32 * 3, Buffer.from(RGB)), {
      raw: { width: 32, height: 32, channels: 3 },
    })
      .png()
      .toFile(image);
    await writeProbe();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--channel-padding both builds the padding the weights need; end (the default) does not', () => {
    closeTo(predict('--channel-padding', 'both'), softmax(CIFAR10));
    closeTo(predict(), [1 / 3, 1 / 3, 1 / 3]);
    closeTo(predict('--channel-padding', 'end'), [1 / 3, 1 / 3, 1 / 3]);
  });

  it('--preprocess torchvision normalises a CIFAR net with ImageNet statistics, or --mean and --std', () => {
    const both = ['--channel-padding', 'both'];
    closeTo(predict(...both, '--preprocess', 'torchvision'), softmax(IMAGENET));
    closeTo(
      predict(
        ...both,
        '--preprocess',
        'torchvision',
        '--mean',
        '0.5,0.5,0.5',
        '--std',
        '0.25,0.5,1',
      ),
      softmax(normalised([0.5, 0.5, 0.5], [0.25, 0.5, 1])),
    );
    // Only the mean given: ImageNet's std.
    closeTo(
      predict(...both, '--preprocess', 'torchvision', '--mean', '0,0,0'),
      softmax(normalised([0, 0, 0], [0.229, 0.224, 0.225])),
    );
    // eval too: every class folder holds the image, so the loss is the mean of −log p over the classes.
    const data = join(dir, 'three');
    for (const c of ['r', 'g', 'b']) {
      mkdirSync(join(data, c), { recursive: true });
      cpSync(image, join(data, c, 'uniform.png'));
    }
    const evaluate = (...flags: string[]) =>
      JSON.parse(
        ok(
          'eval',
          '--arch',
          'cifar_resnet8',
          '--weights',
          probeFile,
          '--data',
          data,
          '--json',
          ...both,
          ...flags,
        ),
      );
    // Folders sort as b, g, r: class 0 is b (the probe's third logit).
    const meanLoss = (p: number[]) => -(Math.log(p[0]) + Math.log(p[1]) + Math.log(p[2])) / 3;
    const tv = evaluate('--preprocess', 'torchvision');
    expect(tv.preprocessing).toBe('torchvision');
    expect(tv.loss).toBeCloseTo(meanLoss(softmax(IMAGENET)), 4);
    const cifar = evaluate();
    expect(cifar.preprocessing).toBe('cifar');
    expect(cifar.loss).toBeCloseTo(meanLoss(softmax(CIFAR10)), 4);
  });

  it('--mean and --std: three numbers, std positive, with torchvision preprocessing only', () => {
    const args = ['predict', '--arch', 'cifar_resnet8', '--weights', probeFile, image];
    refuses(
      [...args, '--preprocess', 'torchvision', '--std', '0.2,0,0.2'],
      /^convnets: --std must be three positive numbers r,g,b on the 0 … 1 scale \(e\.g\. 0\.229,0\.224,0\.225\); received "0\.2,0,0\.2"$/,
    );
    refuses(
      [...args, '--preprocess', 'torchvision', '--mean', '0.5,0.5'],
      /^convnets: --mean must be three finite numbers r,g,b .*received "0\.5,0\.5"$/,
    );
    refuses(
      [...args, '--preprocess', 'torchvision', '--mean', '0.5,x,0.5'],
      /received "0\.5,x,0\.5"$/,
    );
    refuses(
      [...args, '--std', '0.2,0.2,0.2'],
      /^convnets: --std apply to --preprocess torchvision only; .*add --preprocess torchvision$/,
    );
    refuses(
      [...args, '--preprocess', 'paper', '--mean', '0,0,0', '--std', '1,1,1'],
      /^convnets: --mean and --std apply to --preprocess torchvision only/,
    );
  });

  it("reads the fixture's PyTorch CIFAR ResNet-8 (linear head, num_batches_tracked) as --weights, from torch.save's .pth as from .safetensors", () => {
    const predict = (file: string) =>
      JSON.parse(
        ok(
          ...['predict', '--arch', 'cifar_resnet8', '--weights', fixture(file)],
          ...['--channel-padding', 'both', '--preprocess', 'torchvision', '--top', '10'],
          ...['--json', image],
        ),
      ) as { top: { probability: number }[] }[];
    const [result] = predict('resnet/fixtures/cifar/resnet8.safetensors');
    expect(result.top).toHaveLength(10);
    expect(result.top.reduce((a, t) => a + t.probability, 0)).toBeCloseTo(1, 5);
    // The same tensors as written by torch.save (zip format): the same predictions.
    expect(predict('resnet/fixtures/cifar/resnet8.pth')).toEqual([result]);
  });

  it('--channel-padding is for CIFAR ResNets only, and is checked against a checkpoint', () => {
    refuses(
      ['summary', 'resnet18', '--channel-padding', 'both'],
      /^convnets: --channel-padding applies to CIFAR ResNets \(cifar_resnetN.*\); resnet18 has no such shortcut$/,
    );
    refuses(
      ['summary', 'cifar_plain20', '--channel-padding', 'end'],
      /cifar_plain20 has no such shortcut$/,
    );
    expect(
      JSON.parse(ok('summary', 'cifar_resnet20', '--channel-padding', 'both', '--json'))
        .trainableParams,
    ).toBe(JSON.parse(ok('summary', 'cifar_resnet20', '--json')).trainableParams);
    // A run trained with 'both', evaluated without it: the same weights, another function.
    const data = join(dir, 'synth');
    ok(
      'data',
      'synth',
      data,
      '--classes',
      '2',
      '--per-class',
      '4',
      '--val-per-class',
      '1',
      '--size',
      '8',
    );
    const run = join(dir, 'both-run');
    const tiny = ['--arch', 'cifar_resnet8', '--image-size', '8'];
    ok(
      'train',
      ...tiny,
      '--channel-padding',
      'both',
      '--data',
      data,
      '--steps',
      '1',
      '--batch-size',
      '4',
      '--out',
      run,
      '--backend',
      'cpu',
      '--no-plot',
    );
    const val = join(data, 'val');
    refuses(
      ['eval', ...tiny, '--weights', run, '--data', val],
      /^convnets: checkpoint .* was trained with --channel-padding both; this evaluation uses end: pass --channel-padding both$/,
    );
    expect(
      JSON.parse(
        ok('eval', ...tiny, '--weights', run, '--data', val, '--channel-padding', 'both', '--json'),
      ).images,
    ).toBe(2);
  });
});

describe('convnets eval --classes imagenet', () => {
  // Three real ImageNet photos (test set) in the folders of three of the 1000 classes.
  const data = join(dir, 'imagenet-sample');
  const folders = { n01440764: 1, n01530575: 2, n02123045: 3 }; // ImageNet classes 0, 10, 281
  const weights = join(dir, 'biased.safetensors');
  // Zero kernels: the logits are the head's bias. Class 10 wins, 281 is second, 5–7 complete the top 5.
  const bias = Array.from(
    { length: 1000 },
    (_, k) => ({ 10: 3, 281: 2, 5: 0, 6: 0, 7: 0 })[k] ?? -10,
  );

  beforeAll(async () => {
    for (const [wnid, n] of Object.entries(folders)) {
      mkdirSync(join(data, wnid), { recursive: true });
      const photo = `imagenet-data/test/fixtures/ILSVRC2012_test_0000000${n}.JPEG`;
      cpSync(fixture(photo), join(data, wnid, `photo${n}.JPEG`));
    }
    const model = cifarResNet(8, { classes: 1000, skipInit: true });
    setWeights(model, (name) => (name === 'predictions/bias' ? bias : null));
    await saveSafetensorsWeights(model, CIFAR_RESNET, weights);
    model.dispose();
  });

  it('labels each folder with its ImageNet index, not its rank among the folders', () => {
    const ev = JSON.parse(
      ok(
        'eval',
        '--arch',
        'cifar_resnet8',
        '--weights',
        weights,
        '--data',
        data,
        '--classes',
        'imagenet',
        '--json',
      ),
    );
    expect(ev.images).toBe(3);
    // brambling (10) is right; tabby (281) is in the top 5 only; tench (0) in neither.
    expect(ev.top1Error).toBeCloseTo(200 / 3, 4);
    expect(ev.top5Error).toBeCloseTo(100 / 3, 4);
    const logSumExp = Math.log(Math.exp(3) + Math.exp(2) + 3 + 995 * Math.exp(-10));
    expect(ev.loss).toBeCloseTo(logSumExp - (-10 + 3 + 2) / 3, 5);
    // Without it the 1000-class state dict does not fit the 3 folders.
    refuses(
      ['eval', '--arch', 'cifar_resnet8', '--weights', weights, '--data', data],
      /classify 1000 classes but .* has 3 class folders/,
    );
  });

  it('refuses a folder that is not an ImageNet wnid, naming it', () => {
    const mixed = join(dir, 'mixed');
    cpSync(data, mixed, { recursive: true });
    mkdirSync(join(mixed, 'cats'));
    cpSync(
      fixture('imagenet-data/test/fixtures/ILSVRC2012_test_00000004.JPEG'),
      join(mixed, 'cats', 'cat.JPEG'),
    );
    refuses(
      [
        'eval',
        '--arch',
        'cifar_resnet8',
        '--weights',
        weights,
        '--data',
        mixed,
        '--classes',
        'imagenet',
      ],
      /^convnets: --classes imagenet: "cats" in .*mixed is not an ImageNet wnid; expected class folders named by ImageNet's 1000 wnids \(n01440764 … n15075141\)$/,
    );
  });
});
