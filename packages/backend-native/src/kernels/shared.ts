import {
  getKernel,
  util,
  type backend_util,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../addon';
import type { BufferPool } from '../pool';

/** What every kernel function receives. */
export interface KernelArgs<I = NamedTensorInfoMap, A = NamedAttrMap> {
  inputs: I;
  backend: MathBackendCPU;
  attrs: A;
}

/** Arguments in the shape every kernel function takes. */
export interface AnyKernelArgs {
  inputs: object;
  backend: object;
  attrs?: object;
}

/** The tfjs `cpu` backend's implementation of a kernel, for the cases the addon does not cover. */
export function cpuKernel(kernelName: string): (args: AnyKernelArgs) => TensorInfo {
  const config = getKernel(kernelName, 'cpu');
  if (!config) throw new Error(`The cpu backend has no ${kernelName} kernel to fall back on.`);
  const run = config.kernelFunc;
  return (args) => run(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}

/** A float32 tensor's values as a Float32Array, without copying when they already are one. */
export function float32Values(backend: MathBackendCPU, t: TensorInfo): Float32Array {
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

/** Makes an output tensor from values the addon wrote. */
export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/**
 * A buffer for a native kernel's output of this shape, recycled from the
 * backend's pool when it has one of that size. Its contents are undefined:
 * the kernel must write every element.
 */
export function alloc(backend: MathBackendCPU, shape: number[]): Float32Array {
  const size = util.sizeFromShape(shape);
  const pool = (backend as { pool?: BufferPool }).pool;
  return pool ? pool.take(size) : new Float32Array(size);
}

/**
 * The empty output of `shape` when it has no elements (a 0-sized dimension),
 * else undefined. Kernels return it without calling the addon, as the cpu
 * kernels return an empty tensor.
 */
export function emptyOutput(backend: MathBackendCPU, shape: number[]): TensorInfo | undefined {
  if (util.sizeFromShape(shape) !== 0) return undefined;
  return output(backend, shape, new Float32Array(0));
}

/**
 * Throws when a convolution or pooling window does not fit its padded input
 * even once, so that the output would have a negative height or width
 * (tfjs-core computes such shapes without complaint, and the cpu kernels then
 * return a tensor of negative shape).
 */
export function checkOutputSize(kernelName: string, c: backend_util.Conv2DInfo): void {
  if (c.outHeight >= 0 && c.outWidth >= 0) return;
  const p = c.padInfo;
  throw new Error(
    `${kernelName}: the output would be ${c.outHeight}×${c.outWidth}: the ` +
      `${c.effectiveFilterHeight}×${c.effectiveFilterWidth} window (filter ` +
      `${c.filterHeight}×${c.filterWidth}, dilation ${c.dilationHeight}×${c.dilationWidth}) ` +
      `is larger than the ${c.inHeight}×${c.inWidth} input padded by ${p.top}+${p.bottom} rows ` +
      `and ${p.left}+${p.right} columns; expected a window no larger than the padded input`,
  );
}

/** A backend that can compute an output on its first read (see `defer` in backend.ts). */
interface Deferring {
  defer(shape: number[], inputs: TensorInfo[], compute: (out: Float32Array) => void): TensorInfo;
}

/**
 * An output of `shape` whose values `compute` writes on the first read (never,
 * if it is disposed unread). `inputs` are the tensors `compute` reads. The
 * native kernels are registered only for the backend in backend.ts, which defers.
 */
export function deferred(
  backend: MathBackendCPU,
  shape: number[],
  inputs: TensorInfo[],
  compute: (out: Float32Array) => void,
): TensorInfo {
  return (backend as unknown as Deferring).defer(shape, inputs, compute);
}

/** The geometry array the addon's convolution functions take. */
export function convGeometry(c: backend_util.Conv2DInfo): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.filterHeight,
    c.filterWidth,
    c.outChannels,
    c.outHeight,
    c.outWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ];
}

/** Activations the addon applies itself; others are applied with the cpu kernels. */
export const nativeActivations: Record<string, number> = { linear: 0, relu: 1 };

/**
 * Finishes a fused kernel whose bias or activation the addon did not apply:
 * adds `bias` (when given) and then applies `activation` with the cpu
 * kernels, disposing each intermediate.
 */
export function finishFused(
  backend: MathBackendCPU,
  x: TensorInfo,
  bias: TensorInfo | undefined,
  activation: string,
  preluActivationWeights: TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): TensorInfo {
  let result = x;
  if (bias) {
    result = cpuKernel('Add')({ inputs: { a: x, b: bias }, backend, attrs: {} });
    backend.disposeIntermediateTensorInfo(x);
  }
  if (activation === 'linear') return result;
  return applyActivation(backend, result, activation, preluActivationWeights, leakyreluAlpha);
}

/**
 * Applies a fused activation by running the matching cpu kernel, and
 * disposes the pre-activation tensor.
 */
function applyActivation(
  backend: MathBackendCPU,
  x: TensorInfo,
  activation: string,
  preluActivationWeights: TensorInfo | undefined,
  leakyreluAlpha: number | undefined,
): TensorInfo {
  let result: TensorInfo;
  switch (activation) {
    case 'relu':
      result = cpuKernel('Relu')({ inputs: { x }, backend, attrs: {} });
      break;
    case 'relu6':
      result = cpuKernel('Relu6')({ inputs: { x }, backend, attrs: {} });
      break;
    case 'elu':
      result = cpuKernel('Elu')({ inputs: { x }, backend, attrs: {} });
      break;
    case 'sigmoid':
      result = cpuKernel('Sigmoid')({ inputs: { x }, backend, attrs: {} });
      break;
    case 'leakyrelu':
      result = cpuKernel('LeakyRelu')({
        inputs: { x },
        backend,
        attrs: { alpha: leakyreluAlpha ?? 0.2 },
      });
      break;
    case 'prelu':
      if (!preluActivationWeights) throw new Error('The prelu activation needs its weights.');
      result = cpuKernel('Prelu')({
        inputs: { x, alpha: preluActivationWeights },
        backend,
        attrs: {},
      });
      break;
    default:
      throw new Error(`Activation ${activation} is not implemented.`);
  }
  backend.disposeIntermediateTensorInfo(x);
  return result;
}

/** A kernel function bound to the loaded addon. */
export type NativeKernel = (addon: NativeAddon) => KernelFunc;
