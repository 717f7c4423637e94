import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describeValue } from '@convnets/validate';

/**
 * Checks that `x` is a rank-4 NHWC `SymbolicTensor` with a known channel count
 * and returns that count: the input check of every public block.
 */
export function nhwcChannels(where: string, x: unknown): number {
  const shape = (x as SymbolicTensor | undefined)?.shape;
  // Duck-typed rather than `instanceof`, which fails when two copies of
  // tfjs-layers are loaded; a concrete tf.Tensor has no source layer.
  if (!Array.isArray(shape) || x === null || typeof x !== 'object' || !('sourceLayer' in x)) {
    throw new Error(
      `${where}: the input must be a SymbolicTensor (from tf.input() or another layer's apply()); received ${describeValue(x)}.`,
    );
  }
  if (shape.length !== 4) {
    throw new Error(
      `${where}: the input must be rank 4, [batch, height, width, channels] (channels last); received shape ${describeValue(shape)}.`,
    );
  }
  const channels = shape[3];
  if (channels == null) {
    throw new Error(
      `${where}: the input's channel count must be known; received shape ${describeValue(shape)}.`,
    );
  }
  return channels;
}
