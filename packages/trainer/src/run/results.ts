import type { EvaluationResult } from './evaluate';

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
  readonly trainTop1Error: number;
  /** Running training top-5 error (%) over the epoch. */
  readonly trainTop5Error: number;
  /** Training images per second over the epoch. */
  readonly imagesPerSec: number;
  /** Updates in the whole run. */
  readonly totalSteps: number;
}

/**
 * What callbacks receive after each epoch: `loss`, `trainTop1Error`, `trainTop5Error`
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
    readonly top1Error: number;
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
