import type { DataPosition } from '../data/types';
import type { EpochTotals } from './checkpoint';
import type { EvaluationResult } from './evaluate';
import type { MetricsRow } from './metrics-log';
import type { RunContext } from './options';
import type { StepInfo } from './results';
import type { UpdateResult } from './update';

/** Where a run stands: what a checkpoint saves, and what a resume restores. */
export interface RunState {
  /** Updates done. */
  step: number;
  /** The epoch in progress (epochs completed). */
  epoch: number;
  /** Where the training data continues. */
  position: DataPosition;
  /** Running sums of the epoch in progress (also those before a resume). */
  totals: EpochTotals;
  /** When the epoch in progress started (`performance.now()`), less the seconds it ran before a resume. */
  epochStarted: number;
  /** The best validation so far. */
  best: { top1Error: number; step: number } | undefined;
  /** The last checkpoint written or resumed from. */
  lastCheckpoint: string | undefined;
}

/** The totals of an epoch that has not started. */
export const NO_TOTALS: EpochTotals = {
  updates: 0,
  images: 0,
  lossSum: 0,
  correct1: 0,
  correct5: 0,
  seconds: 0,
};

/** A fresh run's state: step 0 of epoch 0. */
export function initialState(): RunState {
  return {
    step: 0,
    epoch: 0,
    position: { epoch: 0, position: 0 },
    totals: NO_TOTALS,
    epochStarted: 0,
    best: undefined,
    lastCheckpoint: undefined,
  };
}

/** `totals` with one more update of `images` images added. */
export function addUpdate(totals: EpochTotals, images: number, result: UpdateResult): EpochTotals {
  return {
    updates: totals.updates + 1,
    images: totals.images + images,
    lossSum: totals.lossSum + result.loss,
    correct1: totals.correct1 + result.correct1,
    correct5: totals.correct5 + result.correct5,
    seconds: totals.seconds,
  };
}

/** Figures over the whole epoch `epoch` so far, resumed or not. */
export function epochSummary(ctx: RunContext, state: RunState, epoch: number): StepInfo {
  const t = state.totals;
  return {
    step: state.step,
    epoch,
    loss: t.updates > 0 ? t.lossSum / t.updates : NaN,
    lr: ctx.schedule.at(Math.max(0, state.step - 1)),
    trainTop1Error: t.images > 0 ? (100 * (t.images - t.correct1)) / t.images : NaN,
    trainTop5Error: t.images > 0 ? (100 * (t.images - t.correct5)) / t.images : NaN,
    imagesPerSec: t.images / ((performance.now() - state.epochStarted) / 1000),
    totalSteps: ctx.totalSteps,
  };
}

/** The metrics row of `info`, `time` seconds into the run, with the validation's figures when there are some. */
export function metricsRow(
  kind: MetricsRow['kind'],
  info: StepInfo,
  time: number,
  validation?: EvaluationResult,
): MetricsRow {
  const row: MetricsRow = {
    kind,
    step: info.step,
    epoch: info.epoch,
    loss: info.loss,
    lr: info.lr,
    trainTop1Error: info.trainTop1Error,
    trainTop5Error: info.trainTop5Error,
    imagesPerSec: info.imagesPerSec,
    time,
  };
  if (validation)
    Object.assign(row, {
      top1Error: validation.top1Error,
      top5Error: validation.top5Error,
      valLoss: validation.loss,
    });
  return row;
}

/**
 * The progress message of an epoch's end (what `log` receives): the epoch
 * (1-based; with its updates when the run ended inside it), the mean training
 * loss, the running training top-1 error, the validation top-1 and top-5
 * errors when there was validation, and training images per second. Errors
 * are percentages, as in the metrics files.
 *
 * @example
 * `epoch 3: loss 0.4321, train top-1 error 12.50%, val top-1 error 10.00%, val top-5 error 0.00%, 812.3 images/s`
 */
export function epochMessage(
  info: StepInfo,
  stepsPerEpoch: number,
  validation?: EvaluationResult,
): string {
  const updates = info.step - info.epoch * stepsPerEpoch;
  const partial = updates < stepsPerEpoch ? ` (${updates} of ${stepsPerEpoch} updates)` : '';
  const val = validation
    ? `, val top-1 error ${validation.top1Error.toFixed(2)}%, val top-5 error ${validation.top5Error.toFixed(2)}%`
    : '';
  return (
    `epoch ${info.epoch + 1}${partial}: loss ${info.loss.toFixed(4)}, ` +
    `train top-1 error ${info.trainTop1Error.toFixed(2)}%${val}, ${info.imagesPerSec.toFixed(1)} images/s`
  );
}
