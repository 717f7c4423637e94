import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { cifarResNet, saveWeights } from '@convnets/resnet';
import {
  checkpointName,
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  readMetrics,
} from '@convnets/trainer';
import sharp from 'sharp';
import { bin, convnets, ok, tempDir } from './helpers';
import { architecture } from '../src/architectures';

const dir = tempDir('convnets-cli-');
const data = join(dir, 'shapes');
const run = join(dir, 'run');
const tiny = ['--arch', 'cifar-resnet8', '--image-size', '8'];

describe('convnets (built bin)', () => {
  beforeAll(() => {
    expect(existsSync(bin)).toBe(true);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every subcommand has --help', () => {
    for (const sub of [
      ['train'],
      ['eval'],
      ['predict'],
      ['export'],
      ['summary'],
      ['data', 'synth'],
      ['data', 'check'],
      ['doctor'],
      ['plot'],
    ])
      expect(ok(...sub, '--help')).toMatch(/^Usage: convnets /);
  });

  it('data synth and data check --json', () => {
    expect(
      ok(
        'data',
        'synth',
        data,
        '--classes',
        '3',
        '--per-class',
        '8',
        '--val-per-class',
        '2',
        '--size',
        '8',
      ),
    ).toMatch(/wrote 3 classes/);
    const report = JSON.parse(ok('data', 'check', join(data, 'train'), '--json'));
    expect(report.images).toBe(24);
    expect(report.unreadable).toEqual([]);
  });

  it('summary --json: the Table 1 row', () => {
    const s = JSON.parse(ok('summary', 'resnet34', '--json'));
    expect(s.trainableParams).toBe(21_797_672);
    expect(s.multiplyAdds).toBe(3_663_761_408);
    expect(
      s.stages.map((r: { stage: string; outputSize: string }) => `${r.stage} ${r.outputSize}`),
    ).toEqual([
      'conv1 112×112',
      'conv2_x 56×56',
      'conv3_x 28×28',
      'conv4_x 14×14',
      'conv5_x 7×7',
      'predictions 1000-d',
    ]);
    expect(JSON.parse(ok('summary', 'cifar-resnet20', '--json')).trainableParams).toBeGreaterThan(
      0.26e6,
    );
    // Names come from the model packages' registry: torchvision's spelling, and today's.
    const wide = JSON.parse(ok('summary', 'wide_resnet50_2', '--json'));
    expect(wide.trainableParams).toBe(68_883_240); // torchvision 0.14's parameter count
    expect(JSON.parse(ok('summary', 'vgg16_bn', '--json')).trainableParams).toBe(
      JSON.parse(ok('summary', 'vgg16-bn', '--json')).trainableParams,
    );
  });

  it('train --seed seeds the initial weights too: the same flags give bitwise the same run', () => {
    const weightsAfter = (seed: string, name: string) => {
      const out = join(dir, name);
      ok(
        ...['train', ...tiny, '--data', data, '--steps', '1', '--batch-size', '8'],
        ...['--seed', seed, '--out', out, '--backend', 'cpu', '--no-plot'],
      );
      return readFileSync(join(out, 'checkpoints', checkpointName(1), 'model.safetensors'));
    };
    const a = weightsAfter('1', 'seed-a');
    expect(weightsAfter('1', 'seed-b').equals(a)).toBe(true);
    expect(weightsAfter('2', 'seed-c').equals(a)).toBe(false);
  });

  it('train --holdout validates on the last images of each class; --pixel-mean stores the mean image in the checkpoint', async () => {
    const out = join(dir, 'holdout');
    const stdout = ok(
      ...['train', ...tiny, '--data', join(data, 'train'), '--holdout', '3', '--pixel-mean'],
      ...['--epochs', '1', '--batch-size', '5', '--out', out, '--backend', 'cpu', '--no-plot'],
    );
    expect(stdout).toContain('on 15 images, 3 classes, validating on 9,');
    const step = 3; // 15 images in batches of 5
    // The expected mean: the first 5 of each class's 8 images (sorted names), decoded by sharp here.
    const sum = new Float64Array(8 * 8 * 3);
    for (const c of readdirSync(join(data, 'train')).sort()) {
      for (const f of readdirSync(join(data, 'train', c))
        .sort()
        .slice(0, 5)) {
        const pixels = await sharp(join(data, 'train', c, f))
          .removeAlpha()
          .raw()
          .toBuffer();
        pixels.forEach((v, i) => (sum[i] += v));
      }
    }
    const state = JSON.parse(
      readFileSync(join(out, 'checkpoints', checkpointName(step), 'state.json'), 'utf8'),
    );
    const { kind, height, width, mean } = state.metadata.preprocessing;
    expect([kind, height, width, mean.length]).toEqual(['pixel-mean', 8, 8, 192]);
    (mean as number[]).forEach((m, i) => expect(m).toBeCloseTo(sum[i] / 15, 4));
    // The mean travels with the checkpoint: eval on the held-out images (copied into
    // a folder of their own) with no flag gives the run's own validation figures.
    const heldOut = join(dir, 'held-out');
    for (const c of readdirSync(join(data, 'train'))) {
      mkdirSync(join(heldOut, c), { recursive: true });
      for (const f of readdirSync(join(data, 'train', c))
        .sort()
        .slice(5))
        copyFileSync(join(data, 'train', c, f), join(heldOut, c, f));
    }
    const report = JSON.parse(
      ok('eval', ...tiny, '--weights', out, '--data', heldOut, '--backend', 'cpu', '--json'),
    );
    const epoch = readMetrics(join(out, 'metrics.jsonl')).find((r) => r.kind === 'epoch')!;
    expect(report.preprocessing).toBe('pixel-mean');
    expect(report.images).toBe(9);
    expect(report.top1Error).toBeCloseTo(epoch.top1Error!, 6);
    expect(report.loss).toBeCloseTo(epoch.valLoss!, 5);
    // A record that does not hold a mean image of the evaluation's size is named.
    const file = join(out, 'checkpoints', checkpointName(step), 'state.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...state,
        metadata: { preprocessing: { ...state.metadata.preprocessing, mean: [1, 2] } },
      }),
    );
    const bad = convnets('eval', ...tiny, '--weights', out, '--data', heldOut, '--backend', 'cpu');
    expect(bad.stderr).toMatch(
      /checkpoint .*: metadata.preprocessing.mean is not 192 finite numbers/,
    );
    const both = convnets(
      'train',
      ...tiny,
      '--data',
      data,
      '--holdout',
      '3',
      '--out',
      join(dir, 'x'),
    );
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(
      /--holdout takes the validation images out of --data; it cannot be combined with the folder .*val/,
    );
  });

  it('train from a YAML config, --resume, then eval, predict, plot', () => {
    const config = join(dir, 'recipe.yaml');
    writeFileSync(
      config,
      'lr: 0.05\nbatch-size: 8\nschedule: multistep\nmilestones: [1]\nseed: 3\n',
    );
    const first = ok(
      'train',
      ...tiny,
      '--data',
      data,
      '--epochs',
      '1',
      '--config',
      config,
      '--out',
      run,
      '--backend',
      'cpu',
    );
    expect(first).toMatch(/done at step 3/);
    const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const r of rows)
      expect(r).toEqual(
        expect.objectContaining({
          step: expect.any(Number),
          epoch: expect.any(Number),
          loss: expect.any(Number),
        }),
      );
    const epochRow = rows.find((r) => r.kind === 'epoch');
    expect(epochRow.top1Error).toBeTypeOf('number');
    expect(epochRow.top5Error).toBeTypeOf('number');
    expect(rows[0].lr).toBe(0.05);
    expect(ok('train', '--resume', run, '--epochs', '2')).toMatch(
      /resumed from .*step-00000003[\s\S]*done at step 6/,
    );
    expect(existsSync(join(run, 'curves.png'))).toBe(true);

    const ev = JSON.parse(
      ok('eval', ...tiny, '--weights', run, '--data', join(data, 'val'), '--json'),
    );
    expect(ev.images).toBe(6);
    expect(ev.top1Error).toBeGreaterThanOrEqual(0);
    // A checkpoint's model.safetensors stands for its folder.
    const checkpoint = readdirSync(join(run, 'checkpoints')).sort().at(-1)!;
    const preds = JSON.parse(
      ok(
        'predict',
        ...tiny,
        '--weights',
        join(run, 'checkpoints', checkpoint, 'model.safetensors'),
        '--json',
        join(data, 'val', 'class_0', 'class_0_val_0000.JPEG'),
      ),
    );
    expect(preds[0].top).toHaveLength(3);
    expect(ok('plot', run, run, '--out', join(dir, 'curves.svg'))).toMatch(/wrote/);
    expect(readFileSync(join(dir, 'curves.svg'), 'utf8')).toMatch(/^<svg/);

    const mismatch = convnets('train', '--resume', run, '--batch-size', '4', '--epochs', '3');
    expect(mismatch.code).not.toBe(0);
    expect(mismatch.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^convnets: cannot resume from .*: the batch size differs \(checkpoint: 8, this run: 4\)\.$/,
      ),
    ]);
  });

  /** A long `convnets train` child (100 epochs) for the signal tests, its output piped. */
  function trainUntilSignalled(out: string) {
    const args = ['train', ...tiny, '--data', data, '--epochs', '100', '--batch-size', '8'];
    return spawn(process.execPath, [bin, ...args, '--out', out, '--no-plot'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  it('train --out on a folder holding a run refuses and changes nothing; --overwrite replaces it', () => {
    const out = join(dir, 'twice');
    const args = ['train', ...tiny, '--data', data, '--steps', '2', '--batch-size', '8'];
    ok(...args, '--out', out, '--backend', 'cpu', '--no-plot');
    const files = () =>
      readdirSync(out, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name))]);
    const before = files();
    const again = convnets(...args, '--out', out, '--backend', 'cpu', '--no-plot');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /--out .*twice already holds a run \(run\.json, metrics\.jsonl, metrics\.csv, checkpoints\); nothing was changed\. Continue it with --resume/,
    );
    expect(files()).toEqual(before);
    ok(...args, '--out', out, '--backend', 'cpu', '--no-plot', '--overwrite');
    expect(readMetrics(join(out, 'metrics.jsonl')).filter((r) => r.step === 1)).toHaveLength(1);
  });

  it('SIGINT finishes the step, writes a checkpoint and exits', async () => {
    const out = join(dir, 'interrupted');
    const child = trainUntilSignalled(out);
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += String(d);
      if (!sent && /epoch 1:/.test(stdout)) sent = child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stdout).toMatch(/stopped at step \d+[\s\S]*resume with: convnets train --resume/);
    expect(existsSync(join(out, 'checkpoints'))).toBe(true);
  });

  it('SIGTERM finishes the step, checkpoints it, exits 143, and the run resumes from there', async () => {
    const out = join(dir, 'terminated');
    const child = trainUntilSignalled(out);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Signal as soon as the first update is logged: mid-epoch (3 updates per epoch).
    const metrics = join(out, 'metrics.jsonl');
    const poll = setInterval(() => {
      if (existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"kind":"step"')) {
        clearInterval(poll);
        child.kill('SIGTERM');
      }
    }, 50);
    const code = await exited;
    clearInterval(poll);
    expect(code).toBe(143);
    const stopped = /stopped at step (\d+)/.exec(stdout);
    expect(stopped).not.toBeNull();
    const step = Number(stopped![1]);
    // The step in progress was finished and logged, and it is what the checkpoint holds.
    const rows = readMetrics(metrics);
    expect(rows.at(-1)!.step).toBe(step);
    const latest = (await latestCheckpoint(out))!;
    expect((await readCheckpoint(latest)).state.step).toBe(step);
    expect(ok('train', '--resume', out, '--steps', String(step + 1))).toMatch(
      new RegExp(`resumed from .*${checkpointName(step)}[\\s\\S]*done at step ${step + 1}`),
    );
  });

  it('an absurd learning rate stops training: one line naming the step and rate, no non-finite checkpoint', async () => {
    const out = join(dir, 'diverged');
    const r = convnets(
      'train',
      ...tiny,
      '--data',
      data,
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--lr',
      '1e38',
      '--checkpoint-every',
      '1',
      '--out',
      out,
      '--backend',
      'cpu',
      '--no-plot',
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^convnets: .*step \d+ .*learning rate 1e\+38\b/),
    ]);
    for (const c of await listCheckpoints(join(out, 'checkpoints'))) {
      const checkpoint = await readCheckpoint(c.path);
      for (const w of checkpoint.weights) expect(w.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('eval and predict take a torchvision state dict (.safetensors) as --weights', async () => {
    // Zero kernels leave only the classifier's bias: every image gets softmax([0, ln 2, ln 5]) = [1/8, 2/8, 5/8].
    const model = cifarResNet(8, { classes: 3, inputShape: [8, 8, 3], classifierActivation: null });
    for (const w of model.weights) {
      if (w.originalName.endsWith('kernel')) w.write(tf.zerosLike(w.read()));
      if (w.originalName === 'predictions/bias')
        w.write(tf.tensor1d([0, Math.log(2), Math.log(5)]));
    }
    expect(model.weights.some((w) => w.originalName === 'predictions/bias')).toBe(true);
    const file = join(dir, 'tiny-resnet8.safetensors');
    await saveWeights(model, file);

    const preds = JSON.parse(
      ok(
        'predict',
        ...tiny,
        '--weights',
        file,
        '--classes',
        'red,green,blue',
        '--json',
        join(data, 'val', 'class_1', 'class_1_val_0000.JPEG'),
      ),
    );
    expect(preds[0].top.map((t: { name: string }) => t.name)).toEqual(['blue', 'green', 'red']);
    preds[0].top.forEach((t: { probability: number }, i: number) =>
      expect(t.probability).toBeCloseTo([5 / 8, 2 / 8, 1 / 8][i], 6),
    );

    // The data folder's sorted classes: class_2 is predicted for all 6 images, 2 of them right.
    const ev = JSON.parse(
      ok('eval', ...tiny, '--weights', file, '--data', join(data, 'val'), '--json'),
    );
    expect(ev.images).toBe(6);
    expect(ev.top1Error).toBeCloseTo((100 * 4) / 6, 4);
    expect(ev.top5Error).toBe(0);
    expect(ev.loss).toBeCloseTo((2 * Math.log(8) + 2 * Math.log(4) + 2 * Math.log(8 / 5)) / 6, 5);
  });

  it('doctor --json names the backend it would use', () => {
    const report = JSON.parse(ok('doctor', '--json'));
    expect(report.backend).toBeTypeOf('string');
    expect(report.backends.at(-1)).toEqual(expect.objectContaining({ ok: true }));
    expect(report.tfjs).toMatch(/^4\./);
  });

  it('errors are one line, non-zero, no stack unless --verbose', () => {
    const r = convnets('eval', '--arch', 'resnet51', '--weights', run, '--data', data);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^convnets: unknown architecture "resnet51"; expected one of resnet18/,
    );
    const v = convnets('--verbose', 'eval', '--arch', 'resnet51', '--weights', run, '--data', data);
    expect(v.stderr).toMatch(/\n\s+at /);
    expect(convnets('train', '--epochs', 'x').stderr).toMatch(
      /--epochs must be a non-negative integer/,
    );
  });

  it('accepts only names in the architecture table, not inherited object keys', () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(() => architecture(name)).toThrow(`unknown architecture "${name}"`);
    }
    expect(architecture('vgg16c').family).toBe('vgg');
  });
});
