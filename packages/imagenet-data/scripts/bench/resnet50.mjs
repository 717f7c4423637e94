// The bench's figures for a training step, what the loader must keep up
// with: ResNet-50 (ImageNet) and ResNet-20 (CIFAR).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { flag, option } from './options.mjs';

/**
 * Images/s of one training step of @convnets/backend-native's bench
 * `workload` at batch `batch`, measured by that package's own bench child on
 * all cores (one warm-up step, one timed step), or the figure given with
 * `--<given>` (or the environment variable `env`).
 */
function trainingStepRate({ workload, batch, given, env, skip }) {
  const figure = option(given, env && process.env[env]);
  if (figure !== undefined) {
    const rate = Number(figure);
    if (!(rate > 0)) throw new Error(`bench: --${given} must be > 0, got ${figure}`);
    return { rate, how: `given with --${given}` };
  }
  if (flag(skip)) return { skipped: `--${skip}` };
  const child = fileURLToPath(
    new URL('../../../backend-native/scripts/bench-child.mjs', import.meta.url),
  );
  if (!existsSync(child)) return { skipped: `${child} not found` };
  const run = spawnSync(process.execPath, [child, workload, 'native', String(batch), '1', '1'], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../../../backend-native/', import.meta.url)),
  });
  if (run.status !== 0) {
    const why = (run.stderr || run.stdout).trim().split('\n').slice(-3).join(' ');
    return {
      skipped: `@convnets/backend-native's bench child failed (build backend-native, resnet and vgg first): ${why}`,
    };
  }
  const { imagesPerSec, stepMs } = JSON.parse(run.stdout.trim().split('\n').pop());
  return {
    rate: imagesPerSec,
    how: `measured: @convnets/backend-native, batch ${batch}, one ${(stepMs / 1000).toFixed(1)} s step after one warm-up, ${availableParallelism()} cores`,
  };
}

/**
 * Images/s of a ResNet-50 training step (batch 8, 224², momentum SGD) on
 * @convnets/backend-native, or the figure given with --resnet50-images-per-second.
 */
export function resnet50Rate() {
  return trainingStepRate({
    workload: 'resnet50-train',
    batch: 8,
    given: 'resnet50-images-per-second',
    env: 'CONVNETS_RESNET50_IMG_S',
    skip: 'skip-resnet50',
  });
}

/**
 * Images/s of a ResNet-20 CIFAR training step (batch 128, 32², momentum SGD)
 * on @convnets/backend-native, or the figure given with --resnet20-images-per-second.
 */
export function resnet20Rate() {
  return trainingStepRate({
    workload: 'resnet20-train',
    batch: 128,
    given: 'resnet20-images-per-second',
    skip: 'skip-resnet20',
  });
}
