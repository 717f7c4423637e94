import * as tf from '@tensorflow/tfjs-core';
import { loadWeights, resnet50, saveWeights } from '@convnets/resnet';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as compose from '../examples/compose-blocks';
import * as gettingStarted from '../examples/getting-started';
import * as torchvisionWeights from '../examples/torchvision-weights';
import * as trainTiny from '../examples/train-tiny';
import { existsSync, readFileSync } from 'node:fs';

// The guides include these files verbatim ({@includeCode}); running them here
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

  it('torchvision-weights: loads a safetensors file', async () => {
    await tf.setBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'convnets-docs-'));
    const path = join(dir, 'resnet50.safetensors');
    const source = resnet50({ inputShape: [32, 32, 3] });
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
    expect(rows.some((r) => typeof r.top1 === 'number')).toBe(true);
    expect(result.checkpoint && existsSync(result.checkpoint)).toBe(true);
    await tf.setBackend('cpu');
    rmSync(dir, { recursive: true });
  });
});
