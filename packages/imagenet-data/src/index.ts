/**
 * ImageNet for TensorFlow.js in Node: image-folder datasets and the three
 * ILSVRC-2012 validation layouts, the 1000 class names with
 * `decodePredictions`, sharp-based decoding that copes with every file
 * ImageNet throws at you, the ResNet/VGG papers' and torchvision's
 * augmentation as named presets and composable steps, and a batched,
 * shuffled, sharded, prefetching, resumable loader that produces one NHWC
 * float32 tensor per batch.
 *
 * @example
 * ```ts
 * import { createLoader, imageFolder, resnetPaperTrain } from '@convnets/imagenet-data';
 *
 * const train = await imageFolder('/data/imagenet/train');
 * const loader = createLoader(train, { transform: resnetPaperTrain(), batchSize: 64, seed: 1 });
 * for await (const { images, labels } of loader) {
 *   // images: [64, 224, 224, 3] float32; labels: [64] int32
 *   images.dispose();
 *   labels.dispose();
 * }
 * ```
 *
 * @packageDocumentation
 */
export { IMAGENET_CLASSES, IMAGENET_WNIDS, imagenetClass, type ImageNetClass } from './classes';
export { decodePredictions, type PredictionRow } from './predictions';
export {
  IMAGE_EXTENSIONS,
  imageFolder,
  imageFolderSplits,
  holdOutPerClass,
  type HeldOutSplit,
  type ImageDataset,
  type ImageFolderDataset,
  type ImageFolderOptions,
  type Sample,
} from './folder';
export { imagenetValidation, type ImageNetValidationOptions } from './validation-set';
export { decodeImage, ImageDecodeError, type DecodeOptions, type DecodedImage } from './decode';
export { jpegFastPath, type JpegAddonStatus } from './addon';
export type { Padding, Rect, ResizeKernel, ViewGeometry } from './geometry';
export {
  centerCrop,
  horizontalFlip,
  pad,
  randomCrop,
  randomHorizontalFlip,
  randomResizedCrop,
  resize,
  resizeShorterSide,
  type RandomResizedCropOptions,
} from './transform-steps';
export { multiScaleViews, tenCropViews } from './transform-views';
export {
  compose,
  type ComposeOptions,
  type LightingOptions,
  type MeanImage,
  type Normalization,
  type ResolvedNormalization,
  type SamplePlan,
  type Transform,
  type TransformStep,
} from './transforms';
export {
  CIFAR10_MEAN,
  CIFAR10_STD,
  IMAGENET_MEAN,
  IMAGENET_MEAN_255,
  IMAGENET_PCA_LIGHTING,
  IMAGENET_STD,
  multiScaleEval,
  resnetPaperEval,
  resnetPaperTrain,
  tenCrop,
  vggPaperTrain,
  type EvalOptions,
  type MultiScaleEvalOptions,
  type PaperNormalizationOptions,
  type ResnetPaperTrainOptions,
  type VggPaperTrainOptions,
} from './presets';
export {
  cifarEval,
  cifarTrain,
  torchvisionEval,
  torchvisionTrain,
  type CifarOptions,
  type TorchvisionOptions,
} from './presets-torchvision';
export { transformImage, type TransformImageOptions } from './pipeline';
export type { TransformedView } from './normalization';
export { createLoader, ImageLoader } from './loader';
export type {
  Batch,
  LoaderOptions,
  LoaderPosition,
  LoaderState,
  LoaderStats,
  SkippedImage,
} from './loader-types';
export { epochPermutation, permutation, Random, sampleRandom } from './rng';
export { transformPixels, type PixelImage, type TransformedPixels } from './pixels';
export { computeMean, type ComputeMeanOptions, type DatasetMean } from './mean';
export {
  synthesizeImageFolder,
  type SynthesizedFolder,
  type SynthesizeOptions,
} from './synthesize';
export { checkImageFolder, type CheckImageFolderOptions, type ImageFolderReport } from './check';
