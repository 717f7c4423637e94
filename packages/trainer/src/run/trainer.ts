import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { variableGrads } from '@convnets/layers';
import { Random } from '@convnets/imagenet-data';
import type { DataPosition, EvaluationData, TrainingData } from '../data/types';
import { LearningRateSchedule, type ScheduleSpec, type WarmupSpec } from '../optim/schedules';
import { SgdOptimizer, type NamedVariable, type SgdOptions } from '../optim/sgd';
import { bool, checkKnown, nonNegativeInt, positiveInt, positiveNumber } from '../validate';
import {
  architectureHash,
  assignWeights,
  compareResumeKeys,
  latestCheckpoint,
  NonFiniteWeightsError,
  pruneCheckpoints,
  readCheckpoint,
  ResumeMismatchError,
  writeCheckpoint,
  type CheckpointHooks,
  type EpochTotals,
  type ResumeKey,
} from './checkpoint';
import { countCorrect, evaluate, outputsProbabilities, type EvaluationResult } from './evaluate';
import { writeFileAtomic } from './files';
import { MetricsLog, type MetricsRow } from './metrics-log';
import { clearRun, existingRun, RunExistsError } from './run-folder';

/** What callbacks receive after each optimizer update. */
export interface StepInfo {
  /** Updates done (1 after the first). */
  readonly step: number;
  /** Current epoch (0-based). */
  readonly epoch: number;
  /** Loss of this update (mean over its micro-batches). */
  readonly loss: number;
  /** Learning rate of this update. */
  readonly lr: number;
  /** Running training top-1 error (%) over the epoch. */
  readonly trainTop1: number;
  /** Running training top-5 error (%) over the epoch. */
  readonly trainTop5: number;
  /** Training images per second over the epoch. */
  readonly imagesPerSec: number;
  /** Updates in the whole run. */
  readonly totalSteps: number;
}

/**
 * What callbacks receive after each epoch: `loss`, `trainTop1`, `trainTop5`
 * and `imagesPerSec` are over the whole epoch (before and after a resume).
 */
export interface EpochInfo extends StepInfo {
  /**
   * Validation result, when there is validation data.
   * @defaultValue absent without validation data
   */
  readonly validation?: EvaluationResult;
  /** Whether the learning rate was cut by the plateau rule after this epoch. */
  readonly lrCut: boolean;
}

/** Users' own hooks. They may be async; tensors they leave behind are reported. */
export interface TrainerCallbacks {
  /**
   * After each optimizer update.
   * @defaultValue none
   */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /**
   * After each epoch (validation and checkpoint done).
   * @defaultValue none
   */
  onEpoch?: (info: EpochInfo) => void | Promise<void>;
}

