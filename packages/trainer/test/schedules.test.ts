import { describe, expect, it } from 'vitest';
import { LearningRateSchedule } from '../src';

const context = { stepsPerEpoch: 100, totalSteps: 1000 };

describe('LearningRateSchedule', () => {
  it('multistep over iterations: the ResNet CIFAR recipe (÷10 at 32k and 48k)', () => {
    const s = new LearningRateSchedule(
      0.1,
      { kind: 'multistep', milestones: [32000, 48000], unit: 'iteration' },
      { stepsPerEpoch: 391, totalSteps: 64000 },
    );
    expect(s.at(0)).toBe(0.1);
    expect(s.at(31999)).toBe(0.1);
    expect(s.at(32000)).toBe(0.1 * 0.1);
    expect(s.at(47999)).toBe(0.1 * 0.1);
    expect(s.at(48000)).toBe(0.1 * 0.1 ** 2);
    expect(s.at(63999)).toBe(0.1 * 0.1 ** 2);
  });

  it('step over epochs', () => {
    const s = new LearningRateSchedule(0.1, { kind: 'step', every: 3, gamma: 0.5 }, context);
    expect([0, 299, 300, 599, 600, 999].map((i) => s.at(i))).toEqual([
      0.1,
      0.1,
      0.05,
      0.05,
      0.025,
      0.1 * 0.5 ** 3,
    ]);
  });

  it('cosine from the base rate to minLr over the run', () => {
    const s = new LearningRateSchedule(0.1, { kind: 'cosine', minLr: 0.001 }, context);
    expect(s.at(0)).toBe(0.1);
    expect(s.at(500)).toBeCloseTo(0.001 + 0.099 / 2, 15);
    expect(s.at(1000)).toBeCloseTo(0.001, 15);
    expect(s.at(250)).toBeCloseTo(0.001 + (0.099 * (1 + Math.cos(Math.PI / 4))) / 2, 15);
  });

  it('linear warm-up in front of any schedule (Goyal et al.)', () => {
    const s = new LearningRateSchedule(0.4, { kind: 'multistep', milestones: [5] }, context, {
      epochs: 1,
      startFactor: 0.25,
    });
    expect(s.at(0)).toBe(0.4 * 0.25);
    expect(s.at(50)).toBeCloseTo(0.4 * (0.25 + 0.75 * 0.5), 15);
    expect(s.at(100)).toBe(0.4);
    expect(s.at(500)).toBeCloseTo(0.04, 15);
    const cosine = new LearningRateSchedule(0.1, { kind: 'cosine' }, context, { steps: 100 });
    expect(cosine.at(100)).toBe(0.1);
    expect(cosine.at(550)).toBeCloseTo(0.05, 15);
  });

  it('plateau: ÷10 after `patience` epochs without improvement, with cooldown, resumable', () => {
    const spec = { kind: 'plateau', patience: 2, cooldown: 1, threshold: 0.01 } as const;
    const s = new LearningRateSchedule(0.1, spec, context);
    const errors = [50, 40, 39.9, 39.8, 39.7, 30, 30, 30, 30, 30];
    const rates: number[] = [];
    let resumed: LearningRateSchedule | undefined;
    errors.forEach((e, i) => {
      s.epochEnd(e);
      rates.push(s.at((i + 1) * 100));
      if (i === 5) {
        resumed = new LearningRateSchedule(0.1, spec, context);
        resumed.restore(JSON.parse(JSON.stringify(s.state())));
      } else if (resumed) resumed.epochEnd(e);
    });
    // 40 → 39.9/39.8/39.7 are within the 1% threshold: bad epochs 1, 2, 3 → cut after the third.
    expect(rates.slice(0, 5)).toEqual([0.1, 0.1, 0.1, 0.1, 0.1 * 0.1]);
    // 30 improves (and uses up the one-epoch cooldown); then three bad epochs before the next cut.
    expect(rates.slice(5, 8).every((r) => Math.abs(r - 0.01) < 1e-15)).toBe(true);
    expect(rates[8]).toBeCloseTo(0.001, 15);
    expect(rates[9]).toBeCloseTo(0.001, 15);
    expect(resumed!.state()).toEqual(s.state());
  });

  it('rejects malformed schedules with a clear message', () => {
    expect(
      () => new LearningRateSchedule(0.1, { kind: 'multistep', milestones: [5, 3] }, context),
    ).toThrow(
      /option "milestones" must be a non-empty array of increasing non-negative integers; received \[5, 3\]/,
    );
    expect(() => new LearningRateSchedule(0.1, { kind: 'nope' } as never, context)).toThrow(
      /option "kind" must be one of/,
    );
    expect(() => new LearningRateSchedule(-1, { kind: 'constant' }, context)).toThrow(
      /option "lr" must be a finite number greater than 0/,
    );
  });
});
