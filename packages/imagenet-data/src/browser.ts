/*
 * `@convnets/imagenet-data/browser`: the part of the package that runs in a
 * browser (or a worker, Deno, Bun): the transforms and presets, `preprocess`
 * for pixels already in memory (a `tf.browser.fromPixels` tensor, an
 * `ImageData`), the class names and `decodePredictions`. Its module graph
 * holds no Node module and no sharp (test/browser-entry.test.ts checks);
 * the main entry re-exports all of it, with the file and folder functions.
 */
export { IMAGENET_CLASSES, IMAGENET_WNIDS, imagenetClass, type ImageNetClass } from './classes';
export { decodePredictions, type PredictionRow } from './predictions';
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
export { CIFAR10_CLASSES } from './cifar-classes';
export {
  cifarEval,
  cifarTrain,
  torchvisionEval,
  torchvisionTrain,
  type CifarOptions,
  type TorchvisionOptions,
} from './presets-torchvision';
export type { TransformedView } from './normalization';
export { epochPermutation, permutation, Random, sampleRandom } from './rng';
export { transformPixels, type PixelImage, type TransformedPixels } from './pixels';
export {
  preprocess,
  preprocessViews,
  transformPixelsInto,
  type PreprocessOptions,
  type RgbPixels,
} from './preprocess';
