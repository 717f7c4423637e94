import {
  engine,
  getKernelsForBackend,
  registerBackend,
  registerKernel,
  type KernelFunc,
} from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon, type NativeAddon } from './addon';
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, fusedConv2D } from './kernels/conv';
import {
  addN,
  binary,
  binaryOps,
  fusedBatchNorm,
  padV2,
  reduce,
  slice,
  tile,
  unary,
  unaryOps,
} from './kernels/elementwise';
import { batchMatMul, fusedMatMul } from './kernels/matmul';
import { avgPoolGrad, maxPoolGrad, pool } from './kernels/pool';

/**
 * The name this package registers its backend under:
 * `await tf.setBackend(backendName)` selects it.
 */
export const backendName = 'convnets-native';

/**
 * Registration priority: above tfjs's `cpu` (1), below `tensorflow`
 * (tfjs-node, 3), so a program that imports this package and not tfjs-node
 * gets it by default.
 */
const priority = 2;

/** Kernel factories take typed arguments; tfjs's registry stores them untyped. */
function adapt<F>(factory: (addon: NativeAddon) => F): (addon: NativeAddon) => KernelFunc {
  return factory as unknown as (addon: NativeAddon) => KernelFunc;
}

/** The kernels the addon replaces; every other kernel is the cpu backend's. */
const nativeKernels: Record<string, (addon: NativeAddon) => KernelFunc> = {
  Conv2D: adapt(conv2D),
  FusedConv2D: adapt(fusedConv2D),
  Conv2DBackpropInput: adapt(conv2DBackpropInput),
  Conv2DBackpropFilter: adapt(conv2DBackpropFilter),
  BatchMatMul: adapt(batchMatMul),
  _FusedMatMul: adapt(fusedMatMul),
  ...Object.fromEntries(
    Object.keys(binaryOps).map((k) => [k, adapt(binary(k as keyof typeof binaryOps))]),
  ),
  ...Object.fromEntries(
    Object.keys(unaryOps).map((k) => [k, adapt(unary(k as keyof typeof unaryOps))]),
  ),
  Sum: adapt(reduce('Sum')),
  Mean: adapt(reduce('Mean')),
  Tile: adapt(tile),
  Slice: adapt(slice),
  PadV2: adapt(padV2),
  FusedBatchNorm: adapt(fusedBatchNorm),
  AddN: adapt(addN),
  MaxPool: adapt(pool('MaxPool')),
  AvgPool: adapt(pool('AvgPool')),
  MaxPoolGrad: adapt(maxPoolGrad),
  AvgPoolGrad: adapt(avgPoolGrad),
};

/** The names of the kernels that run in the addon rather than in JavaScript. */
export const nativeKernelNames: readonly string[] = Object.keys(nativeKernels);

/**
 * The tfjs `cpu` backend with its hot kernels replaced: data lives in the same
 * JavaScript typed arrays, so every cpu kernel runs on it unchanged.
 */
class NativeBackend extends MathBackendCPU {}

/** Why the addon could not be loaded, or undefined when it loaded. */
export function loadError(): string | undefined {
  const load = loadAddon();
  if (load.addon) return undefined;
  return `@convnets/backend-native: the native addon could not be loaded (${load.errors.join('; ')}). Rebuild it with \`npm run build:native\` in the package, or use the 'cpu' backend.`;
}

/** What the loaded addon runs on, or undefined when it could not be loaded. */
export function nativeInfo(): { isa: string; threads: number; path: string } | undefined {
  const load = loadAddon();
  if (!load.addon || !load.path) return undefined;
  return { ...load.addon.info(), path: load.path };
}

let registered = false;

/**
 * Registers the backend and its kernels with tfjs (once; later calls do
 * nothing). Returns false, registering nothing, when the addon cannot be
 * loaded on this machine; {@link loadError} says why.
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  const { addon } = loadAddon();
  if (!addon) return false;
  // Another copy of this module (the ESM and CJS builds side by side) may
  // have registered already; tfjs keeps one registry per process.
  if (engine().registryFactory[backendName] === undefined) {
    registerBackend(backendName, () => new NativeBackend(), priority);
    for (const config of getKernelsForBackend('cpu')) {
      const make = nativeKernels[config.kernelName];
      registerKernel({
        ...config,
        backendName,
        kernelFunc: make ? make(addon) : config.kernelFunc,
      });
    }
  }
  registered = true;
  return true;
}
