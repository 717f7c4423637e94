import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NonFiniteLossError,
  ResumeMismatchError,
  arrayEvaluationData,
  arrayTrainingData,
  latestCheckpoint,
  readMetrics,
  train,
  type ArrayDataset,
  type EpochInfo,
  type TrainerOptions,
} from '../src';
import { copyWeights, snapshot, tempDirs, tinyDataset, tinyNet } from './helpers';

const dataset = tinyDataset(48);
const valSet = tinyDataset(12, 3, 1);
const fresh = tempDirs();

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

  /** Trains `net()` for 12 steps straight, and again as 5 steps + stop + resume (fresh weights) + 7 steps. */
  async function straightAndResumed(
    net: () => tfl.LayersModel,
    overrides: Partial<TrainerOptions> = {},
  ) {
    const reference = net();
    const initial = net();
    copyWeights(reference, initial);
    const straight = fresh();
    const whole = await train(options({ model: reference, outDir: straight, ...overrides }));
    expect(whole.status).toBe('completed');
    expect(whole.steps).toBe(12);

    const first = net();
    copyWeights(initial, first);
    const split = fresh();
    const controller = new AbortController();
    const half = await train(
      options({
        model: first,
        outDir: split,
        signal: controller.signal,
        callbacks: { onStep: (s) => void (s.step === 5 && controller.abort()) },
        ...overrides,
      }),
    );
    expect(half.status).toBe('stopped');
    expect(half.steps).toBe(5);

    const resumed = net(); // fresh weights: everything must come from the checkpoint
    const rest = await train(
      options({ model: resumed, outDir: split, resume: true, ...overrides }),
    );
    expect(rest.status).toBe('completed');
    return { reference, resumed, straight, split };
  }

  const bitwiseEqual = (a: tfl.LayersModel, b: tfl.LayersModel) => {
    const [wa, wb] = [snapshot(a), snapshot(b)];
    expect(wb.length).toBe(wa.length);
    wa.forEach((w, i) =>
      expect(Buffer.from(wb[i].buffer).equals(Buffer.from(w.buffer)), `weight ${i}`).toBe(true),
    );
  };

  it('exact resume: N steps ≡ N/2 steps, stop, resume, N/2 steps, bitwise', async () => {
    const { reference, resumed, straight, split } = await straightAndResumed(() => tinyNet());
    bitwiseEqual(reference, resumed);
    // The resumed run's log continues the first: same step rows, same losses.
    const rowsA = readMetrics(join(straight, 'metrics.jsonl')).map((r) => [r.kind, r.step, r.loss]);
    const rowsB = readMetrics(join(split, 'metrics.jsonl')).map((r) => [r.kind, r.step, r.loss]);
    expect(rowsB).toEqual(rowsA);
    expect(readFileSync(join(split, 'metrics.csv'), 'utf8').split('\n')[0]).toMatch(
      /^kind,step,epoch,loss,lr/,
    );
    const epochRow = readMetrics(join(straight, 'metrics.jsonl')).find((r) => r.kind === 'epoch')!;
    expect(epochRow.top1Error).toBeTypeOf('number');
    expect(epochRow.top5Error).toBeTypeOf('number');
  });

  it('exact resume with dropout: masks are a function of (seed, step), the layer config is untouched', async () => {
    const net = () => tinyNet({ dropout: 0.5 });
    const { reference, resumed, split } = await straightAndResumed(net);
    bitwiseEqual(reference, resumed);
    const dropout = resumed.layers.find((l) => l.getClassName() === 'Dropout')!;
    expect((dropout.getConfig() as { seed?: number }).seed).toBeUndefined();

    // Dropout is really at work, and driven by the run's seed: another seed, other weights.
    const a = net();
    const b = net();
    copyWeights(a, b);
    await train(options({ model: a, epochs: 1, seed: 0 }));
    await train(options({ model: b, epochs: 1, seed: 1 }));
    expect(snapshot(a).at(-2)).not.toEqual(snapshot(b).at(-2));

    // A resume must use the run's seed.
    await expect(
      train(options({ model: net(), resume: (await latestCheckpoint(split))!, seed: 1 })),
    ).rejects.toThrow(/the seed differs \(checkpoint: 0, this run: 1\)/);
  });

  it("precise BN: running statistics become the plain average of N batches' mean and variance", async () => {
    // BN sees the images themselves: 24 images of 2×2×2, batches of 4 in order.
    const n = 24;
    const images = new Float32Array(n * 8);
    for (let i = 0; i < images.length; i++)
      images[i] = ((i * 7) % 11) / 3 + Math.floor(i / 8) * 0.25;
    const data: ArrayDataset = {
      images,
      imageShape: [2, 2, 2],
      labels: Array.from({ length: n }, (_, i) => i % 3),
      classes: ['a', 'b', 'c'],
    };
    const x = tfl.input({ shape: [2, 2, 2] });
    const bn = tfl.layers.batchNormalization({ momentum: 0.9 });
    const y = tfl.layers
      .dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) })
      .apply(tfl.layers.flatten().apply(bn.apply(x)) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: x, outputs: y });
    const batches = 3;
    await train({
      model,
      data: arrayTrainingData(data, { batchSize: 4, shuffle: false }),
      validation: arrayEvaluationData(data),
      epochs: 1,
      lr: 0.01,
      preciseBnBatches: batches,
      handleSignals: false,
    });
    // By hand: per channel, each of the first 3 batches' mean and (biased, as tfjs's BN) variance, averaged.
    const expectedMean = [0, 0];
    const expectedVar = [0, 0];
    for (let b = 0; b < batches; b++)
      for (let c = 0; c < 2; c++) {
        const values: number[] = [];
        for (let i = b * 4; i < (b + 1) * 4; i++)
          for (let p = 0; p < 4; p++) values.push(images[i * 8 + p * 2 + c]);
        const mean = values.reduce((s, v) => s + v, 0) / values.length;
        const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
        expectedMean[c] += mean / batches;
        expectedVar[c] += variance / batches;
      }
    const [, , movingMean, movingVar] = bn.getWeights().map((w) => Array.from(w.dataSync()));
    movingMean.forEach((m, c) => expect(m).toBeCloseTo(expectedMean[c], 5));
    movingVar.forEach((v, c) => expect(v).toBeCloseTo(expectedVar[c], 5));
    expect((bn as unknown as { momentum: number }).momentum).toBe(0.9); // put back
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

  it('sends a start line and a line per epoch to `log`, with the figures of the metrics and the result', async () => {
    const out = fresh();
    const messages: string[] = [];
    const epochs: EpochInfo[] = [];
    const model = tinyNet();
    const result = await train(
      options({
        model,
        outDir: out,
        log: (m) => messages.push(m),
        callbacks: { onEpoch: (e) => void epochs.push(e) },
      }),
    );
    expect(messages[0]).toBe(
      `training ${model.name} on backend cpu: 12 updates (6 per epoch), batch 8 (2 micro-batches of 4), learning rate 0.05`,
    );
    const lines = messages.filter((m) => m.startsWith('epoch '));
    const rows = readMetrics(join(out, 'metrics.jsonl')).filter((r) => r.kind === 'epoch');
    expect(lines).toHaveLength(2);
    expect(rows).toHaveLength(2);
    const pattern =
      /^epoch (\d+): loss (\S+), train top-1 error (\S+)%, val top-1 error (\S+)%, val top-5 error (\S+)%, (\S+) images\/s$/;
    lines.forEach((line, i) => {
      const m = pattern.exec(line);
      expect(m, line).not.toBeNull();
      const row = rows[i];
      expect(m!.slice(1)).toEqual([
        String(row.epoch + 1),
        row.loss.toFixed(4),
        row.trainTop1Error.toFixed(2),
        row.top1Error!.toFixed(2),
        row.top5Error!.toFixed(2),
        row.imagesPerSec.toFixed(1),
      ]);
      expect(m![2]).toBe(epochs[i].loss.toFixed(4));
      expect(m![4]).toBe(epochs[i].validation!.top1Error.toFixed(2));
    });
    // The last line's validation is the result's.
    expect(lines[1]).toContain(`val top-1 error ${result.validation!.top1Error.toFixed(2)}%`);
    expect(lines[1]).toContain(`val top-5 error ${result.validation!.top5Error.toFixed(2)}%`);

    // No validation data: no validation figures; a run that ends inside an epoch says so.
    const partial: string[] = [];
    await train(
      options({
        model: tinyNet(),
        validation: undefined,
        schedule: { kind: 'constant' },
        epochs: undefined,
        steps: 8,
        log: (m) => partial.push(m),
      }),
    );
    expect(partial[0]).toMatch(/^training \S+ on backend cpu: 8 updates \(6 per epoch\), /);
    expect(partial.filter((m) => m.startsWith('epoch '))).toEqual([
      expect.stringMatching(/^epoch 1: loss \S+, train top-1 error \S+%, \S+ images\/s$/),
      expect.stringMatching(
        /^epoch 2 \(2 of 6 updates\): loss \S+, train top-1 error \S+%, \S+ images\/s$/,
      ),
    ]);
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
