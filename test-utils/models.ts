import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';

/** model.save → tf.loadLayersModel through memory, as a user's save and reload would go. */
export async function saveAndLoad(net: LayersModel): Promise<LayersModel> {
  let saved: tf.io.ModelArtifacts | undefined;
  await net.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return loadLayersModel(tf.io.fromMemory(saved!));
}

/** Asserts that `net` and its reloaded copy predict exactly the same on a seeded input, then frees both. */
export async function expectSameAfterReload(net: LayersModel, batch = 1): Promise<number[]> {
  const loaded = await saveAndLoad(net);
  const x = tf.randomNormal(
    [batch, ...(net.inputs[0].shape.slice(1) as number[])],
    0,
    1,
    'float32',
    1,
  );
  const a = net.predict(x) as tf.Tensor;
  const b = loaded.predict(x) as tf.Tensor;
  const same = Array.from(b.dataSync()).every((v, i) => v === a.dataSync()[i]);
  const shape = b.shape;
  tf.dispose([x, a, b]);
  net.dispose();
  loaded.dispose();
  if (!same) throw new Error(`${net.name}: predictions differ after save → load`);
  return shape;
}

/** Whether two arrays hold bitwise the same values (fast: vitest's toEqual walks millions of elements slowly). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/**
 * The topology half of save → reload, for a model built with `skipInit` (zero
 * weights: no random draw, so cheap at any depth). Returns the Keras topology
 * JSON and the weight list (name and shape, in order) before and after the
 * round trip, for the caller to compare, and frees both models.
 */
export async function topologyAfterReload(
  net: LayersModel,
): Promise<{ topology: [string, string]; weights: [string[], string[]] }> {
  const loaded = await saveAndLoad(net);
  const topology = (m: LayersModel) => JSON.stringify(m.toJSON(null, false));
  const weights = (m: LayersModel) =>
    m.weights.map((w) => `${w.originalName} [${w.shape.join(', ')}]`);
  const result = {
    topology: [topology(net), topology(loaded)] as [string, string],
    weights: [weights(net), weights(loaded)] as [string[], string[]],
  };
  net.dispose();
  loaded.dispose();
  return result;
}
