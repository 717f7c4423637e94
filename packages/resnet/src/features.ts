import { model as makeModel, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { RESNET_MODELS } from './models';

/** Every stage name of the registry's ResNets, input to output. */
const STAGES = [
  ...new Set(Object.values(RESNET_MODELS).flatMap((entry) => entry.stages.map((s) => s.name))),
];

/**
 * A backbone for composing into other models (detection, segmentation,
 * feature pyramids): a model with the same input and weights as `net` whose
 * outputs are the last feature map of each residual stage, `conv2_x` …
 * `conv5_x` for ImageNet ResNets (`conv2_x` … `conv4_x` for CIFAR ones).
 * Build `net` with `includeTop: false` and `inputShape: [null, null, 3]` to
 * accept any input size. The new model shares `net`'s layers: training one
 * trains the other.
 *
 * @param net - A ResNet built by this package (any factory; plain nets too).
 * @param stages - Stage names to output, in order, e.g. `['conv4', 'conv5']`.
 *   Default: every stage in the model.
 * @returns A `tf.LayersModel` named `<net.name>_stages` with one output per stage:
 *   strides 4, 8, 16, 32 for an ImageNet ResNet.
 * @throws Error naming the model's stages when a requested stage does not
 *   exist, or when `net` has no residual stages (not a ResNet of this package).
 *
 * @example
 * ```ts
 * const backbone = stageOutputs(resnet50({ includeTop: false, inputShape: [null, null, 3] }));
 * const [c2, c3, c4, c5] = backbone.predict(images) as tf.Tensor[];
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1 (stages conv2_x … conv5_x) and §4.3 (ResNets as detection backbones)](https://arxiv.org/abs/1512.03385)
 */
export function stageOutputs(net: LayersModel, stages?: string[]): LayersModel {
  // A stage ends at its last block's `<stage>_block<k>_out`, k = its depth in the registry
  // for a named model; any depth counts, for a model built from a custom spec.
  const lastOfStage = new Map<string, string>();
  for (const layer of net.layers) {
    const stage = STAGES.find(
      (s) => layer.name.startsWith(`${s}_block`) && layer.name.endsWith('_out'),
    );
    if (stage !== undefined) lastOfStage.set(stage, layer.name);
  }
  const wanted = stages ?? [...lastOfStage.keys()];
  const missing = wanted.filter((s) => !lastOfStage.has(s));
  if (wanted.length === 0 || missing.length > 0) {
    throw new Error(
      `stageOutputs: model "${net.name}" has no stage ${missing.map((s) => `"${s}"`).join(', ') || '(none found)'}; ` +
        `its stages are ${[...lastOfStage.keys()].map((s) => `"${s}"`).join(', ') || 'none (not a ResNet?)'}.`,
    );
  }
  const outputs = wanted.map((s) => net.getLayer(lastOfStage.get(s)!).output as SymbolicTensor);
  return makeModel({ inputs: net.inputs, outputs, name: `${net.name}_stages` });
}
