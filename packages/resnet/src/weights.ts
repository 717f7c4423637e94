import {
  loadTorchWeights,
  saveSafetensorsWeights,
  type LoadTorchWeightsOptions,
  type StateDictFormat,
  type TorchWeight,
  type WeightSource,
} from '@convnets/layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

const BN_KEYS: Record<string, string> = {
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

function convOrBn(prefix: string, kind: string, weight: string): TorchWeight | null {
  if (kind === 'conv' && weight === 'kernel') return { key: `${prefix}.weight`, layout: 'conv' };
  if (kind === 'bn' && weight in BN_KEYS)
    return { key: `${prefix}.${BN_KEYS[weight]}`, layout: 'vector' };
  return null;
}

/**
 * torchvision's ResNet state-dict names (`conv1.weight`, `bn1.*`,
 * `layer{s}.{b}.conv{k}.weight`, `layer{s}.{b}.downsample.{0,1}.*`, `fc.*`),
 * mapped to ours (`conv1_conv`, `conv1_bn`, `conv{s+1}_block{b+1}_{k}_conv`,
 * `…_0_conv`/`…_0_bn`, `predictions`). timm's ResNets use the same names.
 */
export const TORCHVISION_RESNET: StateDictFormat = {
  name: 'torchvision ResNet',
  ignore: /(^|\.)num_batches_tracked$/,
  map({ layer, weight }) {
    if (layer === 'predictions') {
      if (weight === 'kernel') return { key: 'fc.weight', layout: 'linear' };
      if (weight === 'bias') return { key: 'fc.bias', layout: 'vector' };
      return null;
    }
    const stem = /^conv1_(conv|bn)$/.exec(layer);
    if (stem) return convOrBn(stem[1] === 'conv' ? 'conv1' : 'bn1', stem[1], weight);
    const unit = /^conv(\d+)_block(\d+)_(\d)_(conv|bn)$/.exec(layer);
    if (!unit) return null;
    const [, stage, block, index, kind] = unit;
    const prefix = `layer${Number(stage) - 1}.${Number(block) - 1}`;
    if (index === '0')
      return convOrBn(`${prefix}.downsample.${kind === 'conv' ? 0 : 1}`, kind, weight);
    return convOrBn(`${prefix}.${kind}${index}`, kind, weight);
  },
};

/** Options of {@link loadWeights}: `from: 'torchvision'` and an optional file-size limit. */
export type LoadWeightsOptions = LoadTorchWeightsOptions;

/**
 * Loads a torchvision (or timm) ResNet state dict from a `.safetensors` file
 * or buffer into a model built by this package: names are mapped, conv kernels
 * converted from OIHW to HWIO and the classifier transposed. Missing or
 * unexpected keys, wrong shapes and unsupported dtypes are reported together,
 * and nothing is loaded unless everything matches.
 *
 * @example
 * ```ts
 * const net = resnet50({ classifierActivation: null });
 * await loadWeights(net, 'resnet50.safetensors', { from: 'torchvision' });
 * ```
 */
export async function loadWeights(
  model: LayersModel,
  source: WeightSource,
  opts: LoadWeightsOptions,
): Promise<void> {
  await loadTorchWeights(model, source, TORCHVISION_RESNET, opts);
}

/**
 * Saves a model built by this package as a torchvision ResNet state dict in
 * safetensors format (returned, and written atomically to `path` if given),
 * loadable with `torchvision.models.resnet50().load_state_dict(safetensors.torch.load_file(path))`
 * (BN's `num_batches_tracked` aside).
 */
export async function saveWeights(model: LayersModel, path?: string): Promise<Uint8Array> {
  return saveSafetensorsWeights(model, TORCHVISION_RESNET, path);
}