/** Options of {@link Trainer} and {@link train}. Only `model` and `data` are required. */
export interface TrainerOptions {
  /** The model to train (updated in place). Its last layer may output logits or softmax probabilities. */
  model: LayersModel;
  /** Training data ({@link folderTrainingData}, {@link arrayTrainingData}, or your own {@link TrainingData}). */
  data: TrainingData;
  /**
   * Validation data, evaluated in inference mode at every epoch end.
   * @defaultValue none: no validation (and the plateau schedule never cuts)
   */
  validation?: EvaluationData;
  /**
   * Epochs to train.
   * @defaultValue 1
   */
  epochs?: number;
  /**
   * Stop after this many updates instead (e.g. the CIFAR recipe's 64k); overrides `epochs` for the run length.
   * @defaultValue `epochs` × updates per epoch
   */
  steps?: number;
  /**
   * Base learning rate.
   * @defaultValue 0.1 (the ResNet paper's)
   */
  lr?: number;
  /**
   * Learning-rate schedule.
   * @defaultValue `{ kind: 'constant' }`
   */
  schedule?: ScheduleSpec;
  /**
   * Linear warm-up in front of the schedule.
   * @defaultValue none
   * @see Goyal et al., arXiv 1706.02677, §2.2: https://arxiv.org/abs/1706.02677
   */
  warmup?: WarmupSpec;
  /**
   * SGD settings; see {@link SgdOptions}.
   * @defaultValue momentum 0.9, weight decay 1e-4, PyTorch's momentum rule
   */
  optimizer?: SgdOptions;
  /**
   * Micro-batches whose gradients are averaged into one update: effective
   * batch = `data.batchSize × accumulate`. BN statistics are per micro-batch.
   * @defaultValue 1
   */
  accumulate?: number;
  /**
   * The run folder (`run.json`, `metrics.jsonl`, `metrics.csv`, `checkpoints/`); nothing is written without it.
   * @defaultValue none: nothing is written, and the run cannot be resumed
   */
  outDir?: string;
  /**
   * Also checkpoint every this many updates (0: at epoch ends only).
   * @defaultValue 0
   */
  checkpointEvery?: number;
  /**
   * Checkpoints kept besides the best one.
   * @defaultValue 3
   */
  keepLast?: number;
  /**
   * Continue from a checkpoint folder, or `true` for the newest in `outDir`
   * (from scratch if it has none, dropping any metrics rows left by a run
   * killed before its first checkpoint).
   * @defaultValue false: start from scratch (in an `outDir` that holds no run, see `overwrite`)
   */
  resume?: string | boolean;
  /**
   * Start from scratch even if `outDir` already holds a run: its
   * {@link RUN_FILES} are deleted first. Without it, such a folder is refused
   * with a {@link RunExistsError} and left as it was.
   * @defaultValue false
   */
  overwrite?: boolean;
  /**
   * The run's seed: Dropout masks are drawn from it (the data's own seed
   * drives shuffling and augmentation). Recorded in checkpoints; a resume
   * must use the same.
   * @defaultValue 0
   */
  seed?: number;
  /**
   * Write a step row to the metrics every this many updates.
   * @defaultValue 1
   */
  logEvery?: number;
  /**
   * Precise BN: before each validation, recompute every BN layer's running
   * mean and variance as the plain average, over this many training batches,
   * of the batches' means and (biased, as tfjs) variances — fvcore's
   * `update_bn_stats` and PyTorch's `update_bn` — instead of the exponential
   * average of training. 0 turns it off.
   * @defaultValue 0
   * @see Wu & Johnson, "Rethinking 'Batch' in BatchNorm", arXiv 2105.07576 (precise BN): https://arxiv.org/abs/2105.07576
   */
  preciseBnBatches?: number;
  /**
   * Users' hooks.
   * @defaultValue none
   */
  callbacks?: TrainerCallbacks;
  /**
   * Stops the run after the current update (a checkpoint is written).
   * @defaultValue none
   */
  signal?: AbortSignal;
  /**
   * Treat SIGINT/SIGTERM as a stop request: finish the current update, write
   * a checkpoint, return with `status: 'stopped'`. A second signal exits at once.
   * Off by default: it installs process-wide handlers for the run's duration.
   * @defaultValue false
   */
  handleSignals?: boolean;
  /**
   * Where progress messages and warnings go.
   * @defaultValue nowhere (messages are dropped)
   */
  log?: (message: string) => void;
  /**
   * Anything JSON-safe to record in `run.json` (e.g. the CLI's flags).
   * @defaultValue none
   */
  config?: Record<string, unknown>;
}

/** How a run ended. */
export interface TrainResult {
  /** Updates done in total (including those before a resume). */
  readonly steps: number;
  /** Epochs completed. */
  readonly epochs: number;
  /** `'completed'`, or `'stopped'` after a signal / abort. */
  readonly status: 'completed' | 'stopped';
  /**
   * The signal (`SIGINT` or `SIGTERM`) that stopped the run, when one did.
   * @defaultValue absent when no signal stopped the run
   */
  readonly signal?: NodeJS.Signals;
  /**
   * The last validation result, if any.
   * @defaultValue absent without validation data
   */
  readonly validation?: EvaluationResult;
  /**
   * The best validation result so far.
   * @defaultValue absent when no validation has run
   */
  readonly best?: {
    /** Its top-1 error (%). */
    readonly top1: number;
    /** The step it was measured after. */
    readonly step: number;
  };
  /**
   * The last checkpoint written (or resumed from).
   * @defaultValue absent without `outDir`
   */
  readonly checkpoint?: string;
  /** Growth of `tf.memory().numTensors` from the end of the first update to the end of the run (0 when nothing leaks). */
  readonly tensorGrowth: number;
}

/**
 * A non-finite training loss: training stops before applying the update, so the weights stay finite.
 *
 * @example
 * ```ts
 * try {
 *   await train({ model, data, epochs: 1, lr: 10 });
 * } catch (error) {
 *   if (error instanceof NonFiniteLossError) console.error(`diverged at step ${error.step} with lr ${error.lr}`);
 *   else throw error;
 * }
 * ```
 */
