import {
  loadTorchWeights,
  saveTorchWeights,
  torchBatchNormWeight,
  type LoadTorchWeightsOptions,
  type LoadWeightsReport,
  type SaveTorchWeightsOptions,
  type StateDictFormat,
  type TorchWeight,
  type WeightSource,
} from '@convnets/layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

function convOrBn(prefix: string, kind: string, weight: string): TorchWeight | null {
  if (kind === 'conv' && weight === 'kernel') return { key: `${prefix}.weight`, layout: 'conv' };
  if (kind === 'bn') return torchBatchNormWeight(prefix, weight);
  return null;
}

/**
 * The map of a ResNet state-dict format whose classifier is `head.*` and
 * whose projection shortcuts are `layer{s}.{b}.<projection>.{0,1}.*`.
 */
function resnetMap(head: string, projection: string): StateDictFormat['map'] {
  return ({ layer, weight }) => {
    if (layer === 'predictions') {
      if (weight === 'kernel') return { key: `${head}.weight`, layout: 'linear' };
      if (weight === 'bias') return { key: `${head}.bias`, layout: 'vector' };
      return null;
    }
    const stem = /^conv1_(conv|bn)$/.exec(layer);
    if (stem) return convOrBn(stem[1] === 'conv' ? 'conv1' : 'bn1', stem[1], weight);
    const unit = /^conv(\d+)_block(\d+)_(\d)_(conv|bn)$/.exec(layer);
    if (!unit) return null;
    const [, stage, block, index, kind] = unit;
    const prefix = `layer${Number(stage) - 1}.${Number(block) - 1}`;
    if (index === '0')
      return convOrBn(`${prefix}.${projection}.${kind === 'conv' ? 0 : 1}`, kind, weight);
    return convOrBn(`${prefix}.${kind}${index}`, kind, weight);
  };
}

/** BN's step counter: nothing to load. */
const NUM_BATCHES_TRACKED = /(^|\.)num_batches_tracked$/;

/**
 * torchvision's ResNet state-dict names (`conv1.weight`, `bn1.*`,
 * `layer{s}.{b}.conv{k}.weight`, `layer{s}.{b}.downsample.{0,1}.*`, `fc.*`),
 * mapped to ours (`conv1_conv`, `conv1_bn`, `conv{s+1}_block{b+1}_{k}_conv`,
 * `…_0_conv`/`…_0_bn`, `predictions`). timm's ResNets use the same names.
 * {@link loadWeights} and {@link saveWeights} use it; pass it to
 * `@convnets/layers`' `importStateDict`/`exportStateDict` for more control.
 *
 * @example
 * ```ts
 * import { exportStateDict } from '@convnets/layers';
 * const stateDict = exportStateDict(resnet18({ skipInit: true }), TORCHVISION_RESNET);
 * stateDict.get('layer2.0.downsample.0.weight')!.shape; // [128, 64, 1, 1], OIHW as in PyTorch
 * ```
 */
export const TORCHVISION_RESNET: StateDictFormat = {
  name: 'torchvision ResNet',
  ignore: NUM_BATCHES_TRACKED,
  head: /^fc\./,
  map: resnetMap('fc', 'downsample'),
};

/**
 * The state-dict names of the public PyTorch CIFAR ResNets (He et al. §4.2),
 * as akamaster/pytorch_resnet_cifar10 and most repositories write them:
 * torchvision's (`conv1`, `bn1`, `layer{s}.{b}.conv{k}`, `layer{s}.{b}.bn{k}`),
 * except the classifier `linear.*` and projection shortcuts (option B)
 * `layer{s}.{b}.shortcut.{0,1}.*`. Loading also accepts `fc.*` and
 * `downsample.{0,1}` (what {@link saveWeights} writes, and some repositories);
 * saving with it (`saveSafetensorsWeights(model, CIFAR_RESNET, path)` from
 * `@convnets/layers`) writes `linear` and `shortcut`. Option A has no weights,
 * but these networks pad its zero channels on both sides: build them with
 * `channelPadding: 'both'`. `loadWeights(…, { from: 'cifar' })` uses it.
 *
 * @example
 * ```ts
 * const net = cifarResNet(20, { channelPadding: 'both', classifierActivation: null });
 * await loadWeights(net, 'resnet20.safetensors', { from: 'cifar' });
 * ```
 * @see [akamaster/pytorch_resnet_cifar10](https://github.com/akamaster/pytorch_resnet_cifar10)
 */
export const CIFAR_RESNET: StateDictFormat = {
  name: 'PyTorch CIFAR ResNet',
  ignore: NUM_BATCHES_TRACKED,
  head: /^(linear|fc)\./,
  map: resnetMap('linear', 'shortcut'),
  canonicalKey: (key) =>
    key.replace(/^fc\./, 'linear.').replace(/^(layer\d+\.\d+)\.downsample\./, '$1.shortcut.'),
};

/**
/**
 * Options of {@link saveWeights}: `fileFormat`, `'safetensors'` or `'torch'`
 * (`torch.save`'s zip format); by default from the path's extension (`.pth`,
 * `.pt`, `.th`: torch; otherwise safetensors).
 */
export type SaveWeightsOptions = SaveTorchWeightsOptions;

