// The bench's figure for a ResNet-50 training step, what the loader must
// keep up with.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { flag, option } from './options.mjs';

/**
 * Images/s of a ResNet-50 training step (batch 8, 224², momentum SGD) on
 * @convnets/backend-native, measured by that package's own bench child on all
 * cores, or the figure given with --resnet50-images-per-second.
 */
export function resnet50Rate() {
  const given = option('resnet50-images-per-second', process.env.CONVNETS_RESNET50_IMG_S);
  if (given !== undefined) {
    const rate = Number(given);
    if (!(rate > 0))
      throw new Error(`bench: --resnet50-images-per-second must be > 0, got ${given}`);
    return { rate, how: 'given with --resnet50-images-per-second' };
  }
  if (flag('skip-resnet50')) return { skipped: '--skip-resnet50' };
  const child = fileURLToPath(
    new URL('../../../backend-native/scripts/bench-child.mjs', import.meta.url),
  );
  if (!existsSync(child)) return { skipped: `${child} not found` };
  const run = spawnSync(process.execPath, [child, 'resnet50-train', 'native', '8', '1', '1'], {
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
    how: `measured: @convnets/backend-native, batch 8, one ${(stepMs / 1000).toFixed(1)} s step after one warm-up, ${availableParallelism()} cores`,
  };
}
