import {
  checkFiniteNumber,
  checkNonNegativeNumber,
  checkNonNegativeInt,
  checkOneOf,
  checkOptions,
  checkPositiveInt,
  checkPositiveNumber,
  checkProbability,
  fail,
  numberCheck,
  oneOf,
  optional,
  unchecked,
  type Check,
  type OptionSpec,
} from '@convnets/validate';

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
    this.baseLr = checkPositiveNumber(WHERE, 'lr', baseLr);
    this.spec = checkSchedule(spec);
    this.context = {
      stepsPerEpoch: checkPositiveInt(WHERE, 'stepsPerEpoch', context.stepsPerEpoch),
      totalSteps: checkPositiveInt(WHERE, 'totalSteps', context.totalSteps),
    };
    this.warmup = warmup;
    if (warmup) {
      const w = checkOptions(`${WHERE} warmup`, warmup, WARMUP_SPEC);
      this.warmupSteps = w.steps ?? Math.round((w.epochs ?? 0) * context.stepsPerEpoch);
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

const UNIT = optional(oneOf(['epoch', 'iteration'] as const));

function checkMilestones(where: string, option: string, value: unknown): readonly number[] {
  const expected = 'a non-empty array of increasing non-negative integers';
  if (!Array.isArray(value) || value.length === 0) fail(where, option, value, expected);
  value.forEach((m, i) => {
    checkNonNegativeInt(where, `${option}[${i}]`, m);
    if (i > 0 && m <= value[i - 1]) fail(where, option, value, expected);
  });
  return value;
}

const checkOpenUnitInterval = numberCheck((v) => v > 0 && v < 1, 'a number in (0, 1)');

type Spec<K extends ScheduleSpec['kind']> = OptionSpec<Extract<ScheduleSpec, { kind: K }>>;

/** The one declaration of each {@link ScheduleSpec} kind: its keys and their checks. */
const SCHEDULE_SPECS = {
  constant: { kind: unchecked<'constant'>() } satisfies Spec<'constant'>,
  step: {
    kind: unchecked<'step'>(),
    every: checkPositiveInt,
    gamma: optional(checkPositiveNumber),
    unit: UNIT,
  } satisfies Spec<'step'>,
  multistep: {
    kind: unchecked<'multistep'>(),
    milestones: checkMilestones,
    gamma: optional(checkPositiveNumber),
    unit: UNIT,
  } satisfies Spec<'multistep'>,
  plateau: {
    kind: unchecked<'plateau'>(),
    patience: optional(checkNonNegativeInt),
    threshold: optional(checkFiniteNumber),
    cooldown: optional(checkNonNegativeInt),
    factor: optional(checkOpenUnitInterval),
    minLr: optional(checkFiniteNumber),
  } satisfies Spec<'plateau'>,
  cosine: {
    kind: unchecked<'cosine'>(),
    minLr: optional(checkFiniteNumber),
  } satisfies Spec<'cosine'>,
} satisfies { [K in ScheduleSpec['kind']]: Spec<K> };

/** The one declaration of {@link WarmupSpec}. */
const WARMUP_SPEC = {
  epochs: optional(checkNonNegativeNumber),
  steps: optional(checkNonNegativeInt),
  startFactor: optional(checkProbability),
} satisfies OptionSpec<WarmupSpec>;

function checkSchedule(spec: ScheduleSpec): ScheduleSpec {
  const where = `${WHERE} schedule`;
  if (spec === null || typeof spec !== 'object')
    throw new Error(
      `${where}: expected an object such as { kind: 'step', every: 30 }; received ${String(spec)}.`,
    );
  const kinds = Object.keys(SCHEDULE_SPECS) as ScheduleSpec['kind'][];
  const kind = checkOneOf(where, 'kind', spec.kind, kinds);
  checkOptions(where, spec, SCHEDULE_SPECS[kind] as Record<string, Check<unknown>>);
  return spec;
}
