/**
 * Composable building blocks for VGG- and ResNet-family networks in
 * TensorFlow.js: conv-BN-ReLU units, basic and bottleneck residual blocks,
 * the ResNet paper's shortcut options A/B/C, whole residual stages, local
 * response normalisation, and a model summary that counts parameters and
 * multiply-adds as the papers do.
 *
 * Blocks are functions from a `SymbolicTensor` to a `SymbolicTensor` that wire
 * built-in tfjs layers with deterministic names, so the models they build save
 * and reload anywhere. Inputs are NHWC (channels last).
 *
 * @packageDocumentation
 */
export { basicBlock, bottleneckBlock, type BlockOptions, type BottleneckOptions } from './blocks';
export {
  convBn,
  checkBatchNormOptions,
  convBnRelu,
  relu,
  type BatchNormOptions,
  type ConvBnOptions,
  type KernelInitializer,
  type Padding,
} from './conv';
export {
  BatchNormalization,
  batchNormInTraining,
  type BatchNormalizationArgs,
} from './custom/batch-normalization';
export {
  LocalResponseNormalization,
  type LocalResponseNormalizationArgs,
} from './custom/local-response-normalization';
export {
  CHANNEL_PADDINGS,
  ZeroPadChannels,
  type ChannelPadding,
  type ZeroPadChannelsArgs,
} from './custom/zero-pad-channels';
export { kaimingNormalFanOut, layerSeed } from './initializers';
export {
  modelRegistry,
  type AliasTable,
  type EvalPreprocessing,
  type ModelEntry,
  type ModelRegistry,
  type ModelStage,
  type ModelTable,
  type Preprocessing,
  type TrainPreprocessing,
} from './registry';
export {
  CATEGORY_COUNTS,
  TORCHVISION_WEIGHTS_URL,
  pretrainedWeights,
  torchHubHashPrefix,
  torchvisionWeights,
  type PretrainedWeights,
  type TorchvisionWeightsSpec,
  type WeightCategories,
  type WeightsMetrics,
  type WeightsTransform,
} from './pretrained';
export { SHORTCUT_OPTIONS, shortcut, type ShortcutOption, type ShortcutOptions } from './shortcut';
export { residualStage, type BlockKind, type ResidualStageOptions } from './stage';
export { summarize, type LayerSummary, type ModelSummary, type SummarizeOptions } from './summary';
export {
  isFloatDtype,
  readSafetensors,
  toFloat32,
  writeSafetensors,
  type Float32Entry,
  type ReadSafetensorsOptions,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsTensor,
} from './weights/safetensors';
export {
  exportStateDict,
  importStateDict,
  loadSafetensorsWeights,
  loadTorchWeights,
  saveSafetensorsWeights,
  saveTorchWeights,
  torchBatchNormWeight,
  type ImportStateDictOptions,
  type LoadSafetensorsOptions,
  type LoadTorchWeightsOptions,
  type OurWeight,
  type SaveTorchWeightsOptions,
  type StateDictFormat,
  type TorchWeight,
  type WeightSource,
  type WeightsFileFormat,
} from './weights/state-dict';
export {
  readStateDict,
  readTorchStateDict,
  type ReadStateDictOptions,
  type StateDictFile,
  type StateDictFileFormat,
} from './weights/torch-checkpoint';
export { writeTorchStateDict } from './weights/torch-write';
export {
  countNonFinite,
  type LoadWeightsReport,
  type MismatchedTensor,
  type NonFiniteTensor,
  type WeightsWarning,
} from './weights/non-finite';
export { torchShape, type TorchLayout } from './weights/torch-layout';
export { withWeights, type FactoryWeightsOptions, type ModelFactory } from './with-weights';
export {
  CLASSIFIER_OPTION_KEYS,
  globalPooling,
  resolveClassifierOptions,
  type ClassifierOptions,
  type ResolvedClassifierOptions,
} from './model-options';
export { checkBoolean, checkKnownOptions, checkOneOf } from '@convnets/validate';
export { variableGrads, type VariableGradsResult } from './train/variable-grads';
