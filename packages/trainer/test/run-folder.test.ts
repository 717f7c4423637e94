import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MetricsLog,
  RunExistsError,
  arrayEvaluationData,
  arrayTrainingData,
  checkpointHooks,
  countCorrect,
  evaluate,
  latestCheckpoint,
  readCheckpoint,
  readCheckpointState,
  readMetrics,
  train,
  type MetricsRow,
  type TrainerOptions,
} from '../src';
import { copyWeights, tempDirs, tinyDataset, tinyNet } from './helpers';

// 48 images in batches of 4, 2 micro-batches per update: 6 updates per epoch, 12 in 2 epochs.
const dataset = tinyDataset(48);
const valSet = tinyDataset(12, 3, 1);
const fresh = tempDirs();
afterEach(() => {
  delete checkpointHooks.beforeRename;
});

function options(overrides: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    model: tinyNet(),
    data: arrayTrainingData(dataset, { batchSize: 4, seed: 3, padCrop: 1, flip: true }),
    validation: arrayEvaluationData(valSet),
    epochs: 2,
    lr: 0.05,
    accumulate: 2,
    handleSignals: false,
    ...overrides,
  };
}

/** Every file under a folder, by relative path, with the SHA-256 of its bytes. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = join(rel, name);
      if (statSync(join(dir, path)).isDirectory()) walk(path);
      else
        out[path] = createHash('sha256')
          .update(readFileSync(join(dir, path)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

/** Runs to `stopAt` and stops; then resumes with a fresh model to the end. Returns the run folder. */
async function stopAndResume(stopAt: number, overrides: Partial<TrainerOptions> = {}) {
  const initial = tinyNet();
  const first = tinyNet();
  copyWeights(initial, first);
  const out = fresh();
  const controller = new AbortController();
  const half = await train(
    options({
      model: first,
      outDir: out,
      signal: controller.signal,
      callbacks: { onStep: (s) => void (s.step === stopAt && controller.abort()) },
      ...overrides,
    }),
  );
  expect(half.steps).toBe(stopAt);
  const rest = await train(options({ model: tinyNet(), outDir: out, resume: true, ...overrides }));
  expect(rest.status).toBe('completed');
  return out;
}

const epochRows = (out: string) =>
  readMetrics(join(out, 'metrics.jsonl')).filter((r) => r.kind === 'epoch');

