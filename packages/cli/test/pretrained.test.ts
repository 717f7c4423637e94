import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { cachedPath } from '@convnets/hub';
import { pretrainedWeights } from '@convnets/layers';
import { cifarResNet, RESNET_MODELS, saveWeights } from '@convnets/resnet';
import { architecture } from '../src/architectures';
import { evalResize } from '../src/pretrained';
import { tempDir } from './helpers';

const bin = fileURLToPath(new URL('../bin/convnets.js', import.meta.url));
const dir = tempDir('convnets-cli-hub-');
const home = join(dir, 'home');
const image = join(dir, 'red.jpg');
const tiny = ['--arch', 'cifar-resnet8', '--image-size', '8'];

/** Runs the built bin without blocking this process (whose server answers it), with `$CONVNETS_HOME` in `dir`. */
function convnets(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, CONVNETS_HOME: home, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A loopback server; `paths` lists the requests it got. */
async function serve(listener: RequestListener) {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { origin, paths, close };
}

describe('--weights names and URLs (built bin)', () => {
  let bytes: Uint8Array;
  beforeAll(async () => {
    mkdirSync(home, { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } })
      .jpeg()
      .toFile(image);
    // Zero kernels leave only the classifier's bias: every image gets softmax([0, ln 2, ln 5]) = [1/8, 2/8, 5/8].
    const model = cifarResNet(8, { classes: 3, inputShape: [8, 8, 3], classifierActivation: null });
    for (const w of model.weights) {
      if (w.originalName.endsWith('kernel')) w.write(tf.zerosLike(w.read()));
      if (w.originalName === 'predictions/bias')
        w.write(tf.tensor1d([0, Math.log(2), Math.log(5)]));
    }
    bytes = await saveWeights(model);
    model.dispose();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('predict downloads an http URL into $CONVNETS_HOME once, then works with the server gone', async () => {
    const server = await serve((_req, res) => res.end(bytes));
    const url = `${server.origin}/w/tiny-resnet8.safetensors`;
    const predict = [
      ...['predict', ...tiny, '--weights', url],
      ...['--classes', 'red,green,blue', '--json', image],
    ];
    const first = await convnets(predict);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(server.paths).toEqual(['/w/tiny-resnet8.safetensors']);
    expect(existsSync(cachedPath(url, home))).toBe(true);
    await server.close();

    const second = await convnets(predict);
    expect([second.code, second.stderr]).toEqual([0, '']);
    expect(second.stdout).toBe(first.stdout);
    const [prediction] = JSON.parse(second.stdout);
    expect(prediction.top.map((t: { name: string }) => t.name)).toEqual(['blue', 'green', 'red']);
    expect(prediction.top[0].probability).toBeCloseTo(5 / 8, 6);
  });

  it('predicts from a real torch.save .pth URL (its hash in the name checked) as from the local file, offline the second time', async () => {
    // scripts/fixtures/generate_cifar_fixtures.py: a PyTorch CIFAR ResNet-8 saved by torch.save.
    const file = fileURLToPath(new URL('../../resnet/fixtures/cifar/resnet8.pth', import.meta.url));
    const pth = new Uint8Array(readFileSync(file));
    const sha = createHash('sha256').update(pth).digest('hex').slice(0, 8);
    const server = await serve((_req, res) => res.end(pth));
    const url = `${server.origin}/cifar/resnet8-${sha}.pth`;
    const args = [
      '--arch',
      'cifar_resnet8',
      '--channel-padding',
      'both',
      '--preprocess',
      'torchvision',
      '--image-size',
      '8',
    ];
    const predict = async (weights: string) => {
      const r = await convnets([
        'predict',
        ...args,
        '--weights',
        weights,
        '--top',
        '10',
        '--json',
        image,
      ]);
      expect([r.code, r.stderr]).toEqual([0, '']);
      return JSON.parse(r.stdout);
    };
    const local = await predict(file);
    expect(await predict(url)).toEqual(local);
    await server.close();
    expect(await predict(url)).toEqual(local);
    expect(server.paths).toEqual([`/cifar/resnet8-${sha}.pth`]);
    expect(readFileSync(cachedPath(url, home))).toEqual(readFileSync(file));
  });

  it("refuses a URL whose file name's torch.hub hash does not match, keeping nothing", async () => {
    const server = await serve((_req, res) => res.end(bytes));
    const url = `${server.origin}/w/net-deadbeef.safetensors`;
    const r = await convnets(['predict', ...tiny, '--weights', url, image]);
    await server.close();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^convnets: --weights ${url}: download of ${url} refused: its SHA-256 starts [0-9a-f]{8}, expected deadbeef; the file was deleted\\.\\n$`,
      ),
    );
    expect(readdirSync(join(cachedPath(url, home), '..'))).toEqual([]);
  });

  it('says which URL failed with which HTTP status', async () => {
    const server = await serve((_req, res) => res.writeHead(404).end());
    const url = `${server.origin}/missing.safetensors`;
    const r = await convnets(['eval', ...tiny, '--weights', url, '--data', dir]);
    await server.close();
    expect(r.stderr).toBe(
      `convnets: --weights ${url}: download of ${url} failed: HTTP 404 Not Found.\n`,
    );
  });

  it("fetches a weights name from the registry's URL through $CONVNETS_WEIGHTS_MIRROR, checking its hash", async () => {
    const server = await serve((_req, res) => res.end(bytes));
    const r = await convnets(['predict', '--arch', 'resnet18', '--weights', 'DEFAULT', image], {
      CONVNETS_WEIGHTS_MIRROR: server.origin,
    });
    await server.close();
    expect(server.paths).toEqual(['/models/resnet18-f37072fd.pth']);
    expect(r.stderr).toMatch(
      /^convnets: --weights DEFAULT: download of http:\/\/127\.0\.0\.1:\d+\/models\/resnet18-f37072fd\.pth refused: its SHA-256 starts [0-9a-f]{8}, expected f37072fd; the file was deleted\.\n$/,
    );
    expect(readdirSync(join(home, 'weights'))).not.toContain('resnet18-f37072fd.pth');
  });

  it("names an architecture's weights when the name is wrong, and the architectures with weights", async () => {
    const wrong = await convnets([
      'predict',
      '--arch',
      'resnet18',
      '--weights',
      'IMAGENET1K_V2',
      image,
    ]);
    expect(wrong.stderr).toBe(
      'convnets: --weights IMAGENET1K_V2: resnet18 has no weights "IMAGENET1K_V2"; expected one of IMAGENET1K_V1, DEFAULT.\n',
    );
    const none = await convnets(['predict', ...tiny, '--weights', 'DEFAULT', image]);
    expect(none.stderr).toMatch(
      /^convnets: --weights DEFAULT: --arch cifar-resnet8 has no pretrained weights; architectures with weights: resnet18, resnet34, .*, vgg19_bn\n$/,
    );
  });
});

describe("pretrained weights' eval transform", () => {
  it.each([
    ['resnet50', 'IMAGENET1K_V2', 224, 'resizeShorterSide(232)'],
    ['resnet50', 'IMAGENET1K_V1', 224, 'resizeShorterSide(256)'],
    ['wide_resnet101_2', 'DEFAULT', 224, 'resizeShorterSide(232)'],
    ['resnet152', 'IMAGENET1K_V2', 448, 'resizeShorterSide(464)'], // --image-size 448: scaled
  ] as const)('%s %s at %i: %s, then the centre crop', (arch, name, size, resize) => {
    const weights = pretrainedWeights(RESNET_MODELS[arch], name);
    const a = architecture(arch);
    const t = a.evalTransform(size, {
      preprocessing: 'torchvision',
      resize: evalResize(weights, size),
    });
    expect(t.steps.map((s) => s.name)).toEqual([resize, `centerCrop(${size}×${size})`]);
    // Only the resize differs from the recipe's transform: the same torchvision normalisation.
    const recipe = a.evalTransform(size, { preprocessing: 'torchvision' });
    expect(t.normalization).toEqual(recipe.normalization);
    expect(recipe.steps[0].name).toBe(`resizeShorterSide(${(256 * size) / 224})`);
  });
});
