import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { TrainingBatch } from '../data/types';
import type { LearningRateSchedule } from '../optim/schedules';
import type { SgdOptimizer } from '../optim/sgd';
import { evaluate, type EvaluationResult } from './evaluate';
import { writeFileAtomic } from './files';
import { MetricsLog } from './metrics-log';
import { resolveOptions, type RunContext, type TrainerOptions } from './options';
import { recomputeBatchNorm } from './precise-bn';
import {
  addUpdate,
  epochMessage,
  epochSummary,
  initialState,
  metricsRow,
  NO_TOTALS,
  type RunState,
} from './progress';
import type { StepInfo, TrainResult } from './results';
import { restoreRun, saveCheckpoint } from './resume';
import { clearRun, existingRun, RunExistsError } from './run-folder';
import { updateOnce } from './update';

export type { TrainerOptions } from './options';
export {
  NonFiniteLossError,
  type EpochInfo,
  type StepInfo,
  type TrainerCallbacks,
  type TrainResult,
} from './results';
export { checkpointHooks } from './resume';

/** What one call of {@link Trainer.run} keeps across epochs. */
interface RunLoop {
  /** The metrics log (none without `outDir`). */
  readonly log: MetricsLog | undefined;
  /** When the run started (`performance.now()`). */
  readonly started: number;
  /** `tf.memory().numTensors` after the first update. */
  baseline: number | undefined;
  /** The last validation result. */
  validation: EvaluationResult | undefined;
}

