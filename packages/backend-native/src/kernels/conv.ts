import {
  backend_util,
  util,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import {
  alloc,
  applyActivation,
  convGeometry,
  cpuKernel,
  deferred,
  float32Values,
  nativeActivations,
  output,
  type KernelArgs,
} from './shared';

type Args<A> = KernelArgs<Record<string, TensorInfo>, A>;

/** The addon covers NHWC float32 convolutions; NCHW and other dtypes go to the cpu kernels. */
function supported(dataFormat: string, ...tensors: (TensorInfo | undefined)[]): boolean {
  return dataFormat === 'NHWC' && tensors.every((t) => t === undefined || t.dtype === 'float32');
}

/** `Conv2D`: implicit-im2col GEMM. */
export const conv2D = (addon: NativeAddon) => (args: Args<Conv2DAttrs>) => {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  if (!supported(dataFormat, x, filter)) return cpuKernel('Conv2D')(args);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const y = alloc(backend, info.outShape);
  addon.conv2d(float32Values(backend, x), float32Values(backend, filter), null, y, [
    ...convGeometry(info),
    0,
  ]);
  return output(backend, info.outShape, y);
};

/**
 * `FusedConv2D`: the convolution with the bias and a linear or ReLU
 * activation applied in the same pass; other activations run after it on the cpu kernels.
 */
export const fusedConv2D = (addon: NativeAddon) => (args: Args<FusedConv2DAttrs>) => {
  const { inputs, backend, attrs } = args;
  const { x, filter, bias, preluActivationWeights } = inputs;
  const { strides, pad, dataFormat, dilations, dimRoundingMode, activation, leakyreluAlpha } =
    attrs;
  if (!supported(dataFormat, x, filter, bias)) return cpuKernel('FusedConv2D')(args);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const channels = info.outChannels;
  let biasValues: Float32Array | null = null;
  let separateBias = false;
  if (bias) {
    const size = util.sizeFromShape(bias.shape);
    if (size === channels && bias.shape[bias.shape.length - 1] === channels) {
      biasValues = float32Values(backend, bias);
    } else if (size === 1) {
      biasValues = new Float32Array(channels).fill(float32Values(backend, bias)[0]);
    } else {
      separateBias = true;
    }
  }
  const act = activation ?? 'linear';
  const native = !separateBias && act in nativeActivations;
  const y = alloc(backend, info.outShape);
  addon.conv2d(float32Values(backend, x), float32Values(backend, filter), biasValues, y, [
    ...convGeometry(info),
    native ? nativeActivations[act] : 0,
  ]);
  let result = output(backend, info.outShape, y);
  if (native) return result;
  if (separateBias && bias) {
    const sum = cpuKernel('Add')({ inputs: { a: result, b: bias }, backend, attrs: {} });
    backend.disposeIntermediateTensorInfo(result);
    result = sum;
  }
  if (act === 'linear') return result;
  if (act === 'relu') {
    const relu = cpuKernel('Relu')({ inputs: { x: result }, backend, attrs: {} });
    backend.disposeIntermediateTensorInfo(result);
    return relu;
  }
  return applyActivation(backend, result, act, preluActivationWeights, leakyreluAlpha);
};

/**
 * `Conv2DBackpropInput`: a rotated-filter convolution at stride 1, GEMM +
 * col2im otherwise, computed when the result is first read.
 */
export const conv2DBackpropInput =
  (addon: NativeAddon) => (args: Args<Conv2DBackpropInputAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs;
    if (!supported(dataFormat, dy, filter)) return cpuKernel('Conv2DBackpropInput')(args);
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    // Deferred: tfjs' fused convolution computes the input gradient of the
    // network's first layer too, and then nothing reads it.
    const geometry = convGeometry(info);
    return deferred(backend, info.inShape, [dy, filter], (dx) =>
      addon.conv2dBackpropInput(
        float32Values(backend, dy),
        float32Values(backend, filter),
        dx,
        geometry,
      ),
    );
  };

/** `Conv2DBackpropFilter`: im2colᵀ · dy, reduced over fixed chunks of the batch in a fixed order. */
export const conv2DBackpropFilter =
  (addon: NativeAddon) => (args: Args<Conv2DBackpropFilterAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { x, dy } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
    if (!supported(dataFormat, x, dy)) return cpuKernel('Conv2DBackpropFilter')(args);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
    const dw = alloc(backend, filterShape);
    addon.conv2dBackpropFilter(
      float32Values(backend, x),
      float32Values(backend, dy),
      dw,
      convGeometry(info),
    );
    return output(backend, filterShape, dw);
  };
