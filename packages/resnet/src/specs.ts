import type { BlockKind } from '@convnets/layers';

/**
 * One ImageNet ResNet architecture: block kind and blocks per stage
 * (conv2_x … conv5_x), a column of the paper's Table 1. {@link buildResNet}
 * builds one.
 */
export interface ResNetSpec {
  /** Residual block kind. */
  block: BlockKind;
  /** Blocks in conv2_x, conv3_x, conv4_x, conv5_x. */
  blocks: readonly [number, number, number, number];
  /**
   * Channels of a bottleneck's 1×1 and 3×3 convolutions per 64 of the stage
   * width, torchvision's `width_per_group`: 128 for the Wide ResNets.
   *
   * @defaultValue `64`
   */
  widthPerGroup?: number;
}

/**
 * The ImageNet ResNets of the paper's Table 1. Stage widths are 64, 128, 256,
 * 512 for every depth ({@link STAGE_WIDTHS}); bottleneck blocks output four
 * times that.
 *
 * @example
 * ```ts
 * // A ResNet-200-style network (3-24-36-3 bottleneck blocks), from ResNet-152's block kind.
 * const net = buildResNet({ ...RESNET_SPECS.resnet152, blocks: [3, 24, 36, 3] }, { name: 'resnet200' });
 * ```
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export const RESNET_SPECS = {
  /** ResNet-18: basic blocks, 2-2-2-2 ({@link resnet18}). */
  resnet18: {
    /** Two 3×3 convolutions per block. */
    block: 'basic',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [2, 2, 2, 2],
  },
  /** ResNet-34: basic blocks, 3-4-6-3 ({@link resnet34}). */
  resnet34: {
    /** Two 3×3 convolutions per block. */
    block: 'basic',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [3, 4, 6, 3],
  },
  /** ResNet-50: bottleneck blocks, 3-4-6-3 ({@link resnet50}). */
  resnet50: {
    /** 1×1, 3×3, 1×1 convolutions per block. */
    block: 'bottleneck',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [3, 4, 6, 3],
  },
  /** ResNet-101: bottleneck blocks, 3-4-23-3 ({@link resnet101}). */
  resnet101: {
    /** 1×1, 3×3, 1×1 convolutions per block. */
    block: 'bottleneck',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [3, 4, 23, 3],
  },
  /** ResNet-152: bottleneck blocks, 3-8-36-3 ({@link resnet152}). */
  resnet152: {
    /** 1×1, 3×3, 1×1 convolutions per block. */
    block: 'bottleneck',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [3, 8, 36, 3],
  },
  /** Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide ({@link wideResnet50_2}). */
  wide_resnet50_2: {
    /** 1×1, 3×3, 1×1 convolutions per block. */
    block: 'bottleneck',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [3, 4, 6, 3],
    /** Twice torchvision's default 64. */
    widthPerGroup: 128,
  },
  /** Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide ({@link wideResnet101_2}). */
  wide_resnet101_2: {
    /** 1×1, 3×3, 1×1 convolutions per block. */
    block: 'bottleneck',
    /** Blocks in conv2_x … conv5_x. */
    blocks: [3, 4, 23, 3],
    /** Twice torchvision's default 64. */
    widthPerGroup: 128,
  },
} as const satisfies Record<string, ResNetSpec>;

/** Names of the ImageNet ResNets, the keys of {@link RESNET_SPECS}: `'resnet18'` … `'wide_resnet101_2'`. */
export type ResNetName = keyof typeof RESNET_SPECS;

/**
 * Widths (the `filters` of each block) of conv2_x … conv5_x.
 *
 * @see [He et al., arXiv 1512.03385, Table 1](https://arxiv.org/abs/1512.03385)
 */
export const STAGE_WIDTHS = [64, 128, 256, 512] as const;

/** Names of the four stages of an ImageNet ResNet, as in the paper's Table 1. */
export const STAGE_NAMES = ['conv2', 'conv3', 'conv4', 'conv5'] as const;

/** Downsampling of an ImageNet ResNet from input to conv5_x: stem stride 2, max pool 2, three stride-2 stages. */
export const RESNET_TOTAL_STRIDE = 32;

/**
 * Widths of the three stages of a CIFAR ResNet (on 32×32, 16×16, 8×8 maps).
 *
 * @see [He et al., arXiv 1512.03385, §4.2](https://arxiv.org/abs/1512.03385)
 */
export const CIFAR_STAGE_WIDTHS = [16, 32, 64] as const;

/**
 * The CIFAR-10 depths of the paper's Table 6 (any 6n + 2 builds).
 *
 * @see [He et al., arXiv 1512.03385, Table 6](https://arxiv.org/abs/1512.03385)
 */
export const CIFAR_DEPTHS = [20, 32, 44, 56, 110, 1202] as const;
