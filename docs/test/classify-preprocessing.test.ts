// preprocessing.json, as `convnets export` writes it, rebuilds in the browser
// page's code (browser/preprocessing.ts) the transform the CLI evaluates with.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { preprocess, Random, type Transform } from '@convnets/imagenet-data/browser';
import { describe, expect, it } from 'vitest';
import { architecture, type EvalOptions } from '../../packages/cli/src/architectures';
import { presetJson } from '../../packages/cli/src/commands/export';
import { transformFromJson } from '../browser/preprocessing';

/** A random 8-bit RGB photo, `height × width`. */
function photo(height: number, width: number) {
  const rng = new Random(5);
  const data = Uint8Array.from({ length: height * width * 3 }, () => rng.int(0, 255));
  return { data, height, width, channels: 3 as const };
}

const pixels = (t: Transform, h: number, w: number) =>
  tf.tidy(() => Array.from(preprocess(photo(h, w), t).dataSync()));

describe('preprocessing.json rebuilds the CLI transform in the page code', () => {
  const mean = {
    height: 32,
    width: 32,
    data: Float32Array.from({ length: 3072 }, (_, i) => i % 251),
  };
  const cases: [string, number, EvalOptions][] = [
    ['cifar_resnet8', 32, {}],
    ['cifar_resnet8', 32, { pixelMean: mean }],
    [
      'cifar_resnet8',
      32,
      { preprocessing: 'torchvision', mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] },
    ],
    ['resnet18', 224, { preprocessing: 'torchvision', resize: 232 }],
    ['vgg11', 224, {}],
  ];
  it.each(cases)('%s at %i, %o', async (arch, size, options) => {
    await tf.setBackend('cpu');
    const a = architecture(arch);
    const json = JSON.parse(
      JSON.stringify({
        format: 'convnets-preprocessing/1',
        imageSize: size,
        outputs: 'logits',
        ...presetJson(a.evalPreset(size, options)),
      }),
    );
    const rebuilt = transformFromJson(json);
    expect(pixels(rebuilt, 300, 260)).toEqual(pixels(a.evalTransform(size, options), 300, 260));
  });
});
