/**
 * `@convnets/cli`: the `convnets` command — train, evaluate, predict with,
 * export for the browser, summarise and plot VGG and ResNet networks,
 * synthesise and check image folders, and report the machine's backends
 * (`convnets <command> --help` lists every flag) — and the two pieces of it that programs use too: picking
 * the fastest installed tfjs backend ({@link selectBackend}, which names any
 * CUDA/cuDNN library tfjs-node-gpu would miss) and drawing training curves as
 * in the ResNet paper's Figure 4 ({@link writeCurves}). The training itself is
 * `@convnets/trainer`.
 *
 * @example
 * ```ts
 * import { selectBackend, writeCurves } from '@convnets/cli';
 * import { readMetrics } from '@convnets/trainer';
 *
 * const { name } = await selectBackend('auto'); // tfjs-node-gpu → tfjs-node → @convnets/backend-native → cpu
 * await writeCurves('fig4.png', [{ name: 'resnet-20', rows: readMetrics('runs/r20/metrics.jsonl') }]);
 * ```
 *
 * @packageDocumentation
 */
export {
  CUDA_LIBRARIES,
  cudaLibraryDirectories,
  missingCudaLibraries,
  probeWasm,
  selectBackend,
  type BackendAttempt,
  type BackendChoice,
  type BackendSelection,
  type CudaLibraryCheckOptions,
  type LibraryDirectoryOptions,
  type SelectBackendOptions,
} from './backend';
export {
  renderCurves,
  trainingErrorCurve,
  writeCurves,
  type CurveSeries,
  type TrainingErrorPoint,
} from './charts';
