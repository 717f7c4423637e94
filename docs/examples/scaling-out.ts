// What carries over to Python: the architecture as Keras JSON (tfjs' layers
// model format, model.json + weights.bin) and the weights as a
// torchvision-named safetensors file.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { LocalResponseNormalization, ZeroPadChannels, readSafetensors } from '@convnets/layers';
import { cifarResNet, saveWeights } from '@convnets/resnet';

/**
 * `model.save('file://dir')` without `@tensorflow/tfjs-node` (which is what
 * registers `file://`): writes `dir/model.json`, the Keras topology plus a
 * weights manifest, and `dir/weights.bin`, the same files tfjs-node writes.
 */
export async function saveLayersModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology!,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs! }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJSON));
      await writeFile(
        join(dir, 'weights.bin'),
        new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData)),
      );
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** `tf.loadLayersModel('file://dir/model.json')` without `@tensorflow/tfjs-node`. */
export async function loadLayersModel(dir: string): Promise<tfl.LayersModel> {
  const modelJSON = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
    const files = await Promise.all(
      manifest.flatMap((group) => group.paths).map((path) => readFile(join(dir, path))),
    );
    const buffers = files.map((f) => f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
    return [manifest.flatMap((group) => group.weights), buffers as ArrayBuffer[]];
  });
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Our two custom layers: Python Keras needs a class of the same name for each. */
const CUSTOM = new Set([ZeroPadChannels.className, LocalResponseNormalization.className]);

export async function main(workDir: string) {
  const report = [];
  // Option A shortcuts (the CIFAR default) use ZeroPadChannels; option B only built-in layers.
  for (const shortcut of ['A', 'B'] as const) {
    const model = cifarResNet(8, { inputShape: [8, 8, 3], classes: 3, shortcut });
    const dir = join(workDir, `cifar_resnet8_${shortcut}`);
    await saveLayersModel(model, dir);

    // The topology is Keras' own JSON: {class_name, config: {layers: [...]}, keras_version}.
    const { modelTopology } = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      modelTopology: {
        class_name: string;
        keras_version: string;
        config: { layers: { class_name: string }[] };
      };
    };
    const layerClasses = [...new Set(modelTopology.config.layers.map((l) => l.class_name))];
    const customLayers = layerClasses.filter((c) => CUSTOM.has(c));

    // It reloads in tfjs and computes the same thing.
    const reloaded = await loadLayersModel(dir);
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 7);
    const [a, b] = [model.predict(x), reloaded.predict(x)] as tf.Tensor[];
    const maxDifference = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

    // The weights under torchvision's names, for PyTorch.
    const stateDict = readSafetensors(await saveWeights(model));

    tf.dispose([x, a, b]);
    model.dispose();
    reloaded.dispose();
    console.log(
      `shortcut ${shortcut}: ${modelTopology.class_name} of ${layerClasses.join(', ')}; ` +
        `custom: ${customLayers.join(', ') || 'none'}; reloaded max difference ${maxDifference}`,
    );
    report.push({
      shortcut,
      dir,
      topologyClass: modelTopology.class_name,
      kerasVersion: modelTopology.keras_version,
      layerClasses,
      customLayers,
      maxDifference,
      stateDictKeys: [...stateDict.tensors.keys()],
    });
  }
  return report;
}
