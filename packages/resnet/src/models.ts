import {
  torchvisionWeights,
  type AliasTable,
  type ModelEntry,
  type ModelStage,
  type Preprocessing,
} from '@convnets/layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { cifarPlain, cifarResNet, type CifarResNetOptions } from './cifar';
import {
  plain101,
  plain152,
  plain18,
  plain34,
  plain50,
  resnet101,
  resnet152,
  resnet18,
  resnet34,
  resnet50,
  wideResnet101_2,
  wideResnet50_2,
  type ResNetOptions,
} from './resnet';
import {
  CIFAR_DEPTHS,
  CIFAR_STAGE_WIDTHS,
  RESNET_SPECS,
  STAGE_NAMES,
  type ResNetName,
} from './specs';
import { CIFAR_RESNET, TORCHVISION_RESNET } from './weights';

/** The layer ending each stage: the last block's closing ReLU. */
const stagesOf = (names: readonly string[], blocks: readonly number[]): ModelStage[] =>
  names.map((name, i) => ({ name, layer: `${name}_block${blocks[i]}_out` }));

const TORCHVISION = { stateDict: TORCHVISION_RESNET, torchvisionClassifierKey: 'fc.weight' };
/** PyTorch CIFAR ResNets' names ({@link CIFAR_RESNET}, which also reads torchvision's `fc` and `downsample`). */
const PYTORCH_CIFAR = { stateDict: CIFAR_RESNET, torchvisionClassifierKey: 'linear.weight' };

/** The paper's ImageNet recipe (§3.4): scale augmentation in [256, 480], 224 crops; 256-resize, centre crop to evaluate. */
const IMAGENET_PREPROCESSING: Preprocessing = {
  train: { kind: 'scale-augmentation', shorterSide: [256, 480] },
  eval: { kind: 'resize-and-center-crop', shorterSide: 256 },
  normalization: 'imagenet',
};

/** The paper's CIFAR-10 recipe (§4.2): 4-pixel padding, 32×32 crops and flips; the whole image to evaluate. */
const CIFAR_PREPROCESSING: Preprocessing = {
  train: { kind: 'pad-and-crop', padding: 4 },
  eval: { kind: 'whole-image' },
  normalization: 'cifar10',
};

/** torchvision 0.14's V2 weights (its new training recipe) are evaluated at a 232 resize, V1's at 256. */
const V2 = 232;

/**
 * torchvision's ImageNet-1K weights of each model, with the parameter count
 * and accuracies it reports, and its `DEFAULT` (V2 where there is one).
 */
const WEIGHTS: Readonly<Record<string, Pick<ModelEntry, 'weights' | 'defaultWeights'>>> = {
  resnet18: torchvisionWeights(
    11_689_512,
    { IMAGENET1K_V1: { file: 'resnet18-f37072fd.pth', acc: [69.758, 89.078] } },
    'IMAGENET1K_V1',
  ),
  resnet34: torchvisionWeights(
    21_797_672,
    { IMAGENET1K_V1: { file: 'resnet34-b627a593.pth', acc: [73.314, 91.42] } },
    'IMAGENET1K_V1',
  ),
  resnet50: torchvisionWeights(
    25_557_032,
    {
      IMAGENET1K_V1: { file: 'resnet50-0676ba61.pth', acc: [76.13, 92.862] },
      IMAGENET1K_V2: { file: 'resnet50-11ad3fa6.pth', acc: [80.858, 95.434], resizeSize: V2 },
    },
    'IMAGENET1K_V2',
  ),
  resnet101: torchvisionWeights(
    44_549_160,
    {
      IMAGENET1K_V1: { file: 'resnet101-63fe2227.pth', acc: [77.374, 93.546] },
      IMAGENET1K_V2: { file: 'resnet101-cd907fc2.pth', acc: [81.886, 95.78], resizeSize: V2 },
    },
    'IMAGENET1K_V2',
  ),
  resnet152: torchvisionWeights(
    60_192_808,
    {
      IMAGENET1K_V1: { file: 'resnet152-394f9c45.pth', acc: [78.312, 94.046] },
      IMAGENET1K_V2: { file: 'resnet152-f82ba261.pth', acc: [82.284, 96.002], resizeSize: V2 },
    },
    'IMAGENET1K_V2',
  ),
  wide_resnet50_2: torchvisionWeights(
    68_883_240,
    {
      IMAGENET1K_V1: { file: 'wide_resnet50_2-95faca4d.pth', acc: [78.468, 94.086] },
      IMAGENET1K_V2: {
        file: 'wide_resnet50_2-9ba9bcbe.pth',
        acc: [81.602, 95.758],
        resizeSize: V2,
      },
    },
    'IMAGENET1K_V2',
  ),
  wide_resnet101_2: torchvisionWeights(
    126_886_696,
    {
      IMAGENET1K_V1: { file: 'wide_resnet101_2-32ee1156.pth', acc: [78.848, 94.284] },
      IMAGENET1K_V2: { file: 'wide_resnet101_2-d733dc28.pth', acc: [82.51, 96.02], resizeSize: V2 },
    },
    'IMAGENET1K_V2',
  ),
};

