/**
 * VGG networks for TensorFlow.js: every configuration of Simonyan & Zisserman
 * (arXiv 1409.1556), A, A-LRN, B, C, D and E, with optional batch
 * normalisation, and import/export of torchvision weights in safetensors
 * format. Given the same weights they compute what torchvision computes.
 *
 * @packageDocumentation
 */
export {
  VGG_CONFIGS,
  VGG_FC_UNITS,
  VGG_TOTAL_STRIDE,
  type VggConfig,
  type VggLayer,
} from './specs';
export { VGG_ALIASES, VGG_MODELS } from './models';
export * from './vgg';
export {
  TORCHVISION_VGG,
  loadWeights,
  saveWeights,
  type LoadWeightsOptions,
  type SaveWeightsOptions,
} from './weights';