describe('run folders', () => {
  it('refuses to start a new run in a folder that holds one, leaving it byte-identical', async () => {
    const out = fresh();
    await train(options({ outDir: out, epochs: 1 }));
    const before = tree(out);
    expect(Object.keys(before)).toContain('run.json');
    const again = train(options({ outDir: out, epochs: 1 }));
    await expect(again).rejects.toBeInstanceOf(RunExistsError);
    await expect(again).rejects.toThrow(
      /already holds a run \(run\.json, metrics\.jsonl, metrics\.csv, checkpoints\); nothing was changed\. Resume it/,
    );
    expect(tree(out)).toEqual(before);
  });

  it("resuming another run's checkpoint into a folder that holds a run is refused too", async () => {
    const a = fresh();
    await train(options({ outDir: a, epochs: 1 }));
    const checkpoint = (await latestCheckpoint(a))!;
    const b = fresh();
    await train(options({ outDir: b, epochs: 1 }));
    const before = tree(b);
    await expect(
      train(options({ outDir: b, epochs: 2, resume: checkpoint })),
    ).rejects.toBeInstanceOf(RunExistsError);
    expect(tree(b)).toEqual(before);
    // Into a new folder it continues A's run from its step.
    const c = fresh();
    const result = await train(options({ outDir: c, epochs: 2, resume: checkpoint }));
    expect(result.steps).toBe(12);
    expect(readMetrics(join(c, 'metrics.jsonl'))[0].step).toBe(7);
  });

  it('overwrite: true replaces the old run: one run of rows, only its checkpoints', async () => {
    const out = fresh();
    await train(options({ outDir: out, epochs: 2 }));
    await train(options({ outDir: out, epochs: 1, overwrite: true }));
    const rows = readMetrics(join(out, 'metrics.jsonl'));
    expect(rows.filter((r) => r.kind === 'step').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['step-00000006']);
  });

  it('resume: true without a checkpoint drops the rows of a run killed before its first one', async () => {
    const out = fresh();
    const log = new MetricsLog(join(out, 'metrics.jsonl'), join(out, 'metrics.csv'));
    const row: MetricsRow = {
      kind: 'step',
      ...{ step: 1, epoch: 0, loss: 9, lr: 0.1, trainTop1Error: 50, trainTop5Error: 0 },
      ...{ imagesPerSec: 1, time: 1 },
    };
    log.append(row);
    await train(options({ outDir: out, epochs: 1, resume: true }));
    const steps = readMetrics(join(out, 'metrics.jsonl')).filter((r) => r.kind === 'step');
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps[0].loss).not.toBe(9);
  });

  it('replaces run.json and the metrics files by rename on resume, never truncating them in place', async () => {
    const out = fresh();
    const controller = new AbortController();
    await train(
      options({
        outDir: out,
        signal: controller.signal,
        callbacks: { onStep: (s) => void (s.step === 3 && controller.abort()) },
      }),
    );
    const inode = (name: string) => statSync(join(out, name)).ino;
    const before = ['run.json', 'metrics.jsonl', 'metrics.csv'].map(inode);
    await train(options({ outDir: out, resume: true }));
    const after = ['run.json', 'metrics.jsonl', 'metrics.csv'].map(inode);
    after.forEach((ino, i) =>
      expect(ino, ['run.json', 'metrics.jsonl', 'metrics.csv'][i]).not.toBe(before[i]),
    );
    expect(readdirSync(out).filter((n) => n.includes('.tmp'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).totalSteps).toBe(12);
  });

  it('reads metrics rows and checkpoints written before the error fields were named …Error', async () => {
    const out = fresh();
    await train(options({ outDir: out, epochs: 1 }));
    // Rewrite the run in the old spelling: trainTop1/top1 in the rows, valTop1/best.top1 in state.json.
    const rows = readMetrics(join(out, 'metrics.jsonl'));
    const legacy = (r: MetricsRow) =>
      JSON.stringify(r).replace(/"(trainTop[15]|top[15])Error"/g, '"$1"');
    writeFileSync(join(out, 'metrics.jsonl'), rows.map((r) => `${legacy(r)}\n`).join(''));
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toContain('"top1":');
    expect(readMetrics(join(out, 'metrics.jsonl'))).toEqual(rows);
    const path = (await latestCheckpoint(out))!;
    const state = JSON.parse(readFileSync(join(path, 'state.json'), 'utf8'));
    const { valTop1Error, best } = state;
    delete state.valTop1Error;
    writeFileSync(
      join(path, 'state.json'),
      JSON.stringify({
        ...state,
        valTop1: valTop1Error,
        best: { top1: best.top1Error, step: best.step },
      }),
    );
    const read = await readCheckpointState(path);
    expect(read.valTop1Error).toBe(valTop1Error);
    expect(read.best).toEqual(best);
  });

  it('writes checkpointMetadata into every checkpoint, and none without it', async () => {
    const out = fresh();
    const metadata = { preprocessing: { kind: 'pixel-mean', mean: [0.5, 0.25] } };
    await train(options({ outDir: out, epochs: 1, checkpointMetadata: metadata }));
    const path = (await latestCheckpoint(out))!;
    expect((await readCheckpointState(path)).metadata).toEqual(metadata);
    const plain = fresh();
    await train(options({ outDir: plain, epochs: 1 }));
    expect((await readCheckpointState((await latestCheckpoint(plain))!)).metadata).toBeUndefined();
  });

  it('names the file and line of a malformed metrics row, and ignores a last line cut short', () => {
    const out = fresh();
    const path = join(out, 'metrics.jsonl');
    const good = JSON.stringify({ kind: 'step', step: 1 });
    writeFileSync(path, `${good}\n${good}\n{"kind":"st`);
    expect(readMetrics(path)).toHaveLength(2);
    writeFileSync(path, `${good}\n{"kind":\n${good}\n`);
    expect(() => readMetrics(path)).toThrow(`${path}, line 2: not a metrics row`);
  });
});

