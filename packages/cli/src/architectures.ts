import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { LoadWeightsReport, StateDictFormat, TorchLayout } from '@convnets/layers';
import {
  loadWeights as loadResNetWeights,
  cifarPlain,
  cifarResNet,
  RESNETS,
  TORCHVISION_RESNET,
} from '@convnets/resnet';
import { loadWeights as loadVggWeights, TORCHVISION_VGG, VGGS } from '@convnets/vgg';
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

/** The classifier layer of every architecture here: its weights' last dimension is the class count. */
const CLASSIFIER_LAYER = 'predictions';

/** One weight of an architecture's model, as {@link Architecture.expectedWeights} lists it. */
export interface ExpectedWeight {
  /** `layer/weight`, e.g. `predictions/kernel`. */
  readonly name: string;
  /** Its shape in the model (tfjs layout). */
  readonly shape: readonly number[];
  /** Its key and shape in a torchvision state dict (PyTorch layout); null where the format has none. */
  readonly torchvision: { readonly key: string; readonly shape: readonly number[] } | null;
}

/** The PyTorch shape of a weight of ours, per `@convnets/layers`' {@link TorchLayout}. */
function torchShape(ours: readonly number[], layout: TorchLayout): number[] {
  if (layout === 'conv') return [ours[3], ours[2], ours[0], ours[1]];
  if (layout === 'vector') return [...ours];
  return [ours[1], ours[0]]; // 'linear', and a linear layer after a flatten
}

/** Why `--ten-crop` does not apply to `a`, or undefined when it does. */
export function tenCropRefusal(a: Pick<Architecture, 'name' | 'family'>): string | undefined {
  return a.family === 'cifar'
    ? `--ten-crop applies to ImageNet architectures (resnet*, plain*, vgg*: crops of a resized image); ${a.name} is a CIFAR net, evaluated on the whole image`
    : undefined;
}

/** A parsed architecture name. */
export interface Architecture {
  readonly name: string;
  readonly family: 'cifar' | 'resnet' | 'vgg';
  readonly defaultImageSize: number;
  /** The key of the classifier's weight in a torchvision state dict (its first dimension is the class count). */
  readonly torchvisionClassifierKey: string;
  /** Builds the model; `skipInit` fills the weights with zeros (cheap: no random draw). */
  build(options: { classes: number; imageSize?: number; skipInit?: boolean }): LayersModel;
  /**
   * Every weight of the model {@link build} makes for `classes` and
   * `imageSize`, in `model.weights` order: the one statement of an
   * architecture's shapes, taken from a 1-class model built with zero weights
   * (milliseconds, and zero pages cost no memory); the classifier's last
   * dimension is then `classes`. Check a file against it before building the
   * model it asks for.
   */
  expectedWeights(options: { classes: number; imageSize?: number }): ExpectedWeight[];
  /** State-dict keys of the torchvision format that carry nothing to load (BN's `num_batches_tracked`). */
  readonly torchvisionIgnore: RegExp | undefined;
  /**
   * Loads a torchvision state dict (safetensors bytes) into a model this
   * architecture built. Tensors holding NaN or infinite values are loaded and
   * listed in the report, not printed.
   */
  loadTorchvisionWeights(model: LayersModel, bytes: Uint8Array): Promise<LoadWeightsReport>;
  trainTransform(imageSize: number): Transform;
  /** @throws Error for `tenCrops` on a CIFAR architecture (see {@link tenCropRefusal}). */
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
  const format: StateDictFormat = family === 'vgg' ? TORCHVISION_VGG : TORCHVISION_RESNET;
  const self: Architecture = {
    name,
    family,
    defaultImageSize: cifar ? 32 : 224,
    torchvisionClassifierKey: family === 'vgg' ? 'classifier.6.weight' : 'fc.weight',
    torchvisionIgnore: format.ignore,
    loadTorchvisionWeights: (model, bytes) =>
      (family === 'vgg' ? loadVggWeights : loadResNetWeights)(model, bytes, {
        from: 'torchvision',
        onWarning: () => {}, // the report carries the same tensors; the CLI prints one line
      }),
    build({ classes, imageSize, skipInit }) {
      const size = imageSize ?? (cifar ? 32 : 224);
      const common = {
        classes,
        inputShape: [size, size, 3] as [number, number, number],
        classifierActivation: null,
        ...(skipInit ? { skipInit } : {}),
      };
      if (cifar)
        return (cifar[1] === 'resnet' ? cifarResNet : cifarPlain)(Number(cifar[2]), common);
      return IMAGENET[base]({ ...common, ...(bn ? { batchNorm: true } : {}) });
    },
    expectedWeights({ classes, imageSize }) {
      const probe = self.build({ classes: 1, imageSize, skipInit: true });
      try {
        return probe.weights.map((w) => {
          const shape = [...w.shape] as number[];
          const slash = w.originalName.lastIndexOf('/');
          const layer = w.originalName.slice(0, slash);
          if (layer === CLASSIFIER_LAYER) shape[shape.length - 1] = classes;
          const target = format.map(
            { layer, weight: w.originalName.slice(slash + 1), shape },
            probe,
          );
          return {
            name: w.originalName,
            shape,
            torchvision: target && { key: target.key, shape: torchShape(shape, target.layout) },
          };
        });
      } finally {
        probe.dispose();
      }
    },
    trainTransform(size) {
      if (cifar) return cifarTrain({ size, padding: Math.max(1, Math.round(size / 8)) });
      const scale: [number, number] = [resize(size), Math.round((size * 480) / 224)];
      return family === 'vgg'
        ? vggPaperTrain({ size, scale: resize(size) })
        : resnetPaperTrain({ size, scale });
    },
    evalTransform(size, tenCrops = false, preprocessing = 'paper') {
      const refusal = tenCrops ? tenCropRefusal(self) : undefined;
      if (refusal) throw new Error(refusal);
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
  return self;
}
