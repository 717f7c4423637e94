/**
 * ResNets for TensorFlow.js: ResNet-18/34/50/101/152 and their plain
 * counterparts as in He et al. (arXiv 1512.03385), the CIFAR-10 ResNets of its
 * §4.2, a backbone form, and import/export of torchvision weights in
 * safetensors format. Given the same weights they compute what torchvision
 * computes.
 *
 * @packageDocumentation
 */
export { cifarPlain, cifarResNet, type CifarResNetOptions } from './cifar';
export { stageOutputs } from './features';
export { RESNET_ALIASES, RESNET_MODELS } from './models';
export * from './resnet';
export {
  CIFAR_DEPTHS,
  CIFAR_STAGE_WIDTHS,
  RESNET_SPECS,
  RESNET_TOTAL_STRIDE,
  STAGE_NAMES,
  STAGE_WIDTHS,
  type ResNetName,
  type ResNetSpec,
} from './specs';
export {
  CIFAR_RESNET,
  TORCHVISION_RESNET,
  loadWeights,
  saveWeights,
  type LoadWeightsOptions,
  type SaveWeightsOptions,
} from './weights';
