import type { LayersModel } from '@tensorflow/tfjs-layers';
import { Random } from '@convnets/imagenet-data';

type ModelLayer = LayersModel['layers'][number];

/** Every layer of a model, nested models' layers included (depth first, in model order). */
export function allLayers(model: LayersModel): ModelLayer[] {
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

/** First seed word of the training-mode forward passes of updates. */
export const DROPOUT_TRAINING = 0x7a1;
/** First seed word of the training-mode forward passes of precise BN. */
export const DROPOUT_PRECISE_BN = 0xb4;

/**
 * Seeds a model's Dropout layers for each training-mode forward pass, so that
 * masks differ from pass to pass yet are a pure function of the position in
 * the run (what exact resume needs). Warns, through `log`, about layers that
 * draw unseeded random numbers.
 */
export class DropoutSeeder {
  private readonly dropouts: { seed?: number }[];

  /**
   * @param model - The model whose Dropout layers to seed.
   * @param seed - The run's seed.
   * @param log - Where the warning about unseedable layers goes.
   */
  constructor(
    model: LayersModel,
    private readonly seed: number,
    log: (message: string) => void,
  ) {
    const layers = allLayers(model);
    this.dropouts = layers.filter((l) =>
      SEEDABLE_RANDOM_LAYERS.includes(l.getClassName()),
    ) as unknown as { seed?: number }[];
    const unseedable = layers.filter((l) => UNSEEDABLE_RANDOM_LAYERS.includes(l.getClassName()));
    if (unseedable.length > 0)
      log(
        `warning: ${unseedable.map((l) => `${l.name} (${l.getClassName()})`).join(', ')} draw unseeded random numbers: resuming will not reproduce an uninterrupted run exactly`,
      );
  }

  /**
   * Runs `fn` (one forward pass in training mode) with every Dropout layer
   * seeded from (run seed, `parts`, layer index, the layer's own seed), then
   * puts the layers' seeds back, so that the model's configuration is left as
   * it was.
   */
  run<T>(parts: readonly number[], fn: () => T): T {
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
}
