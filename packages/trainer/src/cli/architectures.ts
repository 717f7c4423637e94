import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  loadWeights as loadResNetWeights,
  cifarPlain,
  cifarResNet,
  RESNETS,
} from '@convnets/resnet';
import { loadWeights as loadVggWeights, VGGS } from '@convnets/vgg';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  cifarEval,
  cifarTrain,
  resnetPaperEval,
  resnetPaperTrain,
  tenCrop,
  torchvisionEval,
  vggPaperTrain,
  type Transform,
} from '@convnets/imagenet-data';

type Factory = (opts: Record<string, unknown>) => LayersModel;

const IMAGENET = { ...RESNETS, ...VGGS } as Record<string, Factory>;

/** Every accepted `--arch` (CIFAR depths are any 6n + 2; these are the paper's). */
export const ARCHITECTURES: readonly string[] = [
  ...Object.keys(IMAGENET),
  ...['vgg11', 'vgg13', 'vgg16', 'vgg19'].map((v) => `${v}-bn`),
  ...[20, 32, 44, 56, 110, 1202].flatMap((d) => [`cifar-resnet${d}`, `cifar-plain${d}`]),
];

/**
 * How evaluation images are normalised: `'paper'` subtracts the ImageNet mean
 * on the 0 … 255 scale (what `convnets train` uses for ImageNet
 * architectures), `'torchvision'` computes `(x / 255 − mean) / std` (what
 * torchvision's weights expect). CIFAR architectures always use the CIFAR
 * normalisation.
 */
export type Preprocessing = 'paper' | 'torchvision';

/** A parsed architecture name. */
export interface Architecture {
  readonly name: string;
  readonly family: 'cifar' | 'resnet' | 'vgg';
  readonly defaultImageSize: number;
  /** The key of the classifier's weight in a torchvision state dict (its first dimension is the class count). */
  readonly torchvisionClassifierKey: string;
  build(options: { classes: number; imageSize?: number }): LayersModel;
  /** Loads a torchvision state dict (safetensors bytes) into a model this architecture built. */
  loadTorchvisionWeights(model: LayersModel, bytes: Uint8Array): Promise<void>;
  trainTransform(imageSize: number): Transform;
  evalTransform(imageSize: number, tenCrops?: boolean, preprocessing?: Preprocessing): Transform;
}

/** Resolves an `--arch` name, or throws a one-line error listing the accepted names. */
export function architecture(name: string): Architecture {
  const cifar = /^cifar-(resnet|plain)(\d+)$/.exec(name);
  const bn = /^(vgg\d+)-bn$/.exec(name);
  const base = bn ? bn[1] : name;
  if (!cifar && !Object.hasOwn(IMAGENET, base)) {
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
    torchvisionClassifierKey: family === 'vgg' ? 'classifier.6.weight' : 'fc.weight',
    loadTorchvisionWeights: (model, bytes) =>
      (family === 'vgg' ? loadVggWeights : loadResNetWeights)(model, bytes, {
        from: 'torchvision',
      }),
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
    evalTransform(size, tenCrops = false, preprocessing = 'paper') {
      if (cifar) return cifarEval({ size });
      if (preprocessing === 'torchvision') {
        // torchvision's (x / 255 − mean) / std, written on the 0 … 255 scale for the ten crops.
        return tenCrops
          ? tenCrop({
              size,
              resize: resize(size),
              mean: IMAGENET_MEAN.map((m) => m * 255) as [number, number, number],
              std: IMAGENET_STD.map((s) => s * 255) as [number, number, number],
            })
          : torchvisionEval({ size, resize: resize(size) });
      }
      return tenCrops
        ? tenCrop({ size, resize: resize(size) })
        : resnetPaperEval({ size, resize: resize(size) });
    },
  };
}