export class NonFiniteLossError extends Error {
  /** The update that produced it (1-based). */
  readonly step: number;
  /** Its learning rate. */
  readonly lr: number;
  /**
   * Creates the error; its message names the loss, step, epoch and learning rate, with advice.
   *
   * @param loss - The loss (NaN or ±Infinity).
   * @param step - The update that produced it (1-based).
   * @param epoch - Its epoch (0-based).
   * @param lr - Its learning rate.
   */
  constructor(loss: number, step: number, epoch: number, lr: number) {
    super(
      `training loss is ${loss} at step ${step} (epoch ${epoch}, learning rate ${lr}); stopped before applying the update. Lower the learning rate or add a warm-up.`,
    );
    this.name = 'NonFiniteLossError';
    this.step = step;
    this.lr = lr;
  }
}

type ModelLayer = LayersModel['layers'][number];

/** Every layer of a model, nested models' layers included (depth first, in model order). */
function allLayers(model: LayersModel): ModelLayer[] {
  const out: ModelLayer[] = [];
  for (const layer of model.layers) {
    const inner = (layer as unknown as { layers?: unknown }).layers;
    if (Array.isArray(inner)) out.push(...allLayers(layer as unknown as LayersModel));
    else out.push(layer);
  }
  return out;
}

/** tfjs-layers classes whose `call` passes their `seed` property to `tf.dropout`. */
const SEEDABLE_RANDOM_LAYERS = ['Dropout', 'SpatialDropout1D'];
/** tfjs-layers classes that draw unseeded random numbers in training mode. */
const UNSEEDABLE_RANDOM_LAYERS = ['GaussianNoise', 'GaussianDropout', 'AlphaDropout'];

/** First seed words of the two kinds of training-mode forward passes (updates, precise BN). */
const DROPOUT_TRAINING = 0x7a1;
const DROPOUT_PRECISE_BN = 0xb4;

const WHERE = 'Trainer';
const NO_TOTALS: EpochTotals = {
  updates: 0,
  images: 0,
  lossSum: 0,
  correct1: 0,
  correct5: 0,
  seconds: 0,
};
const OPTION_KEYS = [
  'model',
  'data',
  'validation',
  'epochs',
  'steps',
  'lr',
  'schedule',
  'warmup',
  'optimizer',
  'accumulate',
  'outDir',
  'checkpointEvery',
  'keepLast',
  'resume',
  'overwrite',
  'seed',
  'logEvery',
  'preciseBnBatches',
  'callbacks',
  'signal',
  'handleSignals',
  'log',
  'config',
];

/**
 * The training loop: SGD with momentum and weight decay, a resumable
 * learning-rate schedule, gradient accumulation, BN in training mode for
 * updates and inference mode for validation (optionally with precise BN),
 * metrics in JSON Lines and CSV, atomic checkpoints, stop on SIGINT/SIGTERM (`handleSignals`)
 * and on a non-finite loss.
 *
 * Exact resume: every random choice is a function of the position in the run
 * — shuffling and augmentation of (data seed, epoch, image), Dropout masks of
 * (run seed, step, micro-batch, layer) — and checkpoints hold the weights,
 * BN statistics, momentum buffers, schedule state and data position. On the
 * `cpu` backend, N updates in one run and N/2 + stop + resume + N/2 give
 * bitwise the same weights. (tfjs's GaussianNoise, GaussianDropout and
 * AlphaDropout layers draw unseeded random numbers; a model with them gets a
 * warning and no such guarantee.)
 *
 * @example
 * ```ts
 * const trainer = new Trainer({ model, data, validation, epochs: 10, lr: 0.1, outDir: 'runs/x' });
 * const result = await trainer.run(); // Ctrl-C: checkpoint, then result.status === 'stopped'
 * trainer.dispose();
 * ```
 * @see He et al., arXiv 1512.03385, §3.4 (ImageNet recipe) and §4.2 (CIFAR recipe).
 */
export class Trainer {
  /** The resolved run length in updates. */
  readonly totalSteps: number;
  /** Updates per epoch. */
  readonly stepsPerEpoch: number;
  /** The optimizer. */
  readonly optimizer: SgdOptimizer;
  /** The learning-rate schedule. */
  readonly schedule: LearningRateSchedule;
  private readonly options: TrainerOptions;
  private readonly accumulate: number;
  private readonly variables: NamedVariable[];
  private readonly probabilities: boolean;
  private readonly log: (message: string) => void;
  private readonly seed: number;
  private readonly dropouts: { seed?: number }[];
  private stopRequested = false;
  private stopSignal: NodeJS.Signals | undefined;
  private step = 0;
  private epoch = 0;
  private position: DataPosition = { epoch: 0, position: 0 };
  private totals: EpochTotals = NO_TOTALS;
  /** When the epoch in progress started, less the seconds it ran before a resume. */
  private epochStarted = 0;
  private best: { top1: number; step: number } | undefined;
  private lastCheckpoint: string | undefined;

