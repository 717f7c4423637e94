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
  convGeometry,
  checkOutputSize,
  cpuKernel,
  deferred,
  emptyOutput,
  finishFused,
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

type ConvInfoParams = Parameters<typeof backend_util.computeConv2DInfo>;

/**
 * Convolution geometry for an NHWC input and an HWIO filter; `dilations`
 * defaults to 1 (the gradient kernels take none).
 */
function nhwcConvInfo(
  kernelName: string,
  xShape: number[],
  filterShape: number[],
  attrs: {
    strides: ConvInfoParams[2];
    dilations?: ConvInfoParams[3];
    pad: ConvInfoParams[4];
    dimRoundingMode?: ConvInfoParams[5];
  },
): backend_util.Conv2DInfo {
  if (xShape.length !== 4 || filterShape.length !== 4 || xShape[3] !== filterShape[2])
    throw new Error(
      `${kernelName}: the input has shape [${xShape.join(', ')}] and the filter [${filterShape.join(', ')}]; expected an NHWC input and an HWIO filter whose input channels (${filterShape[2]}) match the input's (${xShape[3]})`,
    );
  const info = backend_util.computeConv2DInfo(
    xShape as ConvInfoParams[0],
    filterShape as ConvInfoParams[1],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  checkOutputSize(kernelName, info);
  return info;
}

/** Throws unless a gradient's `dy` has the shape of the forward convolution's output. */
function checkShape(kernelName: string, name: string, shape: number[], expected: number[]): void {
  if (util.arraysEqual(shape, expected)) return;
  throw new Error(
    `${kernelName}: ${name} has shape [${shape.join(', ')}], expected the convolution's output shape [${expected.join(', ')}]`,
  );
}

/** `Conv2D`: implicit-im2col GEMM. */
export const conv2D = (addon: NativeAddon) => (args: Args<Conv2DAttrs>) => {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs;
  if (!supported(attrs.dataFormat, x, filter)) return cpuKernel('Conv2D')(args);
  const info = nhwcConvInfo('Conv2D', x.shape, filter.shape, attrs);
  const empty = emptyOutput(backend, info.outShape);
  if (empty) return empty;
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
  const { activation, leakyreluAlpha } = attrs;
  if (!supported(attrs.dataFormat, x, filter, bias)) return cpuKernel('FusedConv2D')(args);
  const info = nhwcConvInfo('FusedConv2D', x.shape, filter.shape, attrs);
  // An empty output: the cpu kernel checks the bias and activation and returns it.
  if (util.sizeFromShape(info.outShape) === 0) return cpuKernel('FusedConv2D')(args);
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
  const result = output(backend, info.outShape, y);
  if (native) return result;
  return finishFused(
    backend,
    result,
    separateBias ? bias : undefined,
    act,
    preluActivationWeights,
    leakyreluAlpha,
  );
};

/**
 * `Conv2DBackpropInput`: a rotated-filter convolution at stride 1, GEMM +
 * col2im otherwise, computed when the result is first read.
 */
export const conv2DBackpropInput =
  (addon: NativeAddon) => (args: Args<Conv2DBackpropInputAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs;
    if (!supported(attrs.dataFormat, dy, filter)) return cpuKernel('Conv2DBackpropInput')(args);
    const info = nhwcConvInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
    checkShape('Conv2DBackpropInput', 'dy', dy.shape, info.outShape);
    const empty = emptyOutput(backend, info.inShape);
    if (empty) return empty;
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
    const { filterShape } = attrs;
    if (!supported(attrs.dataFormat, x, dy)) return cpuKernel('Conv2DBackpropFilter')(args);
    const info = nhwcConvInfo('Conv2DBackpropFilter', x.shape, filterShape, attrs);
    checkShape('Conv2DBackpropFilter', 'dy', dy.shape, info.outShape);
    const empty = emptyOutput(backend, filterShape);
    if (empty) return empty;
    const dw = alloc(backend, filterShape);
    addon.conv2dBackpropFilter(
      float32Values(backend, x),
      float32Values(backend, dy),
      dw,
      convGeometry(info),
    );
    return output(backend, filterShape, dw);
  };
