import {
  add,
  customGrad,
  div,
  keep,
  mean,
  mul,
  neg,
  rsqrt,
  serialization,
  square,
  sub,
  sum,
  tidy,
  type GradSaveFunc,
  type Tensor,
} from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';

type StockBatchNormalization = ReturnType<typeof layers.batchNormalization>;
/**
 * tfjs-layers' `BatchNormalizationLayerArgs` (`axis`, `momentum`, `epsilon`,
 * `center`, `scale`, initializers, …), which tfjs-layers does not export.
 *
 * @inline
 */
type StockArgs = NonNullable<Parameters<typeof layers.batchNormalization>[0]>;
type Kwargs = Parameters<StockBatchNormalization['call']>[1];

/** The fields of tfjs-layers' `BatchNormalization` that the fast path reads (private there). */
interface StockInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): Tensor } | null;
  beta: { read(): Tensor } | null;
  movingMean: { read(): Tensor; write(t: Tensor): void };
  movingVariance: { read(): Tensor; write(t: Tensor): void };
}

/** The class of tfjs-layers' batch-norm layer, with the statics that serialisation needs. */
interface StockClass {
  new (args?: StockArgs): StockBatchNormalization;
  className: string;
  fromConfig: (typeof layers.Layer)['fromConfig'];
}

// tfjs-layers exports the factory but not the class: take the class from an instance.
const Stock = Object.getPrototypeOf(layers.batchNormalization({})).constructor as StockClass;

/** Arguments of {@link BatchNormalization}: exactly those of `tf.layers.batchNormalization`. */
export type BatchNormalizationArgs = StockArgs;

/**
 * Batch normalisation over the last axis in training mode, as one operation
 * with a hand-written gradient.
 *
 * tfjs differentiates batch normalisation through `tf.moments` and the
 * `FusedBatchNorm` kernel's composed gradient: about 26 kernels over the whole
 * activation per forward and backward pass. This computes the same function,
 * with the closed-form gradient of Ioffe & Szegedy (§3), in 13:
 * `dβ = Σ dy`, `dγ = σ⁻¹ Σ dy·(x − μ)`,
 * `dx = γσ⁻¹ (dy − dβ/m − (x − μ) σ⁻² Σ dy·(x − μ) / m)`.
 *
 * Returns the output and the batch mean and (biased) variance; the caller
 * owns (must dispose) the last two.
 *
 * @param x - The input, normalised over every axis but the last (NHWC: over batch, height and width).
 * @param gamma - The scale, one value per channel (shape `[channels]`).
 * @param beta - The shift, one value per channel (shape `[channels]`).
 * @param epsilon - Added to the variance before the square root, e.g. `1e-5`.
 * @returns `[y, batchMean, batchVariance]`: `y` shaped like `x` (differentiable
 *   with respect to `x`, `gamma` and `beta`), and the per-channel statistics.
 * @throws Error from tfjs when `gamma` or `beta` does not broadcast against `x`'s last axis.
 *
 * @example
 * ```ts
 * const [y, batchMean, batchVariance] = batchNormInTraining(x, gamma, beta, 1e-5);
 * tf.dispose([batchMean, batchVariance]);
 * ```
 * @see [Ioffe & Szegedy, arXiv 1502.03167, Algorithm 1 and §3](https://arxiv.org/abs/1502.03167)
 */
export function batchNormInTraining(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
): [Tensor, Tensor, Tensor] {
  const axes = [...Array(x.rank - 1).keys()];
  const m = x.size / x.shape[x.rank - 1]!;
  let stats: [Tensor, Tensor] | undefined;
  const op = customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xIn, g, b] = args as Tensor[];
    const save = args[3] as GradSaveFunc;
    const mu = mean(xIn!, axes);
    const centered = sub(xIn!, mu);
    const variance = mean(square(centered), axes);
    const rstd = rsqrt(add(variance, epsilon));
    const value = add(mul(centered, mul(g!, rstd)), b!);
    save([centered, rstd, g!]);
    stats = [keep(mu), keep(variance)];
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [c, r, gg] = saved as [Tensor, Tensor, Tensor];
        const dBeta = sum(dy, axes);
        const dyDotCentered = sum(mul(dy, c), axes);
        const dGamma = mul(dyDotCentered, r);
        const scale = mul(gg, r); // γσ⁻¹, per channel
        const perCentered = neg(mul(mul(scale, square(r)), div(dyDotCentered, m)));
        const shift = neg(mul(scale, div(dBeta, m)));
        const dx = add(add(mul(dy, scale), mul(c, perCentered)), shift);
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta);
  return [y, ...stats!];
}

/**
 * tfjs-layers' `BatchNormalization` with a faster training step: same
 * arguments, weights (`gamma`, `beta`, `moving_mean`, `moving_variance`, in
 * that order), configuration and saved class name, so saved models stay
 * Keras-compatible and load in plain tfjs.
 *
 * In training mode over the last axis (the NHWC case every model here uses)
 * it normalises with {@link batchNormInTraining}, whose hand-written gradient
 * runs half the full-size kernels tfjs' automatic one does; moving averages
 * are updated exactly as tfjs does (`moving ← moving − (moving − batch)·(1 −
 * momentum)`, biased batch variance). Inference, other axes and layers without
 * `center` or `scale` run tfjs' own code.
 *
 * Importing `@convnets/layers` registers this class under the name
 * `BatchNormalization`, so `tf.loadLayersModel` in the same process builds it
 * for saved batch-norm layers (the results are the same; only training is
 * faster).
 *
 * @example
 * ```ts
 * const y = new BatchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x);
 * ```
 * @see [Ioffe & Szegedy, arXiv 1502.03167, §3 (the gradient of the transform)](https://arxiv.org/abs/1502.03167)
 */
export class BatchNormalization extends Stock {
  /** Saved as tfjs' (and Keras') own batch-norm layer. */
  static override className = 'BatchNormalization';

  /**
   * Normalises a batch: the fast path in training mode over the last axis,
   * tfjs' own `BatchNormalization.call` otherwise.
   *
   * @param inputs - The input tensor (or a one-element array of one).
   * @param kwargs - tfjs' call arguments; `training: true` selects batch statistics and updates the moving averages.
   * @returns The normalised tensor, shaped like the input.
   * @throws Error from tfjs for an input whose channel count does not match the layer's weights.
   */
  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor | Tensor[] {
    const self = this as unknown as StockInternals;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const axis = self.axis >= 0 ? self.axis : self.axis + x.rank;
    const fast =
      kwargs['training'] === true &&
      axis === x.rank - 1 &&
      self.gamma !== null &&
      self.beta !== null &&
      x.dtype === 'float32';
    if (!fast) return super.call(inputs, kwargs);
    return tidy(() => {
      const [y, batchMean, batchVariance] = batchNormInTraining(
        x,
        self.gamma!.read(),
        self.beta!.read(),
        self.epsilon,
      );
      for (const [variable, value] of [
        [self.movingMean, batchMean],
        [self.movingVariance, batchVariance],
      ] as const) {
        tidy(() => {
          const current = variable.read();
          variable.write(sub(current, mul(sub(current, value), 1 - self.momentum)));
        });
        value.dispose();
      }
      return y;
    });
  }
}

serialization.registerClass(BatchNormalization);