  /**
   * Checks the options and sets up the optimizer and schedule; nothing runs or is written yet.
   *
   * @param options - The model, data and recipe; see {@link TrainerOptions}.
   * @throws Error naming the option, for an unknown option, a model that is
   * not a `tf.LayersModel`, data that is not {@link TrainingData}, fewer
   * batches per epoch than `accumulate`, or any out-of-range number.
   */
  constructor(options: TrainerOptions) {
    checkKnown(WHERE, options, OPTION_KEYS);
    if (!options.model || !Array.isArray(options.model.weights))
      throw new Error(
        `${WHERE}: option "model" must be a tf.LayersModel; received ${String(options.model)}.`,
      );
    if (!options.data || typeof options.data.batches !== 'function')
      throw new Error(
        `${WHERE}: option "data" must be TrainingData (see folderTrainingData / arrayTrainingData).`,
      );
    const classes = options.data.classes;
    if (classes.length < 2)
      throw new Error(
        `${WHERE}: the training data has ${classes.length} class${classes.length === 1 ? ` ("${classes[0]}")` : 'es'}; classification needs at least 2.`,
      );
    if (options.overwrite !== undefined) bool(WHERE, 'overwrite', options.overwrite);
    this.options = options;
    this.accumulate = positiveInt(WHERE, 'accumulate', options.accumulate ?? 1);
    this.stepsPerEpoch = Math.floor(options.data.batchesPerEpoch / this.accumulate);
    if (this.stepsPerEpoch === 0)
      throw new Error(
        `${WHERE}: an epoch has ${options.data.batchesPerEpoch} batches, fewer than one update of ${this.accumulate} micro-batches.`,
      );
    const epochs = positiveInt(WHERE, 'epochs', options.epochs ?? 1);
    this.totalSteps =
      options.steps !== undefined
        ? positiveInt(WHERE, 'steps', options.steps)
        : epochs * this.stepsPerEpoch;
    const lr = positiveNumber(WHERE, 'lr', options.lr ?? 0.1);
    this.schedule = new LearningRateSchedule(
      lr,
      options.schedule ?? { kind: 'constant' },
      { stepsPerEpoch: this.stepsPerEpoch, totalSteps: this.totalSteps },
      options.warmup,
    );
    this.optimizer = new SgdOptimizer(options.optimizer);
    nonNegativeInt(WHERE, 'checkpointEvery', options.checkpointEvery ?? 0);
    positiveInt(WHERE, 'keepLast', options.keepLast ?? 3);
    positiveInt(WHERE, 'logEvery', options.logEvery ?? 1);
    nonNegativeInt(WHERE, 'preciseBnBatches', options.preciseBnBatches ?? 0);
    this.seed = nonNegativeInt(WHERE, 'seed', options.seed ?? 0);
    if (options.handleSignals !== undefined) bool(WHERE, 'handleSignals', options.handleSignals);
    if (
      options.resume !== undefined &&
      typeof options.resume !== 'boolean' &&
      typeof options.resume !== 'string'
    )
      throw new Error(
        `${WHERE}: option "resume" must be a checkpoint folder or true; received ${String(options.resume)}.`,
      );
    if (options.resume === true && !options.outDir)
      throw new Error(`${WHERE}: resume: true needs "outDir", the run folder to resume.`);
    const trainable = new Set(options.model.trainableWeights.map((w) => w.id));
    this.variables = options.model.weights
      .map((w, index) => ({ w, index }))
      .filter(({ w }) => trainable.has(w.id))
      .map(({ w }, i) => ({ name: `${i}:${w.originalName}`, variable: w.read() as tf.Variable }));
    this.probabilities = outputsProbabilities(options.model);
    this.log = options.log ?? (() => {});
    const layers = allLayers(options.model);
    this.dropouts = layers.filter((l) =>
      SEEDABLE_RANDOM_LAYERS.includes(l.getClassName()),
    ) as unknown as { seed?: number }[];
    const unseedable = layers.filter((l) => UNSEEDABLE_RANDOM_LAYERS.includes(l.getClassName()));
    if (unseedable.length > 0)
      this.log(
        `warning: ${unseedable.map((l) => `${l.name} (${l.getClassName()})`).join(', ')} draw unseeded random numbers: resuming will not reproduce an uninterrupted run exactly`,
      );
  }

