import {
  checkKnown,
  finiteNumber,
  nonNegativeInt,
  oneOf,
  positiveInt,
  positiveNumber,
} from '../validate';

/** Whether milestones count epochs or iterations (optimizer updates). */
export type ScheduleUnit = 'epoch' | 'iteration';

/**
 * A learning-rate schedule, as data (what config files and checkpoints hold).
 *
 * - `constant`: the base rate throughout.
 * - `step`: multiplied by `gamma` (default 0.1) every `every` epochs or iterations.
 * - `multistep`: multiplied by `gamma` at each milestone; the ResNet paper's
 *   CIFAR recipe is `{ kind: 'multistep', milestones: [32000, 48000], unit: 'iteration' }`.
 * - `plateau`: the ImageNet recipe of both papers, "divided by 10 when the error
 *   plateaus": multiplied by `factor` (default 0.1) when the validation error
 *   has not improved by a relative `threshold` (default 1e-4) for more than
 *   `patience` (default 10) epochs, then waits `cooldown` (default 0) epochs;
 *   never below `minLr` (default 0). PyTorch's `ReduceLROnPlateau` rule.
 * - `cosine`: half a cosine from the base rate to `minLr` (default 0) over the
 *   run (after any warm-up).
 *
 * @see He et al., arXiv 1512.03385, §3.4 (ImageNet: ÷10 on plateaus) and §4.2
 * (CIFAR: ÷10 at 32k and 48k iterations); Simonyan & Zisserman, arXiv
 * 1409.1556, §3.1; Loshchilov & Hutter, arXiv 1608.03983 (cosine, without
 * restarts): https://arxiv.org/abs/1608.03983
 */
export type ScheduleSpec =
  | {
      /** The base rate throughout. */
      kind: 'constant';
    }
  | {
      /** Multiplied by `gamma` every `every` units. */
      kind: 'step';
      /** Interval, in `unit`s. */
      every: number;
      /**
       * The factor.
       * @defaultValue 0.1
       */
      gamma?: number;
      /**
       * What `every` counts.
       * @defaultValue `'epoch'`
       */
      unit?: ScheduleUnit;
    }
  | {
      /** Multiplied by `gamma` at each milestone. */
      kind: 'multistep';
      /** Increasing epochs or iterations at which the rate is cut. */
      milestones: readonly number[];
      /**
       * The factor.
       * @defaultValue 0.1
       */
      gamma?: number;
      /**
       * What the milestones count.
       * @defaultValue `'epoch'`
       */
      unit?: ScheduleUnit;
    }
  | {
      /** "Divided by 10 when the error plateaus". */
      kind: 'plateau';
      /**
       * Epochs without improvement tolerated before a cut.
       * @defaultValue 10
       */
      patience?: number;
      /**
       * Relative improvement that counts (error below best × (1 − threshold)).
       * @defaultValue 1e-4
       */
      threshold?: number;
      /**
       * Epochs to wait after a cut before counting again.
       * @defaultValue 0
       */
      cooldown?: number;
      /**
       * The factor, in (0, 1).
       * @defaultValue 0.1
       */
      factor?: number;
      /**
       * Floor of the rate.
       * @defaultValue 0
       */
      minLr?: number;
    }
  | {
      /** Half a cosine from the base rate to `minLr` over the run. */
      kind: 'cosine';
      /**
       * The final rate.
       * @defaultValue 0
       */
      minLr?: number;
    };

/**
 * Linear warm-up in front of any schedule (Goyal et al., "Accurate, Large
 * Minibatch SGD", §2.2): the rate rises linearly from `startFactor` (default
 * 0.1) times the scheduled rate to the scheduled rate over `epochs` or `steps`.
 *
 * @see Goyal et al., arXiv 1706.02677, §2.2 (gradual warm-up): https://arxiv.org/abs/1706.02677
 */
export interface WarmupSpec {
  /**
   * Warm-up length in epochs (converted with the steps per epoch).
   * @defaultValue 0 (no warm-up, unless `steps` is given)
   */
  epochs?: number;
  /**
   * Warm-up length in iterations (takes precedence over `epochs`).
   * @defaultValue `epochs` × steps per epoch, rounded
   */
  steps?: number;
  /**
   * Starting fraction of the scheduled rate, in [0, 1].
   * @defaultValue 0.1
   */
  startFactor?: number;
}

/** The mutable part of a schedule, saved in checkpoints. */
export interface ScheduleState {
  /** The multiplier the plateau rule has reached (1 for the other schedules). */
  factor: number;
  /** Best validation error seen by the plateau rule (`null` before the first). */
  best: number | null;
  /** Epochs without improvement. */
  badEpochs: number;
  /** Epochs of cooldown left. */
  cooldownLeft: number;
}

