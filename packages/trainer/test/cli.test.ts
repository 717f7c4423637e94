import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

// The built bin, as a user runs it (turbo builds before testing).
const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function convnets(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): string {
  const r = convnets(...args);
  if (r.code !== 0) throw new Error(`convnets ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const dir = tempDir('convnets-cli-');
const data = join(dir, 'shapes');
const run = join(dir, 'run');
const tiny = ['--arch', 'cifar-resnet8', '--image-size', '8'];

describe('convnets (built bin)', () => {
  beforeAll(() => {
    expect(existsSync(bin)).toBe(true);
  });

  it('every subcommand has --help', () => {
    for (const sub of [
      ['train'],
      ['eval'],
      ['predict'],
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
    expect(epochRow.top1).toBeTypeOf('number');
    expect(epochRow.top5).toBeTypeOf('number');
    expect(rows[0].lr).toBe(0.05);
    expect(ok('train', '--resume', run, '--epochs', '2')).toMatch(
      /resumed from .*step-00000003[\s\S]*done at step 6/,
    );
    expect(existsSync(join(run, 'curves.png'))).toBe(true);

    const ev = JSON.parse(
      ok('eval', ...tiny, '--weights', run, '--data', join(data, 'val'), '--json'),
    );
    expect(ev.images).toBe(6);
    expect(ev.top1).toBeGreaterThanOrEqual(0);
    const preds = JSON.parse(
      ok(
        'predict',
        ...tiny,
        '--weights',
        run,
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

  it('SIGINT finishes the step, writes a checkpoint and exits', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn(
      process.execPath,
      [
        bin,
        'train',
        ...tiny,
        '--data',
        data,
        '--epochs',
        '100',
        '--batch-size',
        '8',
        '--out',
        out,
        '--no-plot',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
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
});