  /**
   * Runs `fn` (one forward pass in training mode) with every Dropout layer
   * seeded from (run seed, `parts`, layer index, the layer's own seed), then
   * puts the layers' seeds back, so that masks differ from pass to pass yet
   * are a pure function of the position in the run (what exact resume needs),
   * and the model's configuration is left as it was.
   */
  private withDropoutSeeds<T>(parts: readonly number[], fn: () => T): T {
    if (this.dropouts.length === 0) return fn();
    const saved = this.dropouts.map((d) => d.seed);
    this.dropouts.forEach(
      (d, i) => (d.seed = new Random(this.seed, ...parts, i, saved[i] ?? 0).uint32()),
    );
    try {
      return fn();
    } finally {
      this.dropouts.forEach((d, i) => (d.seed = saved[i]));
    }
  }

  /** Asks the run to stop after the current update (it writes a checkpoint first); what SIGINT/SIGTERM do. */
  stop(): void {
    this.stopRequested = true;
  }

  private resumeKey(): ResumeKey {
    const model = this.options.model;
    return {
      architecture: architectureHash(model),
      architectureName: `${model.name} (${model.countParams()} parameters, ${model.layers.length} layers)`,
      classes: [...this.options.data.classes],
      batchSize: this.options.data.batchSize,
      accumulate: this.accumulate,
      data: { ...this.options.data.fingerprint },
    };
  }

  private async restore(log: MetricsLog | undefined): Promise<void> {
    const { resume, outDir } = this.options;
    if (!resume) return;
    const path = resume === true ? await latestCheckpoint(outDir!) : resume;
    if (!path) {
      this.log(`no checkpoint in ${join(outDir!, 'checkpoints')}: starting from scratch`);
      if (log && existsSync(log.jsonlPath)) log.truncateAfter(0);
      return;
    }
    const checkpoint = await readCheckpoint(path);
    const differences = compareResumeKeys(checkpoint.state.key, this.resumeKey());
    if (checkpoint.state.seed !== this.seed)
      differences.push(
        `the seed differs (checkpoint: ${checkpoint.state.seed}, this run: ${this.seed})`,
      );
    if (differences.length > 0) throw new ResumeMismatchError(path, differences);
    assignWeights(this.options.model, checkpoint.weights, path);
    const slots = new Map<string, tf.Tensor>();
    for (const [index, value] of checkpoint.slots) {
      const v = this.variables[index];
      if (!v) throw new Error(`${path}: optimizer slot ${index} has no trainable weight.`);
      slots.set(v.name, tf.tensor(value.data, value.shape));
    }
    this.optimizer.restoreSlots(slots);
    tf.dispose([...slots.values()]);
    this.schedule.restore(checkpoint.state.schedule);
    this.step = checkpoint.state.step;
    this.epoch = checkpoint.state.epoch;
    this.position = checkpoint.state.data;
    this.best = checkpoint.state.best;
    const midEpoch = this.position.epoch === this.epoch && this.position.position > 0;
    this.totals = midEpoch ? (checkpoint.state.epochTotals ?? NO_TOTALS) : NO_TOTALS;
    this.lastCheckpoint = path;
    // Epoch rows of epochs this run will finish are written again when they end.
    log?.truncateAfter(this.step, this.step < this.totalSteps ? this.epoch : Infinity);
    this.log(`resumed from ${path} at step ${this.step} (epoch ${this.epoch})`);
  }

  private async checkpoint(valTop1?: number): Promise<void> {
    const outDir = this.options.outDir;
    if (!outDir) return;
    const dir = join(outDir, 'checkpoints');
    const model = this.options.model;
    const slots = this.optimizer.slots();
    this.lastCheckpoint = await writeCheckpointNamingLr(
      this.schedule.at(Math.max(0, this.step - 1)),
      dir,
      {
        step: this.step,
        epoch: this.epoch,
        data: this.position,
        schedule: this.schedule.state(),
        seed: this.seed,
        key: this.resumeKey(),
        valTop1,
        best: this.best,
        epochTotals: { ...this.totals, seconds: (performance.now() - this.epochStarted) / 1000 },
      },
      {
        weights: model.weights.map((w) => ({ name: w.originalName, tensor: w.read() })),
        slots: this.variables
          .map((v, index) => ({ index, name: v.name, tensor: slots.get(v.name) }))
          .filter(
            (s): s is { index: number; name: string; tensor: tf.Variable } =>
              s.tensor !== undefined,
          ),
      },
      checkpointHooks,
    );
    await pruneCheckpoints(dir, this.options.keepLast ?? 3, this.best?.step);
  }

