// The CLI against hostile or mistaken input (issue #13): every refusal is one
// line naming what is wrong and what was expected, and nothing hostile costs
// memory before it is checked.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  type PathLike,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportStateDict,
  readSafetensors,
  toFloat32,
  writeSafetensors,
  type Float32Entry,
} from '@convnets/layers';
import { CIFAR_RESNET, cifarResNet, saveWeights, TORCHVISION_RESNET } from '@convnets/resnet';
import { TORCHVISION_VGG } from '@convnets/vgg';
import { architecture } from '../src/architectures';
import { tempDir } from './helpers';

const bin = fileURLToPath(new URL('../bin/convnets.js', import.meta.url));
const dir = tempDir('convnets-cli-hostile-');
const data = join(dir, 'shapes');
const run = join(dir, 'run');
const stateDict = join(dir, 'resnet8.safetensors');
const image = join(data, 'val', 'class_0', 'class_0_val_0000.JPEG');
const tiny = ['--arch', 'cifar-resnet8', '--image-size', '8'];
// Writes the child's peak resident set (kB) to $CONVNETS_TEST_RSS when it exits.
const rssProbe = join(dir, 'rss.cjs');

function convnets(args: string[], options: { timeout?: number; rss?: string } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    env: options.rss
      ? { ...process.env, NODE_OPTIONS: `--require ${rssProbe}`, CONVNETS_TEST_RSS: options.rss }
      : process.env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

function ok(...args: string[]): string {
  const r = convnets(args);
  if (r.code !== 0) throw new Error(`convnets ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Expects exit code 1 and exactly one line on stderr matching `pattern`. */
function refuses(args: string[], pattern: RegExp, options: { timeout?: number } = {}) {
  const r = convnets(args, options);
  expect(r.signal).toBeNull();
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
  expect(r.code).toBe(1);
  return r;
}

function readTensors(path: PathLike): Map<string, Float32Entry> {
  const file = readSafetensors(readFileSync(path));
  return new Map([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }]));
}

function newestCheckpoint(runDir: string): string {
  return join(runDir, 'checkpoints', readdirSync(join(runDir, 'checkpoints')).sort().at(-1)!);
}

describe('convnets against hostile input', () => {
  beforeAll(async () => {
    expect(existsSync(bin)).toBe(true);
    writeFileSync(
      rssProbe,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.CONVNETS_TEST_RSS, String(process.resourceUsage().maxRSS)));\n",
    );
    ok(
      'data',
      'synth',
      data,
      ...['--classes', '3', '--per-class', '8', '--val-per-class', '2'],
      ...['--size', '8'],
    );
    ok(
      'train',
      ...tiny,
      ...['--data', data, '--epochs', '1', '--batch-size', '8', '--out', run],
      ...['--backend', 'cpu', '--no-plot'],
    );
    const model = cifarResNet(8, { classes: 3, inputShape: [8, 8, 3], classifierActivation: null });
    await saveWeights(model, stateDict);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('13: every shape is checked before a model is built', () => {
    it('predict: a 4 MB state dict claiming a million classes is refused, naming the tensor, its shape and the expected one, in bounded memory', () => {
      const normalRss = join(dir, 'normal.rss');
      ok('predict', ...tiny, '--weights', stateDict, image);
      const normal = convnets(['predict', ...tiny, '--weights', stateDict, image], {
        rss: normalRss,
      });
      expect(normal.code).toBe(0);

      const tensors = readTensors(stateDict);
      tensors.set('fc.weight', { shape: [1_000_000, 1], data: new Float32Array(1_000_000) });
      tensors.set('fc.bias', { shape: [1_000_000], data: new Float32Array(1_000_000) });
      const hostile = join(dir, 'million-classes.safetensors');
      writeFileSync(hostile, writeSafetensors(tensors, { format: 'pt' }));
      const hostileRss = join(dir, 'hostile.rss');
      const r = convnets(['predict', ...tiny, '--weights', hostile, image], { rss: hostileRss });
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/"fc\.weight" has shape \[1000000, 1\], expected \[1000000, 64\]/),
      ]);
      expect(r.code).toBe(1);
      // A model for a million classes holds 64 M classifier weights (256 MB, more to initialise).
      const peak = (file: string) => Number(readFileSync(file, 'utf8')) * 1024;
      expect(peak(hostileRss)).toBeLessThan(peak(normalRss) + 100e6);
    });

    it('eval: a checkpoint whose state.json lists a million classes is refused before building, in bounded memory', () => {
      const copy = join(dir, 'many-classes');
      cpSync(newestCheckpoint(run), copy, { recursive: true });
      const state = JSON.parse(readFileSync(join(copy, 'state.json'), 'utf8'));
      state.key.classes = Array.from({ length: 1_000_000 }, (_, i) => `c${i}`);
      writeFileSync(join(copy, 'state.json'), JSON.stringify(state));
      const rss = join(dir, 'checkpoint.rss');
      const r = convnets(['eval', ...tiny, '--weights', copy, '--data', data], { rss });
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /predictions\/kernel.* shape \[64, 3\].*expected \[64, 1000000\].*1000000 classes/,
        ),
      ]);
      expect(r.code).toBe(1);
      expect(Number(readFileSync(rss, 'utf8')) * 1024).toBeLessThan(700e6);
    });

    it("the expected weights are the built model's, in its order and in PyTorch's names and layouts", () => {
      for (const [name, imageSize] of [
        ['cifar-resnet8', 8],
        ['resnet18', 32],
        ['vgg11-bn', 32],
      ] as const) {
        const a = architecture(name);
        const expected = a.expectedWeights({ classes: 7, imageSize });
        const model = a.build({ classes: 7, imageSize, skipInit: true });
        expect(expected.map((w) => [w.name, w.shape])).toEqual(
          model.weights.map((w) => [w.originalName, w.shape]),
        );
        const format = { vgg: TORCHVISION_VGG, resnet: TORCHVISION_RESNET, cifar: CIFAR_RESNET };
        const stateDict = exportStateDict(model, format[a.family]);
        expect(expected.map((w) => [w.torchvision!.key, w.torchvision!.shape])).toEqual(
          [...stateDict].map(([key, t]) => [key, t.shape]),
        );
        model.dispose();
      }
    });

    it('a wrong shape anywhere is named before anything is built', () => {
      const tensors = readTensors(stateDict);
      tensors.set('conv1.weight', { shape: [16, 3, 5, 5], data: new Float32Array(16 * 3 * 25) });
      const wrong = join(dir, 'wrong-conv1.safetensors');
      writeFileSync(wrong, writeSafetensors(tensors, { format: 'pt' }));
      refuses(
        ['eval', ...tiny, '--weights', wrong, '--data', data],
        /^convnets: weights .*wrong-conv1\.safetensors .*"conv1\.weight" has shape \[16, 3, 5, 5\], expected \[16, 3, 3, 3\]/,
      );
    });
  });

  describe('5: NaN and infinite weights load with a one-line warning naming the tensors', () => {
    it('a .safetensors state dict (predict and eval)', () => {
      const tensors = readTensors(stateDict);
      tensors.get('fc.bias')!.data[1] = NaN;
      tensors.get('conv1.weight')!.data[0] = Infinity;
      const file = join(dir, 'nan.safetensors');
      writeFileSync(file, writeSafetensors(tensors, { format: 'pt' }));
      for (const args of [
        ['predict', ...tiny, '--weights', file, '--json', image],
        ['eval', ...tiny, '--weights', file, '--data', data, '--json'],
      ]) {
        const r = convnets(args);
        expect(r.code).toBe(0);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toEqual([expect.stringMatching(/^convnets: warning: .*NaN or infinite/)]);
        expect(lines[0]).toContain('"fc.bias"');
        expect(lines[0]).toContain('"conv1.weight"');
      }
    });

    it('a checkpoint (eval and predict)', () => {
      const copy = join(dir, 'nan-checkpoint');
      cpSync(newestCheckpoint(run), copy, { recursive: true });
      const file = readSafetensors(readFileSync(join(copy, 'model.safetensors')));
      const tensors = readTensors(join(copy, 'model.safetensors'));
      // Keys are "<index in model.weights>:<name>".
      const bias = [...tensors.keys()].find((k) => /predictions\/bias$/.test(k))!;
      tensors.get(bias)!.data[0] = NaN;
      writeFileSync(join(copy, 'model.safetensors'), writeSafetensors(tensors, file.metadata));
      for (const args of [
        ['eval', ...tiny, '--weights', copy, '--data', data, '--json'],
        ['predict', ...tiny, '--weights', copy, '--json', image],
      ]) {
        const r = convnets(args);
        expect(r.code).toBe(0);
        expect(r.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(/^convnets: warning: .*predictions\/bias.*NaN/),
        ]);
      }
    });
  });

  describe('14: mistaken flags and paths', () => {
    it('--ten-crop on a CIFAR net is refused, not ignored', () => {
      refuses(
        ['eval', ...tiny, '--weights', run, '--data', data, '--ten-crop'],
        /^convnets: --ten-crop .*ImageNet.*cifar-resnet8/,
      );
    });

    it('predict --top must be at least 1; more than the classes is clamped with a note', () => {
      refuses(
        ['predict', ...tiny, '--weights', run, '--top', '0', image],
        /^convnets: --top must be at least 1; received 0$/,
      );
      const r = convnets(['predict', ...tiny, '--weights', run, '--top', '7', '--json', image]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)[0].top).toHaveLength(3);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^convnets: note: --top 7 .* 3 classes/),
      ]);
    });

    it('predict names a path that is not a regular file (a folder; a FIFO does not hang it)', () => {
      const folder = join(data, 'val', 'class_0');
      refuses(
        ['predict', ...tiny, '--weights', run, folder],
        new RegExp(`^convnets: image ${folder} is a directory; expected an image file`),
      );
      if (process.platform === 'win32') return;
      const fifo = join(dir, 'pipe.jpg');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      refuses(
        ['predict', ...tiny, '--weights', run, fifo],
        new RegExp(`^convnets: image ${fifo} is not a regular file`),
        { timeout: 60_000 },
      );
    });

    it('plot picks the format from the extension and refuses others', () => {
      const bmp = join(dir, 'curves.bmp');
      refuses(['plot', run, '--out', bmp], /^convnets: --out .*curves\.bmp.*\.png.*\.svg/);
      expect(existsSync(bmp)).toBe(false);
      const png = join(dir, 'curves.PNG');
      ok('plot', run, '--out', png);
      expect([...readFileSync(png).subarray(1, 4)]).toEqual([...Buffer.from('PNG')]);
    });

    it('--schedule step needs --every', () => {
      refuses(
        [
          'train',
          ...tiny,
          '--data',
          data,
          '--batch-size',
          '8',
          '--out',
          join(dir, 'no-every'),
          '--schedule',
          'step',
        ],
        /^convnets: --schedule step needs --every/,
      );
      // A run started before --every was required (its run.json has none) still resumes, with 30.
      const old = join(dir, 'old-step');
      ok(
        ...['train', ...tiny, '--data', data, '--batch-size', '8', '--steps', '1'],
        ...['--schedule', 'step', '--every', '30', '--out', old, '--no-plot'],
      );
      const runJson = join(old, 'run.json');
      const run = JSON.parse(readFileSync(runJson, 'utf8'));
      delete run.config.every;
      writeFileSync(runJson, JSON.stringify(run));
      expect(ok('train', '--resume', old, '--steps', '2', '--no-plot')).toMatch(/done at step 2/);
    });

    it('data synth with an impossible size is a one-line error', () => {
      const r = convnets(['data', 'synth', join(dir, 'huge'), '--size', '100000']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^convnets: .*size/)]);
    });

    it('data check on a root holding train/ and val/ checks each split', () => {
      const text = ok('data', 'check', data);
      expect(text).toMatch(/train: 24 images in 3 classes/);
      expect(text).toMatch(/val: 6 images in 3 classes/);
      const report = JSON.parse(ok('data', 'check', data, '--json'));
      expect(Object.keys(report.splits)).toEqual(['train', 'val']);
      expect(report.splits.train.images).toBe(24);
      expect(report.splits.val.classes.map((c: { name: string }) => c.name)).toEqual([
        'class_0',
        'class_1',
        'class_2',
      ]);
      // A plain image folder still gives one report.
      expect(JSON.parse(ok('data', 'check', join(data, 'val'), '--json')).images).toBe(6);
    });

    it("a run folder's unreadable state.json is named", () => {
      const copy = join(dir, 'broken-run');
      cpSync(run, copy, { recursive: true });
      const state = join(newestCheckpoint(copy), 'state.json');
      writeFileSync(state, '{"valTop1Error": ');
      refuses(
        ['eval', ...tiny, '--weights', copy, '--data', data],
        new RegExp(`^convnets: .*${state.replace(/[.]/g, '\\.')}.*JSON`),
      );
    });
  });
});
