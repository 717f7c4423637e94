import * as tf from '@tensorflow/tfjs-core';
import { loadWeights, resnet50, saveWeights } from '@convnets/resnet';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as compose from '../examples/compose-blocks';
import * as degradation from '../examples/degradation';
import * as fineTune from '../examples/fine-tune';
import * as gettingStarted from '../examples/getting-started';
import * as scalingOut from '../examples/scaling-out';
import * as torchvisionWeights from '../examples/torchvision-weights';
import * as trainTiny from '../examples/train-tiny';
import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { torchvisionWeights as weightsEntry, type ModelEntry } from '@convnets/layers';
import { pretrained } from '@convnets/hub';
import { CIFAR_RESNET, RESNET_MODELS, cifarResNet } from '@convnets/resnet';
import { synthesizeImageFolder } from '@convnets/imagenet-data';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/**
 * Trainable parameters of a CIFAR network of the paper's §4.2 (3×3 conv with 16
 * filters, three stages of n two-conv blocks of 16/32/64 filters, a fc layer),
 * counted by hand from that description: bias-free convolutions, BN γ and β,
 * option-A shortcuts (no parameters). A plain net has the same count.
 */
function cifarParameters(depth: number, classes: number): number {
  const n = (depth - 2) / 6;
  const conv = (k: number, cin: number, cout: number) => k * k * cin * cout + 2 * cout;
  let total = conv(3, 3, 16);
  let cin = 16;
  for (const width of [16, 32, 64]) {
    for (let b = 0; b < n; b++) {
      total += conv(3, cin, width) + conv(3, width, width);
      cin = width;
    }
  }
  return total + 64 * classes + classes;
}

/**
 * A real PyTorch file small enough to fine-tune in a test: the CIFAR ResNet-8
 * of packages/resnet/fixtures (10 classes, written by torch.save), as a
 * registry entry whose IMAGENET1K_V1 weights are that file, under torchvision's
 * canonical path (`/models/resnet8-<sha256 prefix>.pth`).
 */
const RESNET8 = readFileSync(
  fileURLToPath(new URL('../../packages/resnet/fixtures/cifar/resnet8.pth', import.meta.url)),
);
const resnet8: ModelEntry = {
  ...RESNET_MODELS.cifar_resnet20,
  name: 'resnet8',
  stateDict: CIFAR_RESNET,
  torchvisionClassifierKey: 'linear.weight',
  build: (o) => cifarResNet(8, { ...o, channelPadding: 'both' }),
  ...weightsEntry(
    78_042,
    {
      IMAGENET1K_V1: {
        file: `resnet8-${createHash('sha256').update(RESNET8).digest('hex').slice(0, 8)}.pth`,
        acc: [1, 5],
      },
    },
    'IMAGENET1K_V1',
  ),
} as ModelEntry;

/** Every weight of `net` by name (`layer/weight`), as arrays of numbers. */
const weightsOf = (net: LayersModel): Map<string, number[]> =>
  new Map(net.weights.map((w) => [w.originalName, [...w.read().dataSync()]]));

/** The names of the weights that differ between two snapshots. */
const changed = (a: Map<string, number[]>, b: Map<string, number[]>, names: string[]) =>
  names.filter((n) => a.get(n)!.some((v, i) => !Object.is(v, b.get(n)![i])));

// The guides show these files verbatim (test/guides.test.ts); running them here
// keeps every example in the docs working.
const quiet = () => {
  const log = console.log;
  console.log = () => {};
  return () => (console.log = log);
};