  /** One update: `accumulate` micro-batches, averaged gradients, one SGD step. */
  private updateOnce(batches: { images: tf.Tensor4D; labels: tf.Tensor1D }[], lr: number) {
    const model = this.options.model;
    const classes = this.options.data.classes.length;
    const vars = this.variables.map((v) => v.variable);
    let sum: tf.Tensor[] | undefined;
    let lossTotal = 0;
    let correct1 = 0;
    let correct5 = 0;
    let k = 0;
    for (const { images, labels } of batches) {
      let outputs: tf.Tensor | undefined;
      const micro = k++;
      // Frees each gradient and saved activation once backward is past it (peak memory
      // about half of tf.variableGrads' on ResNet-50).
      const { value, grads } = variableGrads(() => {
        const out = this.withDropoutSeeds(
          [DROPOUT_TRAINING, this.step, micro],
          () => model.apply(images, { training: true }) as tf.Tensor2D,
        );
        outputs = tf.keep(out);
        const onehot = tf.oneHot(labels, classes);
        if (this.probabilities) {
          return tf.neg(
            tf.mean(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(out, 1e-7, 1))), 1)),
          ) as tf.Scalar;
        }
        return tf.losses.softmaxCrossEntropy(onehot, out) as tf.Scalar;
      }, vars);
      lossTotal += value.dataSync()[0];
      const c = countCorrect(outputs!.dataSync(), labels.dataSync(), classes);
      correct1 += c.top1;
      correct5 += c.top5;
      const ordered = vars.map((v) => grads[v.name]!);
      if (sum === undefined) sum = ordered;
      else {
        const previous = sum;
        sum = tf.tidy(() => previous.map((g, i) => tf.add(g, ordered[i])));
        tf.dispose([...previous, ...ordered]);
      }
      tf.dispose([value, outputs!]);
    }
    const loss = lossTotal / batches.length;
    if (!Number.isFinite(loss)) {
      tf.dispose(sum!);
      throw new NonFiniteLossError(loss, this.step + 1, this.epoch, lr);
    }
    let gradients = sum!;
    if (batches.length > 1) {
      const s = sum!;
      gradients = tf.tidy(() => s.map((g) => tf.div(g, tf.scalar(batches.length))));
      tf.dispose(s);
    }
    this.optimizer.apply(this.variables, gradients, lr);
    tf.dispose(gradients);
    return { loss, correct1, correct5 };
  }

  /** Precise BN: the BN running statistics become the plain average over `batches` training batches. */
  private async recomputeBatchNorm(count: number): Promise<void> {
    const bns = allLayers(this.options.model).filter(
      (l) => l.getClassName() === 'BatchNormalization',
    ) as unknown as {
      momentum: number;
    }[];
    if (bns.length === 0 || count === 0) return;
    const saved = bns.map((b) => b.momentum);
    let k = 0;
    // Reads from an epoch the run never reaches, so the run's own order is untouched.
    for await (const batch of this.options.data.batches(1_000_000 + this.epoch, 0)) {
      k++;
      // tfjs: moving ← moving − (moving − batch)·(1 − momentum); momentum (k−1)/k gives the running mean.
      for (const b of bns) b.momentum = (k - 1) / k;
      tf.tidy(() => {
        this.withDropoutSeeds([DROPOUT_PRECISE_BN, this.epoch, k], () =>
          this.options.model.apply(batch.images, { training: true }),
        );
      });
      tf.dispose([batch.images, batch.labels]);
      if (k >= count) break;
    }
    bns.forEach((b, i) => (b.momentum = saved[i]));
  }

  /**
   * Runs training to the end, or to a stop request (signal, `signal` option,
   * {@link Trainer.stop}), after which it writes a checkpoint and returns.
   *
   * @returns How the run ended.
   * @throws {@link ResumeMismatchError} when the checkpoint to resume differs
   * in architecture, classes, batch configuration, data or seed (naming each).
   * @throws {@link NonFiniteLossError} when a loss is NaN or infinite (the
   * update is not applied).
   * @throws {@link NonFiniteWeightsError} when the weights to checkpoint are
   * not finite (the previous checkpoint stays the newest).
   */
  async run(): Promise<TrainResult> {
    const o = this.options;
    if (o.outDir && !o.resume) {
      const found = existingRun(o.outDir);
      if (found.length > 0 && !o.overwrite) throw new RunExistsError(o.outDir, found);
      if (found.length > 0) {
        this.log(`overwriting the run in ${o.outDir} (${found.join(', ')})`);
        clearRun(o.outDir);
      }
    }
    const log = o.outDir
      ? new MetricsLog(join(o.outDir, 'metrics.jsonl'), join(o.outDir, 'metrics.csv'))
      : undefined;
    await this.restore(log);
    if (o.outDir) {
      mkdirSync(o.outDir, { recursive: true });
      writeFileAtomic(
        join(o.outDir, 'run.json'),
        `${JSON.stringify(
          {
            model: o.model.name,
            parameters: o.model.countParams(),
            classes: o.data.classes,
            batchSize: o.data.batchSize,
            accumulate: this.accumulate,
            totalSteps: this.totalSteps,
            stepsPerEpoch: this.stepsPerEpoch,
            lr: this.schedule.baseLr,
            schedule: this.schedule.spec,
            warmup: o.warmup,
            optimizer: this.optimizer.options,
            backend: tf.getBackend(),
            config: o.config,
          },
          null,
          2,
        )}\n`,
      );
    }
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopRequested) process.exit(signal === 'SIGINT' ? 130 : 143);
      this.log(
        `${signal}: finishing the current step, then writing a checkpoint (again to quit at once)`,
      );
      this.stopRequested = true;
      this.stopSignal ??= signal;
    };
    const handleSignals = o.handleSignals ?? false;
    if (handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    const onAbort = () => (this.stopRequested = true);
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) this.stopRequested = true;
    let baseline: number | undefined;
    let validation: EvaluationResult | undefined;
    const started = performance.now();
    const leakCheck = async (name: string, fn: () => void | Promise<void>) => {
      const before = tf.memory().numTensors;
      await fn();
      const after = tf.memory().numTensors;
      if (after > before)
        this.log(
          `warning: callback ${name} left ${after - before} tensors undisposed at step ${this.step}`,
        );
    };
    try {
      while (this.step < this.totalSteps && !this.stopRequested) {
        const epoch = this.epoch;
        // Updates of this epoch done so far, also those before a resume.
        const epochUpdates = () => this.step - epoch * this.stepsPerEpoch;
        this.epochStarted = performance.now() - this.totals.seconds * 1000;
        // Figures over the whole epoch, resumed or not.
        const epochInfo = (): StepInfo => {
          const t = this.totals;
          return {
            step: this.step,
            epoch,
            loss: t.updates > 0 ? t.lossSum / t.updates : NaN,
            lr: this.schedule.at(Math.max(0, this.step - 1)),
            trainTop1: t.images > 0 ? (100 * (t.images - t.correct1)) / t.images : NaN,
            trainTop5: t.images > 0 ? (100 * (t.images - t.correct5)) / t.images : NaN,
            imagesPerSec: t.images / ((performance.now() - this.epochStarted) / 1000),
            totalSteps: this.totalSteps,
          };
        };
        let pending: { images: tf.Tensor4D; labels: tf.Tensor1D; next: DataPosition }[] = [];
        const iterator = o.data.batches(
          epoch,
          this.position.epoch === epoch ? this.position.position : 0,
        );
        try {
          for await (const batch of iterator) {
            pending.push(batch);
            if (pending.length < this.accumulate) continue;
            const lr = this.schedule.at(this.step);
            let result;
            try {
              result = this.updateOnce(pending, lr);
            } finally {
              tf.dispose(pending.flatMap((b) => [b.images, b.labels]));
            }
            const n = pending.reduce((a, b) => a + b.labels.shape[0], 0);
            this.position = pending[pending.length - 1].next;
            pending = [];
            this.step++;
            const t = this.totals;
            this.totals = {
              updates: t.updates + 1,
              images: t.images + n,
              lossSum: t.lossSum + result.loss,
              correct1: t.correct1 + result.correct1,
              correct5: t.correct5 + result.correct5,
              seconds: t.seconds,
            };
            const info: StepInfo = { ...epochInfo(), loss: result.loss, lr };
            if (baseline === undefined) baseline = tf.memory().numTensors;
            if (log && this.step % (o.logEvery ?? 1) === 0) {
              log.append({
                kind: 'step',
                step: this.step,
                epoch,
                loss: result.loss,
                lr,
                trainTop1: info.trainTop1,
                trainTop5: info.trainTop5,
                imagesPerSec: info.imagesPerSec,
                time: (performance.now() - started) / 1000,
              });
            }
            if (o.callbacks?.onStep) await leakCheck('onStep', () => o.callbacks!.onStep!(info));
            // The epoch's last update is checkpointed once, by the epoch end below.
            const endOfEpoch = epochUpdates() >= this.stepsPerEpoch;
            const done = this.step >= this.totalSteps;
            if (endOfEpoch || done || this.stopRequested) break;
            if (o.checkpointEvery && this.step % o.checkpointEvery === 0) await this.checkpoint();
          }
        } finally {
          tf.dispose(pending.flatMap((b) => [b.images, b.labels]));
        }
        const epochDone = epochUpdates() >= this.stepsPerEpoch;
        const finished = this.step >= this.totalSteps;
        if (this.stopRequested && !epochDone && !finished) {
          // Stopped mid-epoch: checkpoint where the data stands.
          await this.checkpoint();
          break;
        }
        // Epoch end, or the run's end inside an epoch (`steps`): validate, one row, checkpoint.
        const info = epochInfo();
        if (epochDone || !finished) {
          this.epoch = epoch + 1;
          this.position = { epoch: epoch + 1, position: 0 };
        }
        if (o.validation) {
          await this.recomputeBatchNorm(o.preciseBnBatches ?? 0);
          validation = await evaluate(o.model, o.validation);
          if (!this.best || validation.top1 < this.best.top1)
            this.best = { top1: validation.top1, step: this.step };
        }
        // A run that ends inside an epoch has not reached the epoch's end (the plateau rule waits for it).
        const lrCut = this.epoch > epoch && this.schedule.epochEnd(validation?.top1);
        if (lrCut)
          this.log(`validation error plateaued: learning rate now ${this.schedule.at(this.step)}`);
        const row: MetricsRow = {
          kind: 'epoch',
          step: this.step,
          epoch,
          loss: info.loss,
          lr: info.lr,
          trainTop1: info.trainTop1,
          trainTop5: info.trainTop5,
          imagesPerSec: info.imagesPerSec,
          time: (performance.now() - started) / 1000,
        };
        if (validation)
          Object.assign(row, {
            top1: validation.top1,
            top5: validation.top5,
            valLoss: validation.loss,
          });
        log?.append(row);
        if (this.epoch > epoch) {
          this.totals = NO_TOTALS;
          this.epochStarted = performance.now();
        }
        await this.checkpoint(validation?.top1);
        if (o.callbacks?.onEpoch)
          await leakCheck('onEpoch', () => o.callbacks!.onEpoch!({ ...info, validation, lrCut }));
      }
    } finally {
      if (handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      o.signal?.removeEventListener('abort', onAbort);
    }
    const growth = baseline === undefined ? 0 : tf.memory().numTensors - baseline;
    if (growth > 0) this.log(`warning: ${growth} tensors more than after the first step`);
    return {
      steps: this.step,
      epochs: this.epoch,
      status: this.step >= this.totalSteps ? 'completed' : 'stopped',
      signal: this.step >= this.totalSteps ? undefined : this.stopSignal,
      validation,
      best: this.best,
      checkpoint: this.lastCheckpoint,
      tensorGrowth: growth,
    };
  }

  /** Frees the optimizer's buffers (the model stays). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

/** {@link writeCheckpoint}, with the learning rate of the last update named if the weights are not finite. */
async function writeCheckpointNamingLr(
  lr: number,
  ...args: Parameters<typeof writeCheckpoint>
): Promise<string> {
  try {
    return await writeCheckpoint(...args);
  } catch (error) {
    if (error instanceof NonFiniteWeightsError)
      throw new NonFiniteWeightsError(error.names, error.step, lr);
    throw error;
  }
}

