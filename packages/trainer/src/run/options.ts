import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { EvaluationData, TrainingData } from '../data/types';
import { LearningRateSchedule, type ScheduleSpec, type WarmupSpec } from '../optim/schedules';
import { SgdOptimizer, type NamedVariable, type SgdOptions } from '../optim/sgd';
import {
  checkBoolean,
  checkNonNegativeInt,
  checkOptions,
  checkPositiveInt,
  checkPositiveNumber,
  fail,
  optional,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import { DropoutSeeder } from './dropout';
import { outputsProbabilities } from './evaluate';
import type { TrainerCallbacks } from './results';

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
   * killed before its first checkpoint). A checkpoint from outside `outDir`
   * continues into it as a new run, so `outDir` must hold no run (see `overwrite`).
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
   * Where progress messages and warnings go, one line per call: the run's
   * start (model, backend, updates, batch, learning rate), a line per epoch
   * (`epoch 3: loss 0.4321, train top-1 error 12.50%, val top-1 error 10.00%,
   * val top-5 error 0.00%, 812.3 images/s`; errors are percentages, the
   * figures of the epoch's row in `metrics.jsonl`), a resume, a learning-rate
   * cut by the plateau rule, and warnings. `console.log` prints them.
   * @defaultValue nowhere (messages are dropped)
   */
  log?: (message: string) => void;
  /**
   * Anything JSON-safe to record in `run.json` (e.g. the CLI's flags).
   * @defaultValue none
   */
  config?: Record<string, unknown>;
  /**
   * Anything JSON-safe to write into every checkpoint's `state.json` as
   * `metadata`, so that a checkpoint folder is self-contained: e.g. how its
   * inputs are preprocessed (the CLI records a per-pixel mean image there).
   * @defaultValue none
   */
  checkpointMetadata?: Record<string, unknown>;
}

const WHERE = 'Trainer';

function checkResumeOption(where: string, option: string, value: unknown): string | boolean {
  if (typeof value !== 'boolean' && typeof value !== 'string') {
    fail(where, option, value, 'a checkpoint folder or true');
  }
  return value;
}

/**
 * The one declaration of {@link TrainerOptions}: its keys and their checks.
 * `unchecked` ones are checked where they are used: `model` and `data` below,
 * `schedule` and `warmup` by `LearningRateSchedule`, `optimizer` by `SgdOptimizer`.
 */
const TRAINER_SPEC = {
  model: unchecked<LayersModel>(),
  data: unchecked<TrainingData>(),
  validation: unchecked<EvaluationData | undefined>(),
  epochs: withDefault(checkPositiveInt, 1),
  steps: optional(checkPositiveInt),
  lr: withDefault(checkPositiveNumber, 0.1),
  schedule: unchecked<ScheduleSpec | undefined>(),
  warmup: unchecked<WarmupSpec | undefined>(),
  optimizer: unchecked<SgdOptions | undefined>(),
  accumulate: withDefault(checkPositiveInt, 1),
  outDir: unchecked<string | undefined>(),
  checkpointEvery: withDefault(checkNonNegativeInt, 0),
  keepLast: withDefault(checkPositiveInt, 3),
  resume: optional(checkResumeOption),
  overwrite: withDefault(checkBoolean, false),
  seed: withDefault(checkNonNegativeInt, 0),
  logEvery: withDefault(checkPositiveInt, 1),
  preciseBnBatches: withDefault(checkNonNegativeInt, 0),
  callbacks: unchecked<TrainerCallbacks | undefined>(),
  signal: unchecked<AbortSignal | undefined>(),
  handleSignals: withDefault(checkBoolean, false),
  log: unchecked<((message: string) => void) | undefined>(),
  config: unchecked<Record<string, unknown> | undefined>(),
  checkpointMetadata: unchecked<Record<string, unknown> | undefined>(),
} satisfies OptionSpec<TrainerOptions>;

/** What a run is made of, once the options are checked: fixed for the whole run. */
export interface RunContext {
  /** The options as given. */
  readonly options: TrainerOptions;
  /** Micro-batches per update. */
  readonly accumulate: number;
  /** Updates per epoch. */
  readonly stepsPerEpoch: number;
  /** The run length in updates. */
  readonly totalSteps: number;
  /** The run's seed. */
  readonly seed: number;
  /** The learning-rate schedule. */
  readonly schedule: LearningRateSchedule;
  /** The optimizer. */
  readonly optimizer: SgdOptimizer;
  /** The trainable weights, named `index:originalName`. */
  readonly variables: NamedVariable[];
  /** Whether the model outputs probabilities (else logits). */
  readonly probabilities: boolean;
  /** Seeds the Dropout layers of each training-mode pass. */
  readonly dropout: DropoutSeeder;
  /** Where messages go. */
  readonly log: (message: string) => void;
}

/** Checks that `model` is a model and `data` is training data of at least two classes. */
function checkModelAndData(options: TrainerOptions): void {
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
}

/**
 * Checks the trainer's options (in the order of {@link TrainerOptions}'s
 * errors) and builds what the run is made of: run length, schedule,
 * optimizer, trainable variables, Dropout seeding.
 */
export function resolveOptions(options: TrainerOptions): RunContext {
  const { accumulate, epochs, steps, lr, seed, resume } = checkOptions(
    WHERE,
    options,
    TRAINER_SPEC,
  );
  checkModelAndData(options);
  const stepsPerEpoch = Math.floor(options.data.batchesPerEpoch / accumulate);
  if (stepsPerEpoch === 0)
    throw new Error(
      `${WHERE}: an epoch has ${options.data.batchesPerEpoch} batches, fewer than one update of ${accumulate} micro-batches.`,
    );
  const totalSteps = steps ?? epochs * stepsPerEpoch;
  const schedule = new LearningRateSchedule(
    lr,
    options.schedule ?? { kind: 'constant' },
    { stepsPerEpoch, totalSteps },
    options.warmup,
  );
  const optimizer = new SgdOptimizer(options.optimizer);
  if (resume === true && !options.outDir)
    throw new Error(`${WHERE}: resume: true needs "outDir", the run folder to resume.`);
  const trainable = new Set(options.model.trainableWeights.map((w) => w.id));
  const variables = options.model.weights
    .filter((w) => trainable.has(w.id))
    .map((w, i) => ({ name: `${i}:${w.originalName}`, variable: w.read() as tf.Variable }));
  const log = options.log ?? (() => {});
  return {
    options,
    accumulate,
    stepsPerEpoch,
    totalSteps,
    seed,
    schedule,
    optimizer,
    variables,
    probabilities: outputsProbabilities(options.model),
    dropout: new DropoutSeeder(options.model, seed, log),
    log,
  };
}
