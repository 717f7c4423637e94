import {
  loadTorchWeights,
  saveTorchWeights,
  torchBatchNormWeight,
  type LoadTorchWeightsOptions,
  type LoadWeightsReport,
  type SaveTorchWeightsOptions,
  type StateDictFormat,
  type WeightSource,
} from '@convnets/layers';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';

const CLASSIFIER_INDEX: Record<string, number> = { fc1: 0, fc2: 3, predictions: 6 };

/**
 * The position of each of our layers in torchvision's `features` Sequential:
 * every convolution, BN, ReLU, pool and LRN takes one index, in model order
 * (a convolution with a fused ReLU takes two).
 */
const featureIndices = new WeakMap<LayersModel, Map<string, number>>();
function featureIndex(model: LayersModel, layer: string): number | undefined {
  let indices = featureIndices.get(model);
  if (indices === undefined) {
    indices = new Map();
    let i = 0;
    for (const l of model.layers) {
      if (/^block\d+_conv\d+(_bn)?$/.test(l.name)) {
        indices.set(l.name, i);
        i += l.getConfig().activation === 'relu' ? 2 : 1;
      } else if (/^block\d+_(conv\d+_relu|pool|lrn)$/.test(l.name)) {
        i += 1;
      }
    }
    featureIndices.set(model, indices);
  }
  return indices.get(layer);
}

/**
 * torchvision's VGG state-dict names (`features.{i}.*` for convolutions and
 * BN, `classifier.{0,3,6}.*` for the fully connected layers) mapped to ours.
 * The first fully connected layer's rows are permuted between PyTorch's
 * C×7×7 flatten order and our 7×7×C order. {@link loadWeights} and
 * {@link saveWeights} use it; pass it to `@convnets/layers`' lower-level
 * functions (`importStateDict`, `exportStateDict`) for more control.
 *
 * @example
 * ```ts
 * import { exportStateDict } from '@convnets/layers';
 * const stateDict = exportStateDict(vgg11({ skipInit: true }), TORCHVISION_VGG);
 * stateDict.get('classifier.0.weight')!.shape; // [4096, 25088], as in PyTorch
 * ```
 */
export const TORCHVISION_VGG: StateDictFormat = {
  name: 'torchvision VGG',
  ignore: /(^|\.)num_batches_tracked$/,
  head: /^classifier\./,
  map({ layer, weight }, model) {
    if (layer in CLASSIFIER_INDEX) {
      const key = `classifier.${CLASSIFIER_INDEX[layer]}`;
      if (weight === 'bias') return { key: `${key}.bias`, layout: 'vector' };
      if (weight !== 'kernel') return null;
      if (layer !== 'fc1') return { key: `${key}.weight`, layout: 'linear' };
      const [, h, w, c] = (model.getLayer('flatten').input as SymbolicTensor).shape as number[];
      return { key: `${key}.weight`, layout: { flattenedFrom: [h, w, c] } };
    }
    const index = featureIndex(model, layer);
    if (index === undefined) return null;
    if (layer.endsWith('_bn')) return torchBatchNormWeight(`features.${index}`, weight);
    if (weight === 'kernel') return { key: `features.${index}.weight`, layout: 'conv' };
    if (weight === 'bias') return { key: `features.${index}.bias`, layout: 'vector' };
    return null;
  },
};

/**
 * Options of {@link loadWeights}: `from: 'torchvision'` (required), an
 * optional `maxFileBytes` limit (default 4 GiB) and `onWarning`, told of
 * tensors holding NaN or infinite values (default: `console.warn`).
 */
export type LoadWeightsOptions = LoadTorchWeightsOptions;

/**
 * Options of {@link saveWeights}: `fileFormat`, `'safetensors'` or `'torch'`
 * (`torch.save`'s zip format); by default from the path's extension (`.pth`,
 * `.pt`, `.th`: torch; otherwise safetensors).
 */
