import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  cifarPlain,
  cifarResNet,
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
} from '@convnets/resnet';
import { vgg11, vgg11Lrn, vgg13, vgg16, vgg16C, vgg19 } from '@convnets/vgg';
import {
  cifarEval,
  cifarTrain,
  resnetPaperEval,
  resnetPaperTrain,
  tenCrop,
  vggPaperTrain,
  type Transform,
} from '@convnets/imagenet-data';

type Factory = (opts: Record<string, unknown>) => LayersModel;

const IMAGENET: Record<string, Factory> = {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  plain18,
  plain34,
  plain50,
  plain101,
  plain152,
  vgg11,
  'vgg11-lrn': vgg11Lrn,
  vgg13,
  vgg16,
  vgg16c: vgg16C,
  vgg19,
} as Record<string, Factory>;

/** Every accepted `--arch` (CIFAR depths are any 6n + 2; these are the paper's). */
export const ARCHITECTURES: readonly string[] = [
  ...Object.keys(IMAGENET),
  ...['vgg11', 'vgg13', 'vgg16', 'vgg19'].map((v) => `${v}-bn`),
  ...[20, 32, 44, 56, 110, 1202].flatMap((d) => [`cifar-resnet${d}`, `cifar-plain${d}`]),
];

/** A parsed architecture name. */
export interface Architecture {
  readonly name: string;
  readonly family: 'cifar' | 'resnet' | 'vgg';
  readonly defaultImageSize: number;
  build(options: { classes: number; imageSize?: number }): LayersModel;
  trainTransform(imageSize: number): Transform;
  evalTransform(imageSize: number, tenCrops?: boolean): Transform;
}

/** Resolves an `--arch` name, or throws a one-line error listing the accepted names. */
export function architecture(name: string): Architecture {
  const cifar = /^cifar-(resnet|plain)(\d+)$/.exec(name);
  const bn = /^(vgg\d+)-bn$/.exec(name);
  const base = bn ? bn[1] : name;
  if (!cifar && !IMAGENET[base]) {
    throw new Error(
      `unknown architecture "${name}"; expected one of ${ARCHITECTURES.join(', ')} (cifar-resnetN / cifar-plainN for any N = 6n + 2)`,
    );
  }
  const family = cifar ? 'cifar' : base.startsWith('vgg') ? 'vgg' : 'resnet';
  const resize = (size: number) => Math.round((size * 256) / 224);
  return {
    name,
    family,
    defaultImageSize: cifar ? 32 : 224,
    build({ classes, imageSize }) {
      const size = imageSize ?? (cifar ? 32 : 224);
      const common = {
        classes,
        inputShape: [size, size, 3] as [number, number, number],
        classifierActivation: null,
      };
      if (cifar)
        return (cifar[1] === 'resnet' ? cifarResNet : cifarPlain)(Number(cifar[2]), common);
      return IMAGENET[base]({ ...common, ...(bn ? { batchNorm: true } : {}) });
    },
    trainTransform(size) {
      if (cifar) return cifarTrain({ size, padding: Math.max(1, Math.round(size / 8)) });
      const scale: [number, number] = [resize(size), Math.round((size * 480) / 224)];
      return family === 'vgg'
        ? vggPaperTrain({ size, scale: resize(size) })
        : resnetPaperTrain({ size, scale });
    },
    evalTransform(size, tenCrops = false) {
      if (cifar) return cifarEval({ size });
      return tenCrops
        ? tenCrop({ size, resize: resize(size) })
        : resnetPaperEval({ size, resize: resize(size) });
    },
  };
}
