import {
  torchvisionWeights,
  type AliasTable,
  type ModelEntry,
  type Preprocessing,
} from '@convnets/layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { VGG_CONFIGS, type VggConfig } from './specs';
import {
  vgg11,
  vgg11Bn,
  vgg11Lrn,
  vgg13,
  vgg13Bn,
  vgg16,
  vgg16Bn,
  vgg16C,
  vgg19,
  vgg19Bn,
  type VggOptions,
} from './vgg';
import { TORCHVISION_VGG } from './weights';

/** The paper's single-scale recipe (§3.1, S = 256): 224 crops of 256-pixel images; 256-resize, centre crop to evaluate. */
const PREPROCESSING: Preprocessing = {
  train: { kind: 'fixed-scale', shorterSide: 256 },
  eval: { kind: 'resize-and-center-crop', shorterSide: 256 },
  normalization: 'imagenet',
};

/**
 * torchvision's ImageNet-1K weights of each model (`IMAGENET1K_V1`, its
 * `DEFAULT`), with the parameter count and accuracies it reports. vgg16's
 * `IMAGENET1K_FEATURES` (SSD's backbone) is left out: its classifier holds
 * NaN by design, it has no categories, and it expects another normalisation.
 */
const WEIGHTS: Readonly<Record<string, Pick<ModelEntry, 'weights' | 'defaultWeights'>>> =
  Object.fromEntries(
    (
      [
        ['vgg11', 'vgg11-8a719046.pth', 132_863_336, [69.02, 88.628]],
        ['vgg11_bn', 'vgg11_bn-6002323d.pth', 132_868_840, [70.37, 89.81]],
        ['vgg13', 'vgg13-19584684.pth', 133_047_848, [69.928, 89.246]],
        ['vgg13_bn', 'vgg13_bn-abd245e5.pth', 133_053_736, [71.586, 90.374]],
        ['vgg16', 'vgg16-397923af.pth', 138_357_544, [71.592, 90.382]],
        ['vgg16_bn', 'vgg16_bn-6c64b313.pth', 138_365_992, [73.36, 91.516]],
        ['vgg19', 'vgg19-dcbb9e9d.pth', 143_667_240, [72.376, 90.876]],
        ['vgg19_bn', 'vgg19_bn-c79401a0.pth', 143_678_248, [74.218, 91.842]],
      ] as const
    ).map(([name, file, numParams, acc]) => [
      name,
      torchvisionWeights(numParams, { IMAGENET1K_V1: { file, acc } }, 'IMAGENET1K_V1'),
    ]),
  );

/** Configurations that torchvision does not build. */
const PAPER_ONLY: readonly VggConfig[] = ['A-LRN', 'C'];

function entry(
  name: string,
  config: VggConfig,
  build: (opts?: VggOptions) => LayersModel,
): ModelEntry<VggOptions> {
  const blocks = VGG_CONFIGS[config].filter((layer) => layer === 'M').length;
  return {
    name,
    family: 'vgg',
    dataset: 'imagenet',
    inTorchvision: !PAPER_ONLY.includes(config),
    defaultImageSize: 224,
    preprocessing: PREPROCESSING,
    stages: Array.from({ length: blocks }, (_, i) => ({
      name: `block${i + 1}`,
      layer: `block${i + 1}_pool`,
    })),
    stateDict: TORCHVISION_VGG,
    torchvisionClassifierKey: 'classifier.6.weight',
    ...(WEIGHTS[name] ?? { weights: {} }),
    build,
  };
}

/** Each registry name's configuration and factory. */
const VGG_FACTORIES = {
  vgg11: ['A', vgg11],
  vgg11_bn: ['A', vgg11Bn],
  vgg11_lrn: ['A-LRN', vgg11Lrn],
  vgg13: ['B', vgg13],
  vgg13_bn: ['B', vgg13Bn],
  vgg16_c: ['C', vgg16C],
  vgg16: ['D', vgg16],
  vgg16_bn: ['D', vgg16Bn],
  vgg19: ['E', vgg19],
  vgg19_bn: ['E', vgg19Bn],
} as const;

/**
 * Every named VGG of this package, by canonical (torchvision-style
 * snake_case) name, with what tools need to use it: family, default input
 * size, preprocessing, stages, torchvision weight format, torchvision's
 * pretrained weights (`weights`, `defaultWeights`) and the builder.
 * torchvision's eight (`vgg11` … `vgg19_bn`) and the paper's A-LRN
 * (`vgg11_lrn`) and C (`vgg16_c`). Merge it with other packages' tables
 * through `@convnets/layers`' `modelRegistry`.
 *
 * @example
 * ```ts
 * const net = VGG_MODELS.vgg16_bn.build({ classes: 10, inputShape: [32, 32, 3], seed: 0 });
 * ```
 * @see [Simonyan & Zisserman, arXiv 1409.1556, Table 1](https://arxiv.org/abs/1409.1556)
 */
export const VGG_MODELS = Object.freeze(
  Object.fromEntries(
    Object.entries(VGG_FACTORIES).map(([name, [config, build]]) => [
      name,
      entry(name, config, build),
    ]),
  ) as Record<keyof typeof VGG_FACTORIES, ModelEntry<VggOptions>>,
);

/**
 * The command line's older spellings of {@link VGG_MODELS} names:
 * `vgg16-bn` → `vgg16_bn` (and the other `-bn`s), `vgg11-lrn` → `vgg11_lrn`,
 * `vgg16c` → `vgg16_c`.
 */
export const VGG_ALIASES: AliasTable = Object.freeze({
  ...Object.fromEntries(
    Object.keys(VGG_FACTORIES)
      .filter((name) => name.endsWith('_bn') || name.endsWith('_lrn'))
      .map((name) => [name.replace('_', '-'), name]),
  ),
  vgg16c: 'vgg16_c',
});