/**
 * The ImageNet factories by registry name. A name that is a key of
 * {@link RESNET_SPECS} is torchvision's; `plainN` is `resnetN` without shortcuts.
 */
const IMAGENET_FACTORIES = {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  wide_resnet50_2: wideResnet50_2,
  wide_resnet101_2: wideResnet101_2,
  plain18,
  plain34,
  plain50,
  plain101,
  plain152,
};

function imagenet(
  name: string,
  build: (opts?: ResNetOptions) => LayersModel,
): ModelEntry<ResNetOptions> {
  const inTorchvision = Object.hasOwn(RESNET_SPECS, name);
  const spec = RESNET_SPECS[(inTorchvision ? name : name.replace('plain', 'resnet')) as ResNetName];
  return {
    name,
    family: 'resnet',
    dataset: 'imagenet',
    inTorchvision,
    defaultImageSize: 224,
    preprocessing: IMAGENET_PREPROCESSING,
    stages: stagesOf(STAGE_NAMES, spec.blocks),
    ...TORCHVISION,
    ...(WEIGHTS[name] ?? { weights: {} }),
    build,
  };
}

function cifar(depth: number, plain: boolean): ModelEntry<CifarResNetOptions> {
  const factory = plain ? cifarPlain : cifarResNet;
  return {
    name: `${plain ? 'cifar_plain' : 'cifar_resnet'}${depth}`,
    family: 'resnet',
    dataset: 'cifar10',
    inTorchvision: false,
    defaultImageSize: 32,
    preprocessing: CIFAR_PREPROCESSING,
    stages: stagesOf(
      CIFAR_STAGE_WIDTHS.map((_, i) => STAGE_NAMES[i]),
      CIFAR_STAGE_WIDTHS.map(() => (depth - 2) / 6),
    ),
    ...PYTORCH_CIFAR,
    weights: {},
    build: (opts) => factory(depth, opts),
  };
}

const CIFAR_MODELS = Object.fromEntries(
  [false, true].flatMap((plain) =>
    CIFAR_DEPTHS.map((depth) => {
      const entry = cifar(depth, plain);
      return [entry.name, entry] as const;
    }),
  ),
) as Record<
  `cifar_${'resnet' | 'plain'}${(typeof CIFAR_DEPTHS)[number]}`,
  ModelEntry<CifarResNetOptions>
>;

/**
 * Every named ResNet of this package, by canonical (torchvision-style
 * snake_case) name, with what tools need to use it: family, default input
 * size, preprocessing, stages, PyTorch weight format (torchvision's; CIFAR
 * ResNets' for the CIFAR nets), torchvision's pretrained weights (`weights`,
 * `defaultWeights`) and the builder.
 * The ImageNet ResNets and plain nets of the paper's Table 1 and §4.1, and the
 * CIFAR-10 nets of §4.2 at the depths of Table 6 (`cifar_resnet20` …
 * `cifar_resnet1202`, `cifar_plain20` …). Merge it with other packages' tables
 * through `@convnets/layers`' `modelRegistry`.
 *
 * @example
 * ```ts
 * const entry = RESNET_MODELS.resnet50;
 * const net = entry.build({ classes: 10, seed: 0 });
 * entry.stages.map((s) => s.layer); // ['conv2_block3_out', …, 'conv5_block3_out']
 * ```
 * @see [He et al., arXiv 1512.03385](https://arxiv.org/abs/1512.03385)
 */
export const RESNET_MODELS = Object.freeze({
  ...(Object.fromEntries(
    Object.entries(IMAGENET_FACTORIES).map(([name, build]) => [name, imagenet(name, build)]),
  ) as Record<keyof typeof IMAGENET_FACTORIES, ModelEntry<ResNetOptions>>),
  ...CIFAR_MODELS,
});

/**
 * The command line's older spellings of {@link RESNET_MODELS} names:
 * `cifar-resnet20` → `cifar_resnet20`, `cifar-plain56` → `cifar_plain56`, ….
 */
export const RESNET_ALIASES: AliasTable = Object.freeze(
  Object.fromEntries(Object.keys(CIFAR_MODELS).map((name) => [name.replace('_', '-'), name])),
);
