/**
 * A TensorFlow.js backend for Node that trains convolutional networks on the
 * CPU without libtensorflow: the tfjs `cpu` backend with its convolution,
 * matrix-multiplication, element-wise and reduction kernels replaced by a C++
 * addon — direct convolution kernels that read windows in place, a
 * cache-blocked GEMM, SIMD micro-kernels (AVX-512, AVX2+FMA or generic,
 * chosen at load), recycled output buffers, and a small thread pool whose
 * fixed work split makes every result bitwise reproducible.
 *
 * Importing the package registers the backend when the addon loads (a
 * prebuilt linux-x64 binary ships inside the package; other platforms build
 * from source at install time) and does nothing otherwise.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { backendName, register } from '@convnets/backend-native';
 *
 * if (await register()) await tf.setBackend(backendName);
 * ```
 *
 * @packageDocumentation
 */
import '@tensorflow/tfjs-backend-cpu';
import {
  backendName,
  loadError,
  nativeInfo,
  nativeKernelNames,
  registerNativeBackend,
} from './backend';

export { backendName, loadError, nativeInfo, nativeKernelNames };
export { patchCpuKernels, unpatchCpuKernels } from './cpu-kernels';

/**
 * Registers the backend (see the package notes) and resolves to whether it
 * is available. It never throws: where the addon cannot load, it resolves to
 * false and {@link loadError} says why, so a caller can stay on `cpu`.
 * Registering makes the backend available; select it with
 * `tf.setBackend(backendName)` (or let tfjs pick it by priority).
 *
 * @returns True when the backend is registered (now or by an earlier call), false when the addon cannot load here.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { backendName, loadError, register } from '@convnets/backend-native';
 *
 * if (await register()) await tf.setBackend(backendName);
 * else console.warn(loadError());
 * ```
 */
export async function register(): Promise<boolean> {
  return registerNativeBackend();
}

registerNativeBackend();
