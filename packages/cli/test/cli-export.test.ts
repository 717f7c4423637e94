// `convnets export` (issue #17): a tfjs layers model with its preprocessing and
// class names, which tf.loadLayersModel reads back to the same logits.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES } from '@convnets/imagenet-data';
import { cifarResNet, saveWeights } from '@convnets/resnet';
import { convnets, ok, tempDir } from './helpers';

const dir = tempDir('convnets-cli-export-');

/** A tf.io handler that reads an exported folder as a browser would fetch it. */
function folderHandler(out: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
      const [group] = json.weightsManifest;
      const buffers = group.paths.map((p: string) => {
        const b = readFileSync(join(out, p));
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      });
      return {
        modelTopology: json.modelTopology,
        weightSpecs: group.weights,
        weightData: tf.io.CompositeArrayBuffer.join(buffers),
        format: json.format,
      };
    },
  };
}

describe('convnets export', () => {
  let model: LayersModel;
  const out = join(dir, 'exported');
  beforeAll(async () => {
    await tf.setBackend('cpu');
    // The CLI builds its models with logits out, as this one.
    model = cifarResNet(8, { classes: 10, seed: 17, classifierActivation: null });
    await saveWeights(model, join(dir, 'r8.safetensors'));
    const r = convnets(
      'export',
      ...['--arch', 'cifar_resnet8', '--weights', join(dir, 'r8.safetensors')],
      ...['--classes', CIFAR10_CLASSES.join(','), '--out', out],
    );
    if (r.code !== 0) throw new Error(`convnets export exited ${r.code}: ${r.stderr}`);
    expect(r.stdout).toContain(
      `exported cifar_resnet8 (10 classes, 32×32, cifarEval) to ${out}: model.json, 1 weight shard, preprocessing.json, classes.json`,
    );
  });

  it('writes model.json, its weight shard, preprocessing.json and classes.json', () => {
    expect(readdirSync(out).sort()).toEqual([
      'classes.json',
      'group1-shard1of1.bin',
      'model.json',
      'preprocessing.json',
    ]);
    expect(JSON.parse(readFileSync(join(out, 'classes.json'), 'utf8'))).toEqual(CIFAR10_CLASSES);
    expect(JSON.parse(readFileSync(join(out, 'preprocessing.json'), 'utf8'))).toEqual({
      format: 'convnets-preprocessing/1',
      imageSize: 32,
      outputs: 'logits',
      preset: 'cifarEval',
      options: { size: 32 },
    });
  });

  it('tf.loadLayersModel reads it back (custom layers included) to identical logits', async () => {
    const loaded = await loadLayersModel(folderHandler(out));
    expect(loaded.layers.map((l) => l.getClassName())).toContain('ZeroPadChannels');
    const x = tf.randomUniform([2, 32, 32, 3], -2, 2, 'float32', 3);
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const got = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('refuses an output folder it cannot create, in one line', () => {
    const file = join(out, 'classes.json');
    const r = convnets(
      'export',
      ...['--arch', 'cifar_resnet8', '--weights', join(dir, 'r8.safetensors')],
      ...['--out', join(file, 'sub')],
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^convnets: --out .*sub: /),
    ]);
  });

  it('a run trained with --pixel-mean exports its classes and its mean image', () => {
    const data = join(dir, 'shapes');
    const run = join(dir, 'run');
    const tiny = ['--arch', 'cifar-resnet8', '--image-size', '8'];
    ok('data', 'synth', data, '--classes', '3', '--per-class', '6', '--size', '8');
    ok(
      ...['train', ...tiny, '--data', join(data, 'train'), '--pixel-mean', '--epochs', '1'],
      ...['--batch-size', '6', '--out', run, '--no-plot', '--backend', 'cpu'],
    );
    const web = join(dir, 'web');
    ok('export', ...tiny, '--weights', run, '--out', web);
    const [checkpoint] = readdirSync(join(run, 'checkpoints'));
    const state = JSON.parse(
      readFileSync(join(run, 'checkpoints', checkpoint, 'state.json'), 'utf8'),
    );
    expect(JSON.parse(readFileSync(join(web, 'classes.json'), 'utf8'))).toEqual(state.key.classes);
    const prep = JSON.parse(readFileSync(join(web, 'preprocessing.json'), 'utf8'));
    const { mean } = state.metadata.preprocessing as { mean: number[] };
    expect(prep).toMatchObject({ imageSize: 8, preset: 'cifarEval' });
    expect(prep.options.normalization.scale).toBe(1 / 255);
    expect(prep.options.normalization.mean).toMatchObject({ height: 8, width: 8 });
    expect(prep.options.normalization.mean.data).toEqual(mean.map((m) => Math.fround(m / 255)));
  });
});
