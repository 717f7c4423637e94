/**
 * Pretrained weights by name, for Node: torchvision's ResNet and VGG weights
 * (listed in `@convnets/resnet`'s and `@convnets/vgg`'s registries, with
 * their URLs, hashes, transforms and accuracies) downloaded into a cache
 * folder, resumably, atomically and hash-checked, then loaded into the
 * model; any other http(s) URL is cached the same way.
 *
 * @packageDocumentation
 */
export { cachedPath, convnetsHome, httpUrl } from './cache';
export { download, type DownloadOptions, type DownloadProgress } from './download';
export {
  PRETRAINED_MODELS,
  downloadWeights,
  mirrored,
  pretrained,
  type DownloadedWeights,
  type PretrainedOptions,
  type WeightsOptions,
} from './pretrained';