describe('resume mid-epoch', () => {
  it('checkpoints the end of the resumed epoch once, and writes one epoch row per epoch', async () => {
    let writes = 0;
    checkpointHooks.beforeRename = async () => void writes++;
    const out = await stopAndResume(5, { checkpointEvery: 3 });
    // Steps 3 and 5 (the stop), then 6 (epoch end, not also as periodic), 9 and 12.
    expect(writes).toBe(5);
    const rows = epochRows(out);
    expect(rows.map((r) => [r.epoch, r.step])).toEqual([
      [0, 6],
      [1, 12],
    ]);
    rows.forEach((r) => expect(Number.isFinite(r.loss)).toBe(true));
  });

  it('resumed inside the last epoch, still validates at the end and writes its epoch row', async () => {
    const out = await stopAndResume(8);
    expect(epochRows(out).map((r) => r.epoch)).toEqual([0, 1]);
    expect(epochRows(out)[1].top1Error).toBeTypeOf('number');
    const final = await readCheckpoint((await latestCheckpoint(out))!);
    expect(final.state.step).toBe(12);
    expect(final.state.valTop1Error).toBeTypeOf('number');
  });

  it('a run that ends inside an epoch (steps) validates and writes a row for it', async () => {
    const out = fresh();
    await train(options({ outDir: out, steps: 9 }));
    expect(epochRows(out).map((r) => [r.epoch, r.step])).toEqual([
      [0, 6],
      [1, 9],
    ]);
    expect(epochRows(out)[1].top1Error).toBeTypeOf('number');
  });

  it("epoch rows hold the epoch's mean loss and whole-epoch training error, resumed or not", async () => {
    const straight = fresh();
    const reference = tinyNet();
    await train(options({ model: reference, outDir: straight }));
    const rows = readMetrics(join(straight, 'metrics.jsonl'));
    for (const epoch of [0, 1]) {
      const steps = rows.filter((r) => r.kind === 'step' && r.epoch === epoch);
      const mean = steps.reduce((s, r) => s + r.loss, 0) / steps.length;
      const row = rows.find((r) => r.kind === 'epoch' && r.epoch === epoch)!;
      expect(row.loss).toBeCloseTo(mean, 10);
      expect(row.trainTop1Error).toBe(steps.at(-1)!.trainTop1Error);
    }
    // Stopped mid-epoch and resumed: the same figures (the run is bitwise the same).
    const split = await stopAndResume(4);
    const pick = (out: string) =>
      epochRows(out).map((r) => [r.loss, r.trainTop1Error, r.trainTop5Error]);
    expect(pick(split)).toEqual(pick(straight));
  });
});

describe('scoring', () => {
  it('never counts a tied or NaN score as correct', () => {
    // Row 1: tie between the label and another class; row 2: NaN; row 3: the label alone highest.
    const scores = [0.5, 0.5, 0, NaN, 0.2, 0.1, 0.1, 0.7, 0.2];
    expect(countCorrect(scores, [0, 1, 1], 3)).toEqual({ top1: 1, top5: 2 });
    // Six classes, all equal: five rivals tie with the label, so not even top-5.
    expect(countCorrect([1, 1, 1, 1, 1, 1], [2], 6)).toEqual({ top1: 0, top5: 0 });
  });

  it('scores all-zero and all-NaN weights at 100% top-1 error', async () => {
    const start = tf.memory().numTensors;
    const validation = arrayEvaluationData(tinyDataset(12, 6, 1));
    for (const value of [0, NaN]) {
      const model = tinyNet({ classes: 6 });
      tf.tidy(() => model.weights.forEach((w) => w.write(tf.fill(w.shape as number[], value))));
      const result = await evaluate(model, validation);
      expect(result.top1Error, `weights ${value}`).toBe(100);
      expect(result.top5Error, `weights ${value}`).toBe(100);
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(start);
  });

  it('refuses a training set of one class, naming it', async () => {
    const one = { ...tinyDataset(8, 1), classes: ['cat'] };
    await expect(
      train(options({ data: arrayTrainingData(one, { batchSize: 4 }) })),
    ).rejects.toThrow(/the training data has 1 class \("cat"\); classification needs at least 2/);
  });
});