/** Test hooks into checkpoint writing (internal). @internal */
export const checkpointHooks: CheckpointHooks = {};

/**
 * Trains a model: `new Trainer(options).run()`, with the optimizer's buffers
 * freed afterwards. See {@link Trainer} and {@link TrainerOptions}.
 *
 * @param options - The model, data and recipe.
 * @returns How the run ended.
 * @throws What {@link Trainer}'s constructor and {@link Trainer.run} throw.
 * @example
 * ```ts
 * const model = cifarResNet(20, { classifierActivation: null });
 * const data = arrayTrainingData(cifar, { batchSize: 128, padCrop: 4, flip: true });
 * await train({
 *   model, data, steps: 64000, lr: 0.1,
 *   schedule: { kind: 'multistep', milestones: [32000, 48000], unit: 'iteration' },
 *   outDir: 'runs/resnet20', resume: true,
 * });
 * ```
 * @see He et al., arXiv 1512.03385, §3.4 (SGD, momentum 0.9, weight decay 1e-4, ÷10 on plateaus) and §4.2 (CIFAR): https://arxiv.org/abs/1512.03385
 */
export async function train(options: TrainerOptions): Promise<TrainResult> {
  const trainer = new Trainer(options);
  try {
    return await trainer.run();
  } finally {
    trainer.dispose();
  }
}
