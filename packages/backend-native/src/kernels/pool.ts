import {
  backend_util,
  util,
  type AvgPoolAttrs,
  type MaxPoolAttrs,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import {
  alloc,
  checkOutputSize,
  convGeometry,
  cpuKernel,
  emptyOutput,
  float32Values,
  output,
  type KernelArgs,
} from './shared';

type Args<A> = KernelArgs<Record<string, TensorInfo>, A>;

/** The pooling window as convolution geometry, or undefined where the cpu kernel must run. */
function poolInfo(
  kernelName: string,
  x: TensorInfo,
  attrs: MaxPoolAttrs | AvgPoolAttrs,
): backend_util.Conv2DInfo | undefined {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  checkOutputSize(kernelName, info);
  return info;
}

/** `MaxPool` (kind 0) and `AvgPool` (kind 1), padding excluded as in the cpu kernels. */
export const pool =
  (kernelName: 'MaxPool' | 'AvgPool') => (addon: NativeAddon) => (args: Args<MaxPoolAttrs>) => {
    const { inputs, backend, attrs } = args;
    const info = poolInfo(kernelName, inputs.x, attrs);
    if (!info) return cpuKernel(kernelName)(args);
    const empty = emptyOutput(backend, info.outShape);
    if (empty) return empty;
    const y = alloc(backend, info.outShape);
    addon.pool(
      kernelName === 'MaxPool' ? 0 : 1,
      float32Values(backend, inputs.x),
      y,
      convGeometry(info),
    );
    return output(backend, info.outShape, y);
  };

/**
 * `MaxPoolGrad` (the gradient goes to the first maximum of each window, as on
 * cpu) and `AvgPoolGrad` (tfjs divides by the full window size here, padding
 * included).
 */
export const poolGrad =
  (kernelName: 'MaxPoolGrad' | 'AvgPoolGrad') =>
  (addon: NativeAddon) =>
  (args: Args<MaxPoolGradAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs;
    const info = poolInfo(kernelName, input, attrs);
    if (!info || dy.dtype !== 'float32') return cpuKernel(kernelName)(args);
    if (!util.arraysEqual(dy.shape, info.outShape))
      throw new Error(
        `${kernelName}: dy has shape [${dy.shape.join(', ')}], expected the pooling's output shape [${info.outShape.join(', ')}]`,
      );
    const empty = emptyOutput(backend, input.shape);
    if (empty) return empty;
    const dx = alloc(backend, input.shape);
    if (kernelName === 'MaxPoolGrad')
      addon.maxPoolGrad(
        float32Values(backend, input),
        float32Values(backend, dy),
        dx,
        convGeometry(info),
      );
    else addon.avgPoolGrad(float32Values(backend, dy), dx, convGeometry(info));
    return output(backend, input.shape, dx);
  };