/** Whether `resume` continues the run in `outDir` (true, or a checkpoint inside it), rather than starting one there. */
function resumesOwnRun(resume: string | boolean | undefined, outDir: string): boolean {
  if (resume === true) return true;
  if (typeof resume !== 'string') return false;
  const inside = relative(resolve(outDir), resolve(resume));
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside);
}

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
  private readonly ctx: RunContext;
  private readonly state: RunState = initialState();
  private stopRequested = false;
  private stopSignal: NodeJS.Signals | undefined;

  /**
   * Checks the options and sets up the optimizer and schedule; nothing runs or is written yet.
   *
   * @param options - The model, data and recipe; see {@link TrainerOptions}.
   * @throws Error naming the option, for an unknown option, a model that is
   * not a `tf.LayersModel`, data that is not {@link TrainingData}, fewer
   * batches per epoch than `accumulate`, or any out-of-range number.
   */
  constructor(options: TrainerOptions) {
    this.ctx = resolveOptions(options);
    this.totalSteps = this.ctx.totalSteps;
    this.stepsPerEpoch = this.ctx.stepsPerEpoch;
    this.optimizer = this.ctx.optimizer;
    this.schedule = this.ctx.schedule;
  }

  /** Asks the run to stop after the current update (it writes a checkpoint first); what SIGINT/SIGTERM do. */
  stop(): void {
    this.stopRequested = true;
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
    const o = this.ctx.options;
    // A run folder may be continued only from its own checkpoints.
    if (o.outDir && !resumesOwnRun(o.resume, o.outDir)) this.refuseOrClear(o.outDir);
    const log = o.outDir
      ? new MetricsLog(join(o.outDir, 'metrics.jsonl'), join(o.outDir, 'metrics.csv'))
      : undefined;
    await restoreRun(this.ctx, this.state, log);
    if (o.outDir) this.writeRunJson(o.outDir);
    this.ctx.log(this.startMessage());
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopRequested) process.exit(signal === 'SIGINT' ? 130 : 143);
      this.ctx.log(
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
    const loop: RunLoop = {
      log,
      started: performance.now(),
      baseline: undefined,
      validation: undefined,
    };
    try {
      while (this.state.step < this.totalSteps && !this.stopRequested)
        if (!(await this.runEpoch(loop))) break;
    } finally {
      if (handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      o.signal?.removeEventListener('abort', onAbort);
    }
    return this.result(loop);
  }

  /** The progress message of the run's start: model, backend, length, batch, learning rate. */
  private startMessage(): string {
    const { options: o, accumulate, schedule } = this.ctx;
    const batch =
      accumulate > 1
        ? `${o.data.batchSize * accumulate} (${accumulate} micro-batches of ${o.data.batchSize})`
        : `${o.data.batchSize}`;
    const from = this.state.step > 0 ? `, from update ${this.state.step}` : '';
    return (
      `training ${o.model.name} on backend ${tf.getBackend()}: ${this.totalSteps} updates` +
      ` (${this.stepsPerEpoch} per epoch${from}), batch ${batch}, learning rate ${schedule.baseLr}`
    );
  }

  /** Frees the optimizer's buffers (the model stays). */
  dispose(): void {
    this.optimizer.dispose();
  }

  /** A new run in `outDir`: refuses a folder that holds a run, or clears it with `overwrite`. */
  private refuseOrClear(outDir: string): void {
    const found = existingRun(outDir);
    if (found.length > 0 && !this.ctx.options.overwrite) throw new RunExistsError(outDir, found);
    if (found.length > 0) {
      this.ctx.log(`overwriting the run in ${outDir} (${found.join(', ')})`);
      clearRun(outDir);
    }
  }

  /** Writes `run.json`: the model, data and recipe of the run. */
  private writeRunJson(outDir: string): void {
    const { options: o, accumulate, schedule } = this.ctx;
    const info = {
      model: o.model.name,
      parameters: o.model.countParams(),
      classes: o.data.classes,
      batchSize: o.data.batchSize,
      accumulate,
      totalSteps: this.totalSteps,
      stepsPerEpoch: this.stepsPerEpoch,
      lr: schedule.baseLr,
      schedule: schedule.spec,
      warmup: o.warmup,
      optimizer: this.optimizer.options,
      backend: tf.getBackend(),
      config: o.config,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileAtomic(join(outDir, 'run.json'), `${JSON.stringify(info, null, 2)}\n`);
  }

  /** Runs `fn`, a user's callback, and warns when it leaves tensors behind. */
  private async leakCheck(name: string, fn: () => void | Promise<void>): Promise<void> {
    const before = tf.memory().numTensors;
    await fn();
    const after = tf.memory().numTensors;
    if (after > before)
      this.ctx.log(
        `warning: callback ${name} left ${after - before} tensors undisposed at step ${this.state.step}`,
      );
  }

  /** Updates of `epoch` done so far, also those before a resume. */
  private epochUpdates(epoch: number): number {
    return this.state.step - epoch * this.stepsPerEpoch;
  }

  /**
   * The rest of the epoch in progress, then its end. Returns false when the
   * run stopped inside the epoch (after checkpointing where the data stands).
   */
  private async runEpoch(loop: RunLoop): Promise<boolean> {
    const epoch = this.state.epoch;
    this.state.epochStarted = performance.now() - this.state.totals.seconds * 1000;
    await this.trainEpoch(loop, epoch);
    const epochDone = this.epochUpdates(epoch) >= this.stepsPerEpoch;
    const finished = this.state.step >= this.totalSteps;
    if (this.stopRequested && !epochDone && !finished) {
      await saveCheckpoint(this.ctx, this.state);
      return false;
    }
    // Epoch end, or the run's end inside an epoch (`steps`).
    await this.endEpoch(loop, epoch, epochDone || !finished);
    return true;
  }

  /** Updates until the epoch's end, the run's end or a stop request; checkpoints every `checkpointEvery` updates. */
  private async trainEpoch(loop: RunLoop, epoch: number): Promise<void> {
    const { data, checkpointEvery } = this.ctx.options;
    const position = this.state.position;
    let pending: TrainingBatch[] = [];
    try {
      for await (const batch of data.batches(
        epoch,
        position.epoch === epoch ? position.position : 0,
      )) {
        pending.push(batch);
        if (pending.length < this.ctx.accumulate) continue;
        const batches = pending;
        pending = [];
        await this.update(loop, epoch, batches);
        // The epoch's last update is checkpointed once, by the epoch end.
        const endOfEpoch = this.epochUpdates(epoch) >= this.stepsPerEpoch;
        if (endOfEpoch || this.state.step >= this.totalSteps || this.stopRequested) break;
        if (checkpointEvery && this.state.step % checkpointEvery === 0)
          await saveCheckpoint(this.ctx, this.state);
      }
    } finally {
      tf.dispose(pending.flatMap((b) => [b.images, b.labels]));
    }
  }

  /** One update from `batches` (which it disposes), its bookkeeping, step row and `onStep`. */
  private async update(loop: RunLoop, epoch: number, batches: TrainingBatch[]): Promise<void> {
    const { ctx, state } = this;
    const lr = ctx.schedule.at(state.step);
    let result;
    try {
      result = updateOnce(ctx, batches, lr, state.step, state.epoch);
    } finally {
      tf.dispose(batches.flatMap((b) => [b.images, b.labels]));
    }
    state.position = batches[batches.length - 1].next;
    state.step++;
    state.totals = addUpdate(
      state.totals,
      batches.reduce((a, b) => a + b.labels.shape[0], 0),
      result,
    );
    const info: StepInfo = { ...epochSummary(ctx, state, epoch), loss: result.loss, lr };
    if (loop.baseline === undefined) loop.baseline = tf.memory().numTensors;
    if (loop.log && state.step % (ctx.options.logEvery ?? 1) === 0)
      loop.log.append(metricsRow('step', info, (performance.now() - loop.started) / 1000));
    const onStep = ctx.options.callbacks?.onStep;
    if (onStep) await this.leakCheck('onStep', () => onStep(info));
  }

  /**
   * The end of `epoch` (or of the run, inside it): moves to the next epoch
   * when `advance`, validates, applies the plateau rule, writes the epoch row
   * and a checkpoint, calls `onEpoch`.
   */
  private async endEpoch(loop: RunLoop, epoch: number, advance: boolean): Promise<void> {
    const { ctx, state } = this;
    const o = ctx.options;
    const info = epochSummary(ctx, state, epoch);
    if (advance) {
      state.epoch = epoch + 1;
      state.position = { epoch: epoch + 1, position: 0 };
    }
    if (o.validation) {
      await recomputeBatchNorm(o.model, o.data, state.epoch, o.preciseBnBatches ?? 0, ctx.dropout);
      const validation = await evaluate(o.model, o.validation);
      loop.validation = validation;
      if (!state.best || validation.top1Error < state.best.top1Error)
        state.best = { top1Error: validation.top1Error, step: state.step };
    }
    // A run that ends inside an epoch has not reached the epoch's end (the plateau rule waits for it).
    const lrCut = state.epoch > epoch && ctx.schedule.epochEnd(loop.validation?.top1Error);
    const time = (performance.now() - loop.started) / 1000;
    loop.log?.append(metricsRow('epoch', info, time, loop.validation));
    ctx.log(epochMessage(info, this.stepsPerEpoch, o.validation ? loop.validation : undefined));
    if (lrCut)
      ctx.log(`validation error plateaued: learning rate now ${ctx.schedule.at(state.step)}`);
    if (state.epoch > epoch) {
      state.totals = NO_TOTALS;
      state.epochStarted = performance.now();
    }
    await saveCheckpoint(ctx, state, loop.validation?.top1Error);
    const onEpoch = o.callbacks?.onEpoch;
    if (onEpoch)
      await this.leakCheck('onEpoch', () =>
        onEpoch({ ...info, validation: loop.validation, lrCut }),
      );
  }

  /** How the run ended; warns when tensors grew since the first update. */
  private result(loop: RunLoop): TrainResult {
    const growth = loop.baseline === undefined ? 0 : tf.memory().numTensors - loop.baseline;
    if (growth > 0) this.ctx.log(`warning: ${growth} tensors more than after the first step`);
    const completed = this.state.step >= this.totalSteps;
    return {
      steps: this.state.step,
      epochs: this.state.epoch,
      status: completed ? 'completed' : 'stopped',
      signal: completed ? undefined : this.stopSignal,
      validation: loop.validation,
      best: this.state.best,
      checkpoint: this.state.lastCheckpoint,
      tensorGrowth: growth,
    };
  }
}

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
