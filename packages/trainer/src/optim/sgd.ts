import * as tf from '@tensorflow/tfjs-core';
import {
  checkBoolean,
  checkNonNegativeNumber,
  checkOptions,
  checkUnitInterval,
  oneOf,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';

/**
 * How momentum and the learning rate combine.
 *
 * - `'pytorch'` (default): `v ← μ·v + g`, `w ← w − η·v`. The velocity holds
 *   gradients, so a learning-rate change takes effect at once.
 * - `'caffe'`, what the original ResNet code (Caffe) and the VGG paper used:
 *   `v ← μ·v + η·g`, `w ← w − v`. The velocity holds steps, so after a
 *   learning-rate cut the old, larger steps decay over a few iterations.
 *
 * Both equal each other while the learning rate is constant.
 */
export type MomentumRule = 'pytorch' | 'caffe';

/** Options of {@link SgdOptimizer}; the defaults are the ResNet paper's. */
export interface SgdOptions {
  /**
   * Momentum μ, in [0, 1).
   * @defaultValue 0.9
   */
  momentum?: number;
  /**
   * Nesterov momentum (needs μ > 0).
   * @defaultValue false
   */
  nesterov?: boolean;
  /**
   * L2 weight decay λ, added to the gradient as `λ·w`.
   * @defaultValue 1e-4 (the ResNet paper's; VGG used 5e-4)
   */
  weightDecay?: number;
  /**
   * Leave batch-normalisation γ and β out of weight decay.
   * @defaultValue false (as in the papers' code)
   */
  excludeBatchNorm?: boolean;
  /**
   * Leave biases out of weight decay.
   * @defaultValue false
   */
  excludeBias?: boolean;
  /**
   * The momentum rule; see {@link MomentumRule}.
   * @defaultValue `'pytorch'`
   */
  rule?: MomentumRule;
}

/** The papers' optimizer settings, to spread into {@link SgdOptions} and the trainer's `lr`. */
export const SGD_PRESETS = {
  /** ResNet (He et al. §3.4): lr 0.1, momentum 0.9, weight decay 1e-4. */
  resnet: {
    /** Base learning rate. */
    lr: 0.1,
    /** Momentum. */
    momentum: 0.9,
    /** L2 weight decay. */
    weightDecay: 1e-4,
  },
  /** VGG (Simonyan & Zisserman §3.1): lr 0.01, momentum 0.9, weight decay 5e-4. */
  vgg: {
    /** Base learning rate. */
    lr: 0.01,
    /** Momentum. */
    momentum: 0.9,
    /** L2 weight decay. */
    weightDecay: 5e-4,
  },
} as const;

/** A trainable variable as the optimizer sees it. */
export interface NamedVariable {
  /** A name unique within the model (the checkpoint key of its slot). */
  readonly name: string;
  /** The variable updated in place. */
  readonly variable: tf.Variable;
}

const WHERE = 'SgdOptimizer';

/**
 * Whether a weight is a batch-normalisation γ/β, judged by its name
 * (`…/gamma`, `…/beta`, as tfjs-layers names them).
 *
 * @param name - The weight's name, e.g. `conv1_bn/gamma`.
 * @returns True for names ending in `gamma` or `beta` (optionally with a `_N` suffix).
 * @example
 * ```ts
 * isBatchNormParameter('conv1_bn/gamma'); // true
 * isBatchNormParameter('conv1_conv/kernel'); // false
 * ```
 */
export function isBatchNormParameter(name: string): boolean {
  return /(^|\/)(gamma|beta)(_\d+)?$/.test(name);
}

/**
 * Whether a weight is a bias, judged by its name (`…/bias`).
 *
 * @param name - The weight's name, e.g. `predictions/bias`.
 * @returns True for names ending in `bias` (optionally with a `_N` suffix).
 * @example
 * ```ts
 * isBiasParameter('predictions/bias'); // true
 * isBiasParameter('predictions/kernel'); // false
 * ```
 */
export function isBiasParameter(name: string): boolean {
  return /(^|\/)bias(_\d+)?$/.test(name);
}

/** The one declaration of {@link SgdOptions}: its keys, checks and defaults (the ResNet paper's). */
const SGD_SPEC = {
  momentum: withDefault(checkUnitInterval, 0.9),
  nesterov: withDefault(checkBoolean, false),
  weightDecay: withDefault(checkNonNegativeNumber, 1e-4),
  excludeBatchNorm: withDefault(checkBoolean, false),
  excludeBias: withDefault(checkBoolean, false),
  rule: withDefault(oneOf(['pytorch', 'caffe'] as const), 'pytorch'),
} satisfies OptionSpec<SgdOptions>;

/**
 * Stochastic gradient descent with momentum and L2 weight decay, written
 * out (rather than `tf.train.momentum`) so that the rule is explicit, weight
 * decay can skip BN parameters and biases, the learning rate can change every
 * step, and the velocity can be saved and restored exactly.
 *
 * @example
 * ```ts
 * const sgd = new SgdOptimizer({ momentum: 0.9, weightDecay: 1e-4 });
 * sgd.apply(variables, gradients, 0.1);
 * ```
 * @see He et al., arXiv 1512.03385, §3.4; Sutskever et al. 2013 for Nesterov momentum.
 */
export class SgdOptimizer {
  /** The resolved options. */
  readonly options: Readonly<Required<SgdOptions>>;
  private readonly velocity = new Map<string, tf.Variable>();

  /**
   * Checks and resolves the options; the velocity starts empty.
   *
   * @param options - Momentum, Nesterov, weight decay and its exclusions, the momentum rule; see {@link SgdOptions}. Default `{}`: the ResNet paper's settings.
   * @throws Error naming the option, for an unknown option, a momentum outside [0, 1), a negative weight decay, Nesterov without momentum or an unknown rule.
   */
  constructor(options: SgdOptions = {}) {
    const resolved = checkOptions(WHERE, options, SGD_SPEC);
    if (resolved.nesterov && resolved.momentum === 0)
      throw new Error(`${WHERE}: nesterov needs a momentum above 0.`);
    this.options = Object.freeze(resolved);
  }

  /**
   * Whether weight decay applies to a weight.
   *
   * @param name - The weight's name (BN parameters and biases are recognised by it).
   * @returns False when the weight decay is 0 or the weight is an excluded BN parameter or bias; true otherwise.
   */
  decays(name: string): boolean {
    if (this.options.weightDecay === 0) return false;
    if (this.options.excludeBatchNorm && isBatchNormParameter(name)) return false;
    if (this.options.excludeBias && isBiasParameter(name)) return false;
    return true;
  }

  /**
   * One update of every variable with its gradient, in place. The gradients
   * are not disposed.
   *
   * @param variables - The variables, each with the name its velocity is kept under.
   * @param gradients - Their gradients, in the same order.
   * @param lr - The learning rate of this step.
   * @throws Error when there are not as many gradients as variables.
   */
  apply(variables: readonly NamedVariable[], gradients: readonly tf.Tensor[], lr: number): void {
    if (variables.length !== gradients.length)
      throw new Error(`${WHERE}: ${variables.length} variables but ${gradients.length} gradients.`);
    const { momentum, nesterov, weightDecay, rule } = this.options;
    const [eta, mu, lambda] = [tf.scalar(lr), tf.scalar(momentum), tf.scalar(weightDecay)];
    // One scope per variable, and every temporary freed right after its one use
    // (the inner tidy calls): the update then needs a few copies of the largest
    // variable at a time (VGG-16's 411 MB fc1 weight), not of all of them.
    const update = ({ name, variable }: NamedVariable, i: number) => {
      let g = gradients[i]!;
      if (this.decays(name)) g = tf.tidy(() => tf.add(g, tf.mul(lambda, variable)));
      if (momentum === 0) {
        variable.assign(tf.tidy(() => tf.sub(variable, tf.mul(eta, g))));
        return;
      }
      const previous = this.velocity.get(name);
      if (rule === 'pytorch') {
        // PyTorch starts the buffer at the first gradient (no dampening), so a new
        // buffer is the gradient itself, with no zeros allocated first.
        const next = previous ? tf.tidy(() => tf.add(tf.mul(mu, previous), g)) : g;
        if (previous) previous.assign(next);
        else this.velocity.set(name, tf.variable(next, false));
        const direction = nesterov ? tf.tidy(() => tf.add(g, tf.mul(mu, next))) : next;
        variable.assign(tf.tidy(() => tf.sub(variable, tf.mul(eta, direction))));
      } else {
        const v = previous ?? tf.variable(tf.zerosLike(variable), false);
        if (!previous) this.velocity.set(name, v);
        // Both are computed before v is assigned: the Nesterov step needs the old velocity.
        const next = tf.tidy(() => tf.add(tf.mul(mu, v), tf.mul(eta, g)));
        const step = nesterov
          ? tf.tidy(() => tf.sub(tf.mul(tf.scalar(1 + momentum), next), tf.mul(mu, v)))
          : next;
        v.assign(next);
        variable.assign(tf.sub(variable, step));
      }
    };
    try {
      variables.forEach((named, i) => tf.tidy(() => update(named, i)));
    } finally {
      tf.dispose([eta, mu, lambda]);
    }
  }

  /**
   * The velocity of every variable updated so far, by name, e.g. to save in a checkpoint.
   *
   * @returns The live velocity variables (not copies; do not dispose them).
   */
  slots(): ReadonlyMap<string, tf.Variable> {
    return this.velocity;
  }

  /**
   * Replaces the velocity with saved values (copied), e.g. from a checkpoint.
   *
   * @param values - Velocity by variable name; the caller keeps ownership of these tensors.
   * @throws Error from tfjs when one of `values` has been disposed (the previous velocity is already freed then).
   */
  restoreSlots(values: ReadonlyMap<string, tf.Tensor>): void {
    this.dispose();
    for (const [name, value] of values)
      this.velocity.set(
        name,
        tf.tidy(() => tf.variable(value.clone(), false)),
      );
  }

  /** Frees the velocity. */
  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}