/**
 * Options of {@link loadWeights}: `from` (required): `'torchvision'` for
 * torchvision's (and timm's) ResNets ({@link TORCHVISION_RESNET}), `'cifar'`
 * for PyTorch CIFAR ResNets ({@link CIFAR_RESNET}); an optional
 * `maxFileBytes` limit (default 4 GiB) and `onWarning`, told of tensors
 * holding NaN or infinite values (default: `console.warn`).
 */
export type LoadWeightsOptions = LoadTorchWeightsOptions<'torchvision' | 'cifar'>;

/** The state-dict formats {@link loadWeights} reads, by `from`. */
const FORMATS = { torchvision: TORCHVISION_RESNET, cifar: CIFAR_RESNET } as const;

/**
 * Loads a PyTorch ResNet state dict into a model built by this package, from
 * a PyTorch checkpoint (`.pth`: what `torch.save` writes, torchvision's own
 * downloads included) or a `.safetensors` file, or their bytes; the format is
 * told by content. Checkpoints are read without running their code, and a
 * state dict under `state_dict`, `model`, `model_state_dict` or `net`, with
 * DataParallel's `module.` prefix, is found. Names are mapped (torchvision's
 * with `from: 'torchvision'`, PyTorch CIFAR ResNets' with `from: 'cifar'`),
 * conv kernels converted from OIHW to HWIO and the classifier transposed.
 * Missing or unexpected keys, wrong shapes and unsupported dtypes are
 * reported together, and nothing is loaded unless everything matches.
 *
 * @param model - A ResNet built by this package with the same depth, shortcut
 *   option and classes: option B (the default) for torchvision's; for PyTorch
 *   CIFAR ResNets, {@link cifarResNet} with option A (its default) and
 *   `channelPadding: 'both'` (weights fit either padding; only `'both'`
 *   computes what those networks compute). `strideIn` does not change the
 *   weights' shapes, but torchvision's are trained with `'3x3'`, the default.
 * @param source - A `.pth` or `.safetensors` file path (Node only), or its bytes as a `Uint8Array` or `ArrayBuffer`.
 * @param opts - `from: 'torchvision' | 'cifar'` (required), optional `maxFileBytes` and `onWarning`; see {@link LoadWeightsOptions}.
 * @returns Once every weight is set: which loaded tensors hold NaN or infinite values (also passed to `onWarning`).
 * @throws Error (the promise rejects) when `opts.from` is neither
 *   `'torchvision'` nor `'cifar'`, the source is neither a path nor bytes, the
 *   file is larger than `maxFileBytes`, in neither format or invalid (a
 *   checkpoint that needs code beyond a tensor state dict's, such as a whole
 *   pickled model, is refused, naming the Python name), or the state dict
 *   does not fit the model (every missing or unexpected key and wrong shape
 *   listed). Nothing is loaded then.
 *
 * @example
 * ```ts
 * const net = resnet50({ classifierActivation: null });
 * await loadWeights(net, 'resnet50-11ad3fa6.pth', { from: 'torchvision' });
 * // akamaster/pytorch_resnet_cifar10's resnet20:
 * const cifar = cifarResNet(20, { channelPadding: 'both', classifierActivation: null });
 * await loadWeights(cifar, 'resnet20-12fca82f.th', { from: 'cifar' });
 * ```
 * @see [torchvision's ResNet models](https://pytorch.org/vision/stable/models/resnet.html)
 */
export async function loadWeights(
  model: LayersModel,
  source: WeightSource,
  opts: LoadWeightsOptions,
): Promise<LoadWeightsReport> {
  return loadTorchWeights(model, source, FORMATS, opts);
}

/**
 * Saves a model built by this package as a torchvision ResNet state dict
 * (returned, and written atomically to `path` if given): as a PyTorch
 * checkpoint for a `.pth`, `.pt` or `.th` path (`torch.save`'s zip format,
 * `torchvision.models.resnet50().load_state_dict(torch.load(path))`), else
 * as safetensors (`….load_state_dict(safetensors.torch.load_file(path))`);
 * `opts.fileFormat` overrides the extension. Either loads for the same depth.
 * BN's `num_batches_tracked` counters are not written; PyTorch's
 * `load_state_dict` recreates them (checked with PyTorch 1.13).
 *
 * @param model - A ResNet built by this package. The file loads into torchvision
 *   only with option-B shortcuts (the default): option C adds projections and
 *   the plain nets lack them, which PyTorch reports as unexpected or missing keys.
 * @param path - Where to write the file (Node only). Default: nothing is written.
 * @param opts - `fileFormat`: `'safetensors'` or `'torch'`; see {@link SaveWeightsOptions}.
 * @returns The file's bytes.
 * @throws Error when a weight has no torchvision counterpart (a layer this
 *   package did not build), for an unknown option or `fileFormat`, or when the
 *   file cannot be written.
 *
 * @example
 * ```ts
 * const net = resnet18();
 * // … train …
 * await saveWeights(net, 'resnet18.pth'); // Python: torch.load('resnet18.pth')
 * const bytes = await saveWeights(net); // safetensors, not written
 * ```
 * @see {@link loadWeights}, the way back.
 */
export async function saveWeights(
  model: LayersModel,
  path?: string,
  opts: SaveWeightsOptions = {},
): Promise<Uint8Array> {
  return saveTorchWeights(model, TORCHVISION_RESNET, path, opts);
}
