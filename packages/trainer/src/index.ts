/**
 * `@convnets/trainer`: the ResNet and VGG papers' training recipe for
 * TensorFlow.js, as a library. SGD with momentum (PyTorch's or Caffe's rule,
 * Nesterov) and L2 weight decay, resumable learning-rate schedules (step,
 * multi-step, plateau, cosine, warm-up), gradient accumulation, BN in training
 * mode for updates and inference mode for validation, top-1/top-5 metrics in
 * JSON Lines and CSV, atomic checkpoints and bitwise-exact resume. It sets no
 * process-wide state unless asked (`handleSignals`); the `convnets` command,
 * backend selection and training curves are in `@convnets/cli`.
 *
 * @example
 * ```ts
 * import { cifarResNet } from '@convnets/resnet';
 * import { cifarEval, cifarTrain, imageFolder } from '@convnets/imagenet-data';
 * import { folderEvaluationData, folderTrainingData, train } from '@convnets/trainer';
 *
 * const model = cifarResNet(20, { classifierActivation: null });
 * const data = folderTrainingData(await imageFolder('cifar/train'), { transform: cifarTrain(), batchSize: 128 });
 * const validation = folderEvaluationData(await imageFolder('cifar/val'), { transform: cifarEval() });
 * await train({
 *   model, data, validation, steps: 64000, lr: 0.1,
 *   schedule: { kind: 'multistep', milestones: [32000, 48000], unit: 'iteration' },
 *   outDir: 'runs/resnet20',
 * });
 * ```
 *
 * @packageDocumentation
 */
export type {
  DataPosition,
  EvaluationBatch,
  EvaluationData,
  TrainingBatch,
  TrainingData,
} from './data/types';
export {
  arrayEvaluationData,
  arrayTrainingData,
  type ArrayDataset,
  type ArrayEvaluationOptions,
  type ArrayTrainingOptions,
} from './data/array';
export {
  folderEvaluationData,
  folderTrainingData,
  type FolderEvaluationOptions,
  type FolderTrainingOptions,
} from './data/folder';
export {
  LearningRateSchedule,
  type ScheduleContext,
  type ScheduleSpec,
  type ScheduleState,
  type ScheduleUnit,
  type WarmupSpec,
} from './optim/schedules';
export {
  SGD_PRESETS,
  SgdOptimizer,
  isBatchNormParameter,
  isBiasParameter,
  type MomentumRule,
  type NamedVariable,
  type SgdOptions,
} from './optim/sgd';
export {
  CHECKPOINT_FORMAT,
  NonFiniteWeightsError,
  ResumeMismatchError,
  architectureHash,
  assignWeights,
  checkpointName,
  compareResumeKeys,
  latestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  readCheckpoint,
  readCheckpointState,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointHooks,
  type CheckpointState,
  type CheckpointTensors,
  type EpochTotals,
  type ResumeKey,
} from './run/checkpoint';
export {
  countCorrect,
  evaluate,
  outputsProbabilities,
  toProbabilities,
  type EvaluationResult,
} from './run/evaluate';
export { METRICS_COLUMNS, MetricsLog, readMetrics, type MetricsRow } from './run/metrics-log';
export { RUN_FILES, RunExistsError, existingRun } from './run/run-folder';
export {
  NonFiniteLossError,
  Trainer,
  checkpointHooks,
  train,
  type EpochInfo,
  type StepInfo,
  type TrainResult,
  type TrainerCallbacks,
  type TrainerOptions,
} from './run/trainer';
