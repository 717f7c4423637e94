/**
 * ImageNet for TensorFlow.js in Node: image-folder datasets and the three
 * ILSVRC-2012 validation layouts, the 1000 class names with
 * `decodePredictions`, sharp-based decoding that copes with every file
 * ImageNet throws at you, the ResNet/VGG papers' and torchvision's
 * augmentation as named presets and composable steps, and a batched,
 * shuffled, sharded, prefetching, resumable loader that produces one NHWC
 * float32 tensor per batch. `preprocess` applies the same transforms to
 * pixels already in memory (a `tf.browser.fromPixels` tensor, an
 * `ImageData`); `@convnets/imagenet-data/browser` exports it with the
 * transforms, presets and class names, without any Node-only module.
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
export * from './browser';
export {
  IMAGE_EXTENSIONS,
  imageFolder,
  imageFolderSplits,
  type ImageDataset,
  type ImageFolderDataset,
  type ImageFolderOptions,
  type Sample,
} from './folder';
export { imagenetValidation, type ImageNetValidationOptions } from './validation-set';
export { decodeImage, ImageDecodeError, type DecodeOptions, type DecodedImage } from './decode';
export { jpegFastPath, type JpegAddonStatus } from './addon';
export { transformImage, type TransformImageOptions } from './pipeline';
export { createLoader, ImageLoader } from './loader';
export type {
  Batch,
  LoaderOptions,
  LoaderPosition,
  LoaderState,
  LoaderStats,
  SkippedImage,
} from './loader-types';
export type { PixelDataset } from './pixels';
export { holdOutPerClass, type HeldOutSplit } from './holdout';
export { CIFAR10_CLASSES } from './cifar-classes';
export {
  CIFAR_ARCHIVES,
  cifar10,
  cifar100,
  readCifarArchive,
  type CifarArchive,
  type CifarDataset,
  type CifarDatasetOptions,
  type CifarFormat,
  type CifarLayout,
  type CifarName,
  type CifarSplit,
} from './cifar';
export { writeImageFolder, type WriteImageFolderOptions } from './write-folder';
export { computeMean, type ComputeMeanOptions, type DatasetMean } from './mean';
export {
  synthesizeImageFolder,
  type SynthesizedFolder,
  type SynthesizeOptions,
} from './synthesize';
export { checkImageFolder, type CheckImageFolderOptions, type ImageFolderReport } from './check';