/** How long the run is, which epoch- and run-relative schedules need. */
export interface ScheduleContext {
  /** Optimizer updates per epoch. */
  stepsPerEpoch: number;
  /** Optimizer updates in the whole run (cosine needs it). */
  totalSteps: number;
}

const WHERE = 'LearningRateSchedule';

/**
 * A resumable learning-rate schedule: the rate of every update is a pure
 * function of the update's index and of {@link ScheduleState}, which the
 * trainer checkpoints.
 *
 * @example
 * ```ts
 * const schedule = new LearningRateSchedule(0.1, { kind: 'multistep', milestones: [32000, 48000], unit: 'iteration' },
 *   { stepsPerEpoch: 391, totalSteps: 64000 });
 * schedule.at(31999); // 0.1
 * schedule.at(32000); // 0.01
 * ```
 */
export class LearningRateSchedule {
  /** The base learning rate. */
  readonly baseLr: number;
  /** The schedule's specification. */
  readonly spec: ScheduleSpec;
  /** The warm-up, if any. */
  readonly warmup: WarmupSpec | undefined;
  private readonly context: ScheduleContext;
  private readonly warmupSteps: number;
  private current: ScheduleState = { factor: 1, best: null, badEpochs: 0, cooldownLeft: 0 };

  /**
   * Checks the specification and starts the schedule at its first update
   * (plateau state: factor 1, no best error yet).
   *
   * @param baseLr - The base learning rate.
   * @param spec - The schedule; see {@link ScheduleSpec}.
   * @param context - Steps per epoch and in the run (epoch units and cosine need them).
   * @param warmup - A linear warm-up in front; default: none.
   * @throws Error naming the field, for an unknown kind or option, a non-positive rate, non-increasing milestones, a plateau factor outside (0, 1) or a warm-up start factor outside [0, 1].
   */
  constructor(baseLr: number, spec: ScheduleSpec, context: ScheduleContext, warmup?: WarmupSpec) {
    this.baseLr = positiveNumber(WHERE, 'lr', baseLr);
    this.spec = checkSchedule(spec);
    this.context = {
      stepsPerEpoch: positiveInt(WHERE, 'stepsPerEpoch', context.stepsPerEpoch),
      totalSteps: positiveInt(WHERE, 'totalSteps', context.totalSteps),
    };
    this.warmup = warmup;
    if (warmup) {
      checkKnown(`${WHERE} warmup`, warmup, ['epochs', 'steps', 'startFactor']);
      const steps =
        warmup.steps ??
        Math.round(
          finiteNumber(WHERE, 'warmup.epochs', warmup.epochs ?? 0) * context.stepsPerEpoch,
        );
      this.warmupSteps = nonNegativeInt(WHERE, 'warmup.steps', steps);
      const f = warmup.startFactor ?? 0.1;
      if (!(f >= 0 && f <= 1))
        throw new Error(`${WHERE}: warmup.startFactor must be in [0, 1]; received ${f}.`);
    } else {
      this.warmupSteps = 0;
    }
  }

  /**
   * The learning rate of an update.
   *
   * @param step - The update's index (0-based).
   * @returns The scheduled rate of that update, times the warm-up factor while warming up.
   */
  at(step: number): number {
    return this.scheduled(step) * this.warmupFactor(step);
  }

  private warmupFactor(step: number): number {
    if (step >= this.warmupSteps) return 1;
    const start = this.warmup?.startFactor ?? 0.1;
    return start + ((1 - start) * step) / this.warmupSteps;
  }

  private scheduled(step: number): number {
    const spec = this.spec;
    const base = this.baseLr;
    const position = (unit: ScheduleUnit | undefined) =>
      (unit ?? 'epoch') === 'epoch' ? Math.floor(step / this.context.stepsPerEpoch) : step;
    switch (spec.kind) {
      case 'constant':
        return base;
      case 'step':
        return base * (spec.gamma ?? 0.1) ** Math.floor(position(spec.unit) / spec.every);
      case 'multistep': {
        const at = position(spec.unit);
        return base * (spec.gamma ?? 0.1) ** spec.milestones.filter((m) => m <= at).length;
      }
      case 'plateau':
        return Math.max(base * this.current.factor, spec.minLr ?? 0);
      case 'cosine': {
        const minLr = spec.minLr ?? 0;
        const span = Math.max(1, this.context.totalSteps - this.warmupSteps);
        const t = Math.min(Math.max(step - this.warmupSteps, 0), span);
        return minLr + ((base - minLr) * (1 + Math.cos((Math.PI * t) / span))) / 2;
      }
    }
  }

