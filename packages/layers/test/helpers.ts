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

/** A file with the given raw header text and data bytes. */
export function file(header: string, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The error `f` throws (failing the test if it does not). */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