describe('docs examples run', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('getting-started: ResNet-18 summary and top-5 of a real photo', async () => {
    const restore = quiet();
    const photo = fileURLToPath(new URL('../examples/assets/photo.jpeg', import.meta.url));
    const { summary, top5 } = await gettingStarted.main(photo).finally(restore);
    expect(summary.trainableParams).toBe(11_689_512); // NUMBERS.md, torchvision resnet18
    expect(top5).toHaveLength(5);
    const total = top5.reduce((s, r) => s + r.probability, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(1 + 1e-5);
  });

  it('compose-blocks: a custom net and a frozen backbone with a new head', async () => {
    await tf.setBackend('cpu');
    const restore = quiet();
    const result = (() => {
      try {
        return compose.main();
      } finally {
        restore();
      }
    })();
    expect(result.shapes).toEqual([
      [2, 10],
      [2, 5],
    ]);
    // The head: (256 + 512) features → 5 classes; everything else is frozen.
    expect(result.trainable).toBe((256 + 512) * 5 + 5);
  });

  it('torchvision-weights: loads a PyTorch checkpoint', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'convnets-docs-'));
    const path = join(dir, 'resnet50.pth'); // written in torch.save's zip format
    // The file only has to fit (no value below depends on the weights): zero weights, no random draw.
    const source = resnet50({ inputShape: [32, 32, 3], skipInit: true });
    await saveWeights(source, path);
    source.dispose();
    const { top1, bytes } = await torchvisionWeights.main(path, 32);
    expect(top1).toBeGreaterThanOrEqual(0);
    expect(bytes).toBeGreaterThan(25_557_032 * 4);
    // A file for another architecture is refused as a whole.
    const other = resnet50({ inputShape: [32, 32, 3], classes: 10, skipInit: true });
    await expect(loadWeights(other, path, { from: 'torchvision' })).rejects.toThrow(
      /"fc\.weight" has shape \[1000, 2048\], expected \[10, 2048\]/,
    );
    other.dispose();
    rmSync(dir, { recursive: true });
  });

  it('train-tiny: trains through the trainer API and writes the run folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convnets-docs-train-'));
    const restore = quiet();
    const result = await trainTiny.main(dir, 6).finally(restore);
    expect(result.steps).toBe(6);
    expect(result.tensorGrowth).toBe(0);
    const rows = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(
      rows.filter((r) => typeof r.loss === 'number' && Number.isFinite(r.loss)).length,
    ).toBeGreaterThanOrEqual(6);
    expect(rows.some((r) => typeof r.top1Error === 'number')).toBe(true);
    expect(result.checkpoint && existsSync(result.checkpoint)).toBe(true);
    await tf.setBackend('cpu');
    rmSync(dir, { recursive: true });
  });

  it('degradation: plain and residual nets at two depths, one recipe, one chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convnets-docs-degradation-'));
    const restore = quiet();
    const { runs, chart } = await degradation.main(dir, [8, 14], 2).finally(restore);
    expect(runs.map((r) => r.name)).toEqual(['plain8', 'resnet8', 'plain14', 'resnet14']);
    for (const run of runs) {
      // 3 classes × 8 images = 24 per epoch, batches of 8: 3 updates per epoch.
      expect(run.steps).toBe(6);
      expect(run.tensorGrowth).toBe(0);
      expect(run.parameters).toBe(cifarParameters(run.depth, 3));
      const rows = readFileSync(join(dir, 'runs', run.name, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const epochs = rows.filter((r) => r.kind === 'epoch');
      expect(epochs).toHaveLength(2);
      for (const e of epochs) expect(e.top1Error).toBeGreaterThanOrEqual(0);
    }
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const name of ['plain8', 'resnet8', 'plain14', 'resnet14']) expect(svg).toContain(name);
    await tf.setBackend('cpu');
    rmSync(dir, { recursive: true });
  });

  it('scaling-out: Keras-format model.json that reloads in tfjs, torchvision-named weights', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'convnets-docs-scaling-'));
    const restore = quiet();
    const before = tf.memory().numTensors;
    const [a, b] = await scalingOut.main(dir).finally(restore);
    expect(tf.memory().numTensors).toBe(before);
    for (const r of [a, b]) {
      expect(r.maxDifference).toBe(0);
      // Keras' functional-model JSON, as tfjs writes it.
      expect(['Model', 'Functional']).toContain(r.topologyClass);
      expect(r.kerasVersion).toMatch(/^tfjs-layers/);
      expect(r.layerClasses).toEqual(
        expect.arrayContaining(['InputLayer', 'Conv2D', 'BatchNormalization', 'Add', 'Dense']),
      );
      expect(r.stateDictKeys).toEqual(
        expect.arrayContaining([
          'conv1.weight',
          'bn1.running_var',
          'layer1.0.conv2.weight',
          'fc.bias',
        ]),
      );
    }
    expect(a.customLayers).toEqual(['ZeroPadChannels']);
    expect(b.customLayers).toEqual([]);
    // Option B projects where the shape changes (layer2.0 and layer3.0); option A has no weights there.
    expect(b.stateDictKeys).toContain('layer2.0.downsample.0.weight');
    expect(a.stateDictKeys.some((k) => k.includes('downsample'))).toBe(false);
    // weights.bin holds float32 values: the option-A net's trainable parameters
    // (counted by hand) plus BN's moving mean and variance (2 × 240 channels).
    const bytes = readFileSync(join(a.dir, 'weights.bin')).byteLength;
    expect(bytes).toBe(4 * (cifarParameters(8, 3) + 2 * (16 + 2 * 16 + 2 * 32 + 2 * 64)));
    rmSync(dir, { recursive: true });
  });
  it('fine-tune: the head on a frozen pretrained backbone, then everything', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'convnets-docs-fine-tune-'));
    // The weights come from a loopback mirror, as CONVNETS_WEIGHTS_MIRROR sets one.
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.writeHead(200, { 'content-length': RESNET8.length }).end(RESNET8);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { CONVNETS_WEIGHTS_MIRROR, CONVNETS_HOME } = process.env;
    process.env.CONVNETS_WEIGHTS_MIRROR = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.CONVNETS_HOME = join(dir, 'home');
    const restore = quiet();
    try {
      await synthesizeImageFolder(join(dir, 'photos'), {
        classes: 3,
        perClass: 8,
        valPerClass: 2,
        size: 12,
        seed: 2,
      });
      // The model as main() starts it: the file's backbone, a fresh seeded head.
      const modelOptions = {
        classes: 3,
        classifierActivation: null,
        inputShape: [8, 8, 3],
        seed: 1,
      };
      const initial = await pretrained(resnet8, 'IMAGENET1K_V1', modelOptions as never);
      const start = weightsOf(initial);
      initial.dispose();
      const before = tf.memory().numTensors;
      let frozen: Map<string, number[]> | undefined;
      const { net, head, all } = await fineTune.main(join(dir, 'photos'), {
        arch: resnet8,
        size: 8,
        steps: 2,
        afterHead: (m) => (frozen = weightsOf(m)),
      });
      expect(requests).toEqual([new URL(resnet8.weights.IMAGENET1K_V1.url).pathname]);
      expect([head.steps, all.steps]).toEqual([2, 2]);
      expect(all.validation?.top1Error).toBeGreaterThanOrEqual(0);
      const names = [...start.keys()];
      const isHead = (n: string) => n.startsWith('predictions/');
      const isStatistic = (n: string) => /moving_(mean|variance)$/.test(n);
      const backbone = names.filter((n) => !isHead(n) && !isStatistic(n));
      expect(backbone).toHaveLength(7 * 3); // 7 conv-BN units: kernel, γ, β
      const end = weightsOf(net);
      // Frozen: every trainable weight of the backbone as loaded; the head trained.
      expect(changed(start, frozen!, backbone)).toEqual([]);
      expect(changed(start, frozen!, ['predictions/kernel', 'predictions/bias'])).toHaveLength(2);
      // BN layers still normalise with the batch's statistics in training mode and
      // update their running averages, frozen or not (as PyTorch's do in train()).
      expect(changed(start, frozen!, names.filter(isStatistic)).length).toBeGreaterThan(0);
      // Unfrozen: the backbone trains too.
      expect(changed(frozen!, end, backbone)).toEqual(backbone);
      net.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      restore();
      Object.assign(process.env, { CONVNETS_WEIGHTS_MIRROR, CONVNETS_HOME });
      if (CONVNETS_WEIGHTS_MIRROR === undefined) delete process.env.CONVNETS_WEIGHTS_MIRROR;
      if (CONVNETS_HOME === undefined) delete process.env.CONVNETS_HOME;
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true });
    }
  });
});
