import { describe, expect, it } from 'vitest';
import type { MetricsRow } from '@convnets/trainer';
import { renderCurves, trainingErrorCurve } from '../src';

const common = { loss: 1, lr: 0.1, trainTop5Error: 0, imagesPerSec: 1, time: 0 };

/**
 * A run's rows as `convnets train` logs them: a step row per update and an
 * epoch row closing every `perEpoch` updates, the training error running
 * over the epoch in progress, for the given error of each update.
 */
function logged(errors: number[], perEpoch: number, validation: number[] = []): MetricsRow[] {
  const out: MetricsRow[] = [];
  let sum = 0;
  errors.forEach((error, i) => {
    const step = i + 1;
    const epoch = Math.floor(i / perEpoch);
    const k = step - epoch * perEpoch;
    sum = (k === 1 ? 0 : sum) + error;
    out.push({ kind: 'step', step, epoch, trainTop1Error: sum / k, ...common });
    if (k === perEpoch)
      out.push({
        kind: 'epoch',
        step,
        epoch,
        trainTop1Error: sum / k,
        top1Error: validation[epoch],
        top5Error: 0,
        ...common,
      });
  });
  return out;
}

/** A run whose every update has a training error 1 point below the last, 5 updates an epoch. */
const rows = (steps: number, trainStart: number, validation: number[]): MetricsRow[] =>
  logged(
    Array.from({ length: steps }, (_, i) => trainStart - 1 - i),
    5,
    validation,
  );

describe('trainingErrorCurve', () => {
  // Two epochs of 4 updates; the errors of the updates (by hand), and so the
  // running averages logged: 40 35 30 25 | 50 40 30 25.
  const errors = [40, 30, 20, 10, 50, 30, 10, 10];
  const at = (points: { step: number; error: number }[]) =>
    Object.fromEntries(points.map((p) => [p.step, p.error]));

  it("recovers each update's error from the running averages (window 1): no restart at the epoch", () => {
    const points = trainingErrorCurve(logged(errors, 4), 1);
    expect(points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    points.forEach((p, i) => expect(p.error).toBeCloseTo(errors[i]!, 10));
  });

  it('averages over the last `window` iterations, across the epoch boundary', () => {
    const e = at(trainingErrorCurve(logged(errors, 4), 2));
    // Means of consecutive pairs: (40) (40+30)/2 … (10+50)/2 = 30 at step 5.
    const expected = { 1: 40, 2: 35, 3: 25, 4: 15, 5: 30, 6: 40, 7: 20, 8: 10 };
    for (const [step, mean] of Object.entries(expected)) expect(e[step]).toBeCloseTo(mean, 10);
  });

  it('works on thinned rows (every 2nd step and the epoch rows), and a step logged twice counts its last row', () => {
    const all = logged(errors, 4);
    const thinned = all.filter((r) => r.kind === 'epoch' || r.step % 2 === 0);
    // A stale row for step 6 (a crashed segment) before the one that counts.
    thinned.splice(2, 0, { kind: 'step', step: 6, epoch: 1, trainTop1Error: 99, ...common });
    const e = at(trainingErrorCurve(thinned, 1));
    // Intervals of 2 updates: (40+30)/2, (20+10)/2, (50+30)/2, (10+10)/2.
    expect(Object.keys(e).map(Number)).toEqual([2, 4, 6, 8]);
    expect(e[2]).toBeCloseTo(35, 10);
    expect(e[4]).toBeCloseTo(15, 10);
    expect(e[6]).toBeCloseTo(40, 10);
    expect(e[8]).toBeCloseTo(10, 10);
  });
});

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
  it("draws every logged step's training error as a thin line and every epoch as a bold validation line, per run", async () => {
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

  it("writes each run's whole name in the legend, however long", async () => {
    const names = ['degradation-resnet20', 'degradation-resnet56-with-a-longer-name'];
    const svg = await renderCurves(names.map((name) => ({ name, rows: rows(5, 50, [40]) })));
    expect(svg).not.toContain('…');
    for (const name of names) expect(svg).toContain(`>${name}</text>`);
  });
});