export type SaveWeightsOptions = SaveTorchWeightsOptions;

/**
 * Loads a torchvision VGG state dict (`vgg16`, `vgg16_bn`, …) into a model
 * built by this package, from a PyTorch checkpoint (`.pth`: what `torch.save`
 * writes, torchvision's own downloads included) or a `.safetensors` file, or
 * their bytes; the format is told by content. Checkpoints are read without
 * running their code, and a state dict under `state_dict`, `model`,
 * `model_state_dict` or `net`, with DataParallel's `module.` prefix, is found.
 * Names and layouts are converted. Everything is checked first; mismatches
 * are reported together and nothing is loaded.
 *
 * @param model - A model built by this package with the same configuration,
 *   `batchNorm` setting, classes and (with the top) a 224×224 input, as
 *   torchvision's classifier expects 7×7×512 features.
 * @param source - A `.pth` or `.safetensors` file path (Node only), or its bytes as a `Uint8Array` or `ArrayBuffer`.
 * @param opts - `from: 'torchvision'` (required), optional `maxFileBytes` and `onWarning`; see {@link LoadWeightsOptions}.
 * @returns Once every weight is set: which loaded tensors hold NaN or infinite values (also passed to `onWarning`).
 * @throws Error (the promise rejects) when `opts.from` is not `'torchvision'`,
 *   the source is neither a path nor bytes, the file is larger than
 *   `maxFileBytes`, in neither format or invalid (a checkpoint that needs
 *   code beyond a tensor state dict's, such as a whole pickled model, is
 *   refused, naming the Python name), or the state dict does not fit the model
 *   (every missing or unexpected key and wrong shape listed). Nothing is
 *   loaded then.
 *
 * @example
 * ```ts
 * const net = vgg16({ batchNorm: true });
 * await loadWeights(net, 'vgg16_bn-6c64b313.pth', { from: 'torchvision' });
 * ```
 * @see [torchvision's VGG models](https://pytorch.org/vision/stable/models/vgg.html)
 */
export async function loadWeights(
  model: LayersModel,
  source: WeightSource,
  opts: LoadWeightsOptions,
): Promise<LoadWeightsReport> {
  return loadTorchWeights(model, source, TORCHVISION_VGG, opts);
}

/**
 * Saves a model built by this package as a torchvision VGG state dict
 * (returned, and written atomically to `path` if given): as a PyTorch
 * checkpoint for a `.pth`, `.pt` or `.th` path (`torch.save`'s zip format,
 * `torchvision.models.vgg16().load_state_dict(torch.load(path))`), else as
 * safetensors (`….load_state_dict(safetensors.torch.load_file(path))`);
 * `opts.fileFormat` overrides the extension. Either loads for the same
 * configuration (`vgg16_bn()` with `batchNorm`). BN's `num_batches_tracked`
 * counters are not written; PyTorch's `load_state_dict` recreates them
 * (checked with PyTorch 1.13).
 *
 * @param model - A model built by this package (with the top, at 224×224, for torchvision's classifier).
 * @param path - Where to write the file (Node only). Default: nothing is written.
 * @param opts - `fileFormat`: `'safetensors'` or `'torch'`; see {@link SaveWeightsOptions}.
 * @returns The file's bytes.
 * @throws Error when a weight has no torchvision counterpart (a model not built
 *   by this package), for an unknown option or `fileFormat`, or when the file
 *   cannot be written.
 *
 * @example
 * ```ts
 * await saveWeights(net, 'vgg11.pth'); // Python: torch.load('vgg11.pth')
 * const bytes = await saveWeights(net, 'vgg11.safetensors');
 * ```
 * @see {@link loadWeights}, the way back.
 */
export async function saveWeights(
  model: LayersModel,
  path?: string,
  opts: SaveWeightsOptions = {},
): Promise<Uint8Array> {
  return saveTorchWeights(model, TORCHVISION_VGG, path, opts);
}