  /**
   * Tells the schedule an epoch ended; only the plateau rule uses it.
   *
   * @param validationError - The epoch's validation error (top-1, any scale), or undefined without validation.
   * @returns Whether the rate was cut.
   * @see He et al., arXiv 1512.03385, §3.4 ("divided by 10 when the error plateaus"): https://arxiv.org/abs/1512.03385
   */
  epochEnd(validationError: number | undefined): boolean {
    const spec = this.spec;
    if (
      spec.kind !== 'plateau' ||
      validationError === undefined ||
      !Number.isFinite(validationError)
    )
      return false;
    const s = this.current;
    const threshold = spec.threshold ?? 1e-4;
    if (s.best === null || validationError < s.best * (1 - threshold)) {
      s.best = validationError;
      s.badEpochs = 0;
    } else {
      s.badEpochs++;
    }
    if (s.cooldownLeft > 0) {
      s.cooldownLeft--;
      s.badEpochs = 0;
    }
    if (s.badEpochs > (spec.patience ?? 10)) {
      const minFactor = (spec.minLr ?? 0) / this.baseLr;
      const next = Math.max(s.factor * (spec.factor ?? 0.1), minFactor);
      const cut = next < s.factor;
      s.factor = next;
      s.cooldownLeft = spec.cooldown ?? 0;
      s.badEpochs = 0;
      return cut;
    }
    return false;
  }

  /**
   * A copy of the mutable state, for checkpoints.
   *
   * @returns The plateau factor, best error, bad epochs and cooldown left (a copy; changing it does not affect the schedule).
   */
  state(): ScheduleState {
    return { ...this.current };
  }

  /**
   * Continues from a saved state.
   *
   * @param state - What {@link LearningRateSchedule.state} returned (copied).
   */
  restore(state: ScheduleState): void {
    this.current = { ...state };
  }
}

function checkSchedule(spec: ScheduleSpec): ScheduleSpec {
  const where = `${WHERE} schedule`;
  if (spec === null || typeof spec !== 'object')
    throw new Error(
      `${where}: expected an object such as { kind: 'step', every: 30 }; received ${String(spec)}.`,
    );
  const kind = oneOf(where, 'kind', spec.kind, [
    'constant',
    'step',
    'multistep',
    'plateau',
    'cosine',
  ]);
  switch (kind) {
    case 'constant':
      checkKnown(where, spec, ['kind']);
      break;
    case 'step': {
      const s = spec as Extract<ScheduleSpec, { kind: 'step' }>;
      checkKnown(where, s, ['kind', 'every', 'gamma', 'unit']);
      positiveInt(where, 'every', s.every);
      if (s.gamma !== undefined) positiveNumber(where, 'gamma', s.gamma);
      if (s.unit !== undefined) oneOf(where, 'unit', s.unit, ['epoch', 'iteration']);
      break;
    }
    case 'multistep': {
      const s = spec as Extract<ScheduleSpec, { kind: 'multistep' }>;
      checkKnown(where, s, ['kind', 'milestones', 'gamma', 'unit']);
      if (!Array.isArray(s.milestones) || s.milestones.length === 0)
        throw new Error(
          `${where}: milestones must be a non-empty array of increasing integers; received ${JSON.stringify(s.milestones)}.`,
        );
      s.milestones.forEach((m, i) => {
        nonNegativeInt(where, `milestones[${i}]`, m);
        if (i > 0 && m <= s.milestones[i - 1])
          throw new Error(
            `${where}: milestones must increase; received ${JSON.stringify(s.milestones)}.`,
          );
      });
      if (s.gamma !== undefined) positiveNumber(where, 'gamma', s.gamma);
      if (s.unit !== undefined) oneOf(where, 'unit', s.unit, ['epoch', 'iteration']);
      break;
    }
    case 'plateau': {
      const s = spec as Extract<ScheduleSpec, { kind: 'plateau' }>;
      checkKnown(where, s, ['kind', 'patience', 'threshold', 'cooldown', 'factor', 'minLr']);
      if (s.patience !== undefined) nonNegativeInt(where, 'patience', s.patience);
      if (s.cooldown !== undefined) nonNegativeInt(where, 'cooldown', s.cooldown);
      if (s.threshold !== undefined) finiteNumber(where, 'threshold', s.threshold);
      if (s.factor !== undefined && !(s.factor > 0 && s.factor < 1))
        throw new Error(`${where}: factor must be in (0, 1); received ${s.factor}.`);
      if (s.minLr !== undefined) finiteNumber(where, 'minLr', s.minLr);
      break;
    }
    case 'cosine': {
      const s = spec as Extract<ScheduleSpec, { kind: 'cosine' }>;
      checkKnown(where, s, ['kind', 'minLr']);
      if (s.minLr !== undefined) finiteNumber(where, 'minLr', s.minLr);
      break;
    }
  }
  return spec;
}
