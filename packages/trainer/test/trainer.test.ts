import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NonFiniteLossError,
  ResumeMismatchError,
  arrayEvaluationData,
  arrayTrainingData,
  latestCheckpoint,
  readMetrics,
  train,
  type TrainerOptions,
} from '../src';
import { copyWeights, snapshot, tempDir, tinyDataset, tinyNet } from './helpers';

const dataset = tinyDataset(48);
const valSet = tinyDataset(12, 3, 1);
const dirs: string[] = [];
const fresh = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function options(
  overrides: Partial<TrainerOptions> & Pick<TrainerOptions, 'model'>,
): TrainerOptions {
  return {
    data: arrayTrainingData(dataset, { batchSize: 4, seed: 3, padCrop: 1, flip: true }),
    validation: arrayEvaluationData(valSet),
    epochs: 2,
    lr: 0.05,
    schedule: { kind: 'plateau', patience: 0 },
    warmup: { steps: 3 },
    optimizer: { momentum: 0.9, weightDecay: 1e-3, excludeBatchNorm: true },
    accumulate: 2,
    handleSignals: false,
    ...overrides,
  };
}

describe('Trainer', () => {
  it('gradient accumulation: 2 micro-batches of 64 give the update of one batch of 128', async () => {
    const big = tinyDataset(128, 3, 5);
    const a = tinyNet({ batchNorm: false });
    const b = tinyNet({ batchNorm: false });
    copyWeights(a, b);
    const common = {
      epochs: 1,
      lr: 0.1,
      optimizer: { momentum: 0.9, weightDecay: 1e-4 },
      handleSignals: false,
    } as const;
    await train({
      ...common,
      model: a,
      data: arrayTrainingData(big, { batchSize: 128, shuffle: false }),
    });
    await train({
      ...common,
      model: b,
      data: arrayTrainingData(big, { batchSize: 64, shuffle: false }),
      accumulate: 2,
    });
    const [wa, wb] = [snapshot(a), snapshot(b)];
    wa.forEach((w, i) => w.forEach((x, k) => expect(wb[i][k]).toBeCloseTo(x, 5)));
    // …and they did move.
    expect(snapshot(tinyNet({ batchNorm: false }))[0]).not.toEqual(wa[0]);
  });

  it('exact resume: N steps ≡ N/2 steps, stop, resume, N/2 steps, bitwise', async () => {
    const reference = tinyNet();
    const initial = tinyNet();
    copyWeights(reference, initial);
    const straight = fresh();
    const whole = await train(options({ model: reference, outDir: straight }));
    expect(whole.status).toBe('completed');
    expect(whole.steps).toBe(12);

    const first = tinyNet();
    copyWeights(initial, first);
    const split = fresh();
    const controller = new AbortController();
    const half = await train(
      options({
        model: first,
        outDir: split,
        signal: controller.signal,
        callbacks: { onStep: (s) => void (s.step === 5 && controller.abort()) },
      }),
    );
    expect(half.status).toBe('stopped');
    expect(half.steps).toBe(5);

    const second = tinyNet(); // fresh weights: everything must come from the checkpoint
    const rest = await train(options({ model: second, outDir: split, resume: true }));
    expect(rest.status).toBe('completed');
    const [ws, wr] = [snapshot(reference), snapshot(second)];
    ws.forEach((w, i) =>
      expect(Buffer.from(wr[i].buffer).equals(Buffer.from(w.buffer))).toBe(true),
    );
    // The resumed run's log continues the first: same step rows, same losses.
    const rowsA = readMetrics(join(straight, 'metrics.jsonl')).map((r) => [r.kind, r.step, r.loss]);
    const rowsB = readMetrics(join(split, 'metrics.jsonl')).map((r) => [r.kind, r.step, r.loss]);
    expect(rowsB).toEqual(rowsA);
    expect(readFileSync(join(split, 'metrics.csv'), 'utf8').split('\n')[0]).toMatch(
      /^kind,step,epoch,loss,lr/,
    );
    const epochRow = readMetrics(join(straight, 'metrics.jsonl')).find((r) => r.kind === 'epoch')!;
    expect(epochRow.top1).toBeTypeOf('number');
    expect(epochRow.top5).toBeTypeOf('number');
  });

  it('refuses a mismatched resume, naming each difference', async () => {
    const out = fresh();
    await train(options({ model: tinyNet(), outDir: out, epochs: 1 }));
    const checkpoint = (await latestCheckpoint(out))!;
    const attempt = (o: Partial<TrainerOptions>) =>
      train(options({ model: tinyNet(), resume: checkpoint, ...o }));
    await expect(attempt({ model: tinyNet({ batchNorm: false }) })).rejects.toThrow(
      /the architecture differs/,
    );
    await expect(
      attempt({
        data: arrayTrainingData(dataset, { batchSize: 6, seed: 3, padCrop: 1, flip: true }),
      }),
    ).rejects.toThrow(/the batch size differs \(checkpoint: 4, this run: 6\)/);
    await expect(attempt({ accumulate: 1 })).rejects.toThrow(/gradient accumulation differs/);
    const renamed = { ...dataset, classes: ['c0', 'cX', 'c2'] };
    await expect(
      attempt({
        data: arrayTrainingData(renamed, { batchSize: 4, seed: 3, padCrop: 1, flip: true }),
      }),
    ).rejects.toThrow(/the class list differs at index 1 \(checkpoint: "c1", this run: "cX"\)/);
    await expect(
      attempt({ model: tinyNet({ batchNorm: false }), accumulate: 1 }),
    ).rejects.toBeInstanceOf(ResumeMismatchError);
  });

  it('stops on a non-finite loss, naming the step and learning rate, and never checkpoints it', async () => {
    const poisoned = { ...dataset, images: dataset.images.slice() };
    poisoned.images.fill(NaN, 0, 8 * 8 * 3 * 48);
    const out = fresh();
    const run = train(
      options({
        model: tinyNet(),
        outDir: out,
        data: arrayTrainingData(poisoned, { batchSize: 4 }),
        warmup: undefined,
      }),
    );
    await expect(run).rejects.toThrow(NonFiniteLossError);
    await expect(run).rejects.toThrow(
      /training loss is NaN at step 1 \(epoch 0, learning rate 0\.05\)/,
    );
    expect(readdirSync(out).includes('checkpoints')).toBe(false);
  });

  it('keeps tf.memory().numTensors constant across steps and reports a leaking callback', async () => {
    const counts: number[] = [];
    const messages: string[] = [];
    const leaked: tf.Tensor[] = [];
    const result = await train(
      options({
        model: tinyNet(),
        outDir: fresh(),
        checkpointEvery: 2,
        log: (m) => messages.push(m),
        callbacks: { onStep: () => void counts.push(tf.memory().numTensors) },
      }),
    );
    expect(result.tensorGrowth).toBe(0);
    expect(new Set(counts.slice(1)).size).toBe(1);
    await train(
      options({
        model: tinyNet(),
        epochs: 1,
        log: (m) => messages.push(m),
        callbacks: { onStep: () => void leaked.push(tf.ones([2])) },
      }),
    );
    expect(messages.some((m) => /callback onStep left 1 tensors undisposed/.test(m))).toBe(true);
    tf.dispose(leaked);
  });

  it('keeps the last K checkpoints and the best one', async () => {
    const out = fresh();
    await train(
      options({
        model: tinyNet(),
        outDir: out,
        epochs: 3,
        checkpointEvery: 1,
        keepLast: 2,
        accumulate: 1,
      }),
    );
    const names = readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('step-'));
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names.length).toBeLessThanOrEqual(3);
    expect(names).toContain('step-00000036');
  });
});
