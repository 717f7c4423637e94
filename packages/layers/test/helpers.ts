import { input, model, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';

/** Wraps a block in a one-input model so its layers can be inspected. */
export function wrap(
  shape: number[],
  build: (x: SymbolicTensor) => SymbolicTensor,
  name = 'wrapped',
): LayersModel {
  const x = input({ shape });
  return model({ inputs: x, outputs: build(x), name });
}

/** Total element count of a list of weights. */
export function countOf(weights: { shape: (number | null)[] }[]): number {
  return weights.reduce((n, w) => n + w.shape.reduce<number>((a, d) => a * (d ?? 0), 1), 0);
}

export function layerNames(m: LayersModel): string[] {
  return m.layers.map((l) => l.name);
}
