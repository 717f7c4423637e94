import { describe, expect, it } from 'vitest';
import type { MetricsRow } from '@convnets/trainer';
import { renderCurves } from '../src';

/** A run's rows: a step row per update (training error falling by 1 point) and an epoch row every 5 updates. */
function rows(steps: number, trainStart: number, validation: number[]): MetricsRow[] {
  const out: MetricsRow[] = [];
  const common = { loss: 1, lr: 0.1, trainTop5Error: 0, imagesPerSec: 1, time: 0 };
  for (let step = 1; step <= steps; step++) {
    const epoch = Math.floor((step - 1) / 5);
    out.push({ kind: 'step', step, epoch, trainTop1Error: trainStart - step, ...common });
    if (step % 5 === 0)
      out.push({
        kind: 'epoch',
        step,
        epoch,
        trainTop1Error: trainStart - step,
        top1Error: validation[epoch],
        top5Error: 0,
        ...common,
      });
  }
  return out;
}

/** The line marks of a Vega SVG: run, stroke width, and the y pixel of each vertex. */
function lines(svg: string): { run: string; width: number; ys: number[] }[] {
  return [
    ...svg.matchAll(
      /<path aria-label="[^"]*run: ([^"]*)"[^>]*aria-roledescription="line mark" d="([^"]*)"[^>]*stroke-width="([\d.]+)"/g,
    ),
  ].map(([, run, d, width]) => ({
    run,
    width: Number(width),
    ys: [...d.matchAll(/[ML][\d.-]+,([\d.-]+)/g)].map((m) => Number(m[1])),
  }));
}

describe('training curves (ResNet Figure 4 style)', () => {
  it('draws every logged step as a thin training line and every epoch as a bold validation line, per run', async () => {
    const svg = await renderCurves(
      [
        { name: 'plain', rows: rows(15, 60, [50, 45, 44]) },
        { name: 'resnet', rows: rows(15, 55, [40, 30, 25]) },
      ],
      { title: 'CIFAR-10' },
    );
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('CIFAR-10');
    const found = lines(svg);
    const line = (run: string, width: number) =>
      found.find((l) => l.run === run && l.width === width)!;
    for (const run of ['plain', 'resnet']) {
      // 15 step rows → 15 vertices (epoch rows add no training point of their own).
      expect(line(run, 1).ys).toHaveLength(15);
      expect(line(run, 3).ys).toHaveLength(3);
    }
    // Training error falls every step: the thin line goes down the chart (SVG y grows).
    const ys = line('plain', 1).ys;
    ys.slice(1).forEach((y, i) => expect(y).toBeGreaterThan(ys[i]));
    // Validation errors 40 → 30 → 25 fall by 10 then 5: pixel steps in ratio 2:1.
    const v = line('resnet', 3).ys;
    expect((v[1] - v[0]) / (v[2] - v[1])).toBeCloseTo(2, 3); // SVG keeps 3 decimals
  });
});
