import {
  backend_util,
  slice_util,
  util,
  type FusedBatchNormAttrs,
  type PadV2Attrs,
  type SliceAttrs,
  type StepAttrs,
  type SumAttrs,
  type TensorInfo,
  type TileAttrs,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { alloc, cpuKernel, emptyOutput, float32Values, output, type KernelArgs } from './shared';

type Args<A = object> = KernelArgs<Record<string, TensorInfo>, A>;
type NativeKernelFunc = (args: Args<never>) => TensorInfo;

const isFloat = (...ts: (TensorInfo | undefined)[]) =>
  ts.every((t) => t === undefined || t.dtype === 'float32');

/** The highest rank the addon's strided kernels take (`kMaxRank` in native/elementwise.h). */
const maxRank = 8;

/** Whether the addon's data-movement kernels (tile, slice, pad) take `x`: float32, rank 1 to 8. */
const movable = (x: TensorInfo) => isFloat(x) && x.shape.length > 0 && x.shape.length <= maxRank;

/** Row-major strides of `shape` placed in a broadcast of rank `rank` (0 on broadcast axes). */
function broadcastStrides(shape: number[], outShape: number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = outShape.length - shape.length + i;
    strides[d] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

/** Op codes of `BinaryOp` in native/elementwise.h. */
export const binaryOps = {
  Add: 0,
  Sub: 1,
  Multiply: 2,
  RealDiv: 3,
  Maximum: 4,
  Minimum: 5,
  SquaredDifference: 6,
} as const;

/** Op codes of `UnaryOp` in native/elementwise.h. */
export const unaryOps = {
  Relu: 0,
  Step: 1,
  Square: 2,
  Neg: 3,
  Sqrt: 4,
  Rsqrt: 5,
  Exp: 6,
  Log: 7,
  Abs: 8,
  Reciprocal: 9,
  Relu6: 10,
} as const;

/** A broadcasting float32 binary kernel; other dtypes go to the cpu kernel. */
export const binary =
  (kernelName: keyof typeof binaryOps) =>
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args) => {
    const { inputs, backend } = args;
    const { a, b } = inputs;
    if (!isFloat(a, b) || Math.max(a.shape.length, b.shape.length) > maxRank)
      return cpuKernel(kernelName)(args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const empty = emptyOutput(backend, outShape);
    if (empty) return empty;
    const out = alloc(backend, outShape);
    addon.binary(
      binaryOps[kernelName],
      float32Values(backend, a),
      float32Values(backend, b),
      out,
      outShape,
      broadcastStrides(a.shape, outShape),
      broadcastStrides(b.shape, outShape),
    );
    return output(backend, outShape, out);
  };

/** A float32 unary kernel; other dtypes go to the cpu kernel. */
export const unary =
  (kernelName: keyof typeof unaryOps) =>
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args<Partial<StepAttrs>>) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!isFloat(x)) return cpuKernel(kernelName)(args);
    const empty = emptyOutput(backend, x.shape);
    if (empty) return empty;
    const out = alloc(backend, x.shape);
    addon.unary(unaryOps[kernelName], float32Values(backend, x), out, attrs?.alpha ?? 0);
    return output(backend, x.shape, out);
  };

/**
 * `Sum` and `Mean` over axes that are contiguous once size-1 axes are
 * ignored (e.g. N·H·W of NHWC, or the last axis): no transpose needed.
 */
export const reduce =
  (kernelName: 'Sum' | 'Mean') =>
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args<SumAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    const axes = util.parseAxisParam(attrs.axis, x.shape);
    if (!isFloat(x) || axes.length === 0) return cpuKernel(kernelName)(args);
    const reduced = new Set(axes);
    const dims = x.shape.map((size, axis) => ({ size, reduced: reduced.has(axis) }));
    const significant = dims.filter((d) => d.size !== 1);
    const first = significant.findIndex((d) => d.reduced);
    const last = significant.length - 1 - [...significant].reverse().findIndex((d) => d.reduced);
    const contiguous = first === -1 || significant.slice(first, last + 1).every((d) => d.reduced);
    if (!contiguous) return cpuKernel(kernelName)(args);
    const product = (ds: typeof dims) => ds.reduce((p, d) => p * d.size, 1);
    const outer = first === -1 ? product(significant) : product(significant.slice(0, first));
    const count = first === -1 ? 1 : product(significant.slice(first, last + 1));
    const inner = first === -1 ? 1 : product(significant.slice(last + 1));
    const [reducedShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    const outShape = attrs.keepDims
      ? backend_util.expandShapeToKeepDim(reducedShape, axes)
      : reducedShape;
    const empty = emptyOutput(backend, outShape);
    if (empty) return empty;
    const out = alloc(backend, outShape);
    addon.reduceSum(
      float32Values(backend, x),
      out,
      [outer, count, inner],
      // The mean over no elements is 0, as on the cpu backend (which divides
      // the sum, 0, by max(count, 1)); 1 / 0 would make it NaN.
      kernelName === 'Mean' && count > 0 ? 1 / count : 1,
    );
    return output(backend, outShape, out);
  };

/** `Tile` (the batch-norm gradient broadcasts per-channel values with it). */
export const tile =
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args<TileAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!movable(x)) return cpuKernel('Tile')(args);
    const outShape = x.shape.map((d, i) => d * attrs.reps[i]);
    const empty = emptyOutput(backend, outShape);
    if (empty) return empty;
    const out = alloc(backend, outShape);
    addon.tile(float32Values(backend, x), out, x.shape, attrs.reps);
    return output(backend, outShape, out);
  };

/** `Slice`: strided copies; a contiguous slice stays a cpu view without copying. */
export const slice =
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args<SliceAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!movable(x)) return cpuKernel('Slice')(args);
    const [begin, size] = slice_util.parseSliceParams(
      x as unknown as Parameters<typeof slice_util.parseSliceParams>[0],
      attrs.begin,
      attrs.size,
    );
    if (size.some((s) => s === 0) || slice_util.isSliceContinous(x.shape, begin, size))
      return cpuKernel('Slice')(args);
    const out = alloc(backend, size);
    addon.slice(float32Values(backend, x), out, x.shape, begin, size);
    return output(backend, size, out);
  };

/** `PadV2` with a constant value. */
export const padV2 =
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args<PadV2Attrs>) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs;
    if (!movable(x)) return cpuKernel('PadV2')(args);
    const before = attrs.paddings.map((p) => p[0]);
    const after = attrs.paddings.map((p) => p[1]);
    const outShape = x.shape.map((d, i) => before[i] + d + after[i]);
    const empty = emptyOutput(backend, outShape);
    if (empty) return empty;
    const out = alloc(backend, outShape);
    addon.pad(float32Values(backend, x), out, x.shape, before, after, attrs.constantValue);
    return output(backend, outShape, out);
  };

/** `FusedBatchNorm` with per-channel (last axis) or scalar parameters. */
export const fusedBatchNorm =
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args<FusedBatchNormAttrs>) => {
    const { inputs, backend, attrs } = args;
    const { x, mean, variance, offset, scale } = inputs;
    const channels = x.shape[x.shape.length - 1] ?? 1;
    const perChannel = (t: TensorInfo | undefined) => {
      if (!t) return true;
      const size = util.sizeFromShape(t.shape);
      return size === 1 || (size === channels && t.shape[t.shape.length - 1] === channels);
    };
    if (
      !isFloat(x, mean, variance, offset, scale) ||
      x.shape.length === 0 ||
      ![mean, variance, offset, scale].every(perChannel)
    )
      return cpuKernel('FusedBatchNorm')(args);
    const size = (t: TensorInfo | undefined) => (t ? util.sizeFromShape(t.shape) : 0);
    const empty = emptyOutput(backend, x.shape);
    if (empty) return empty;
    const out = alloc(backend, x.shape);
    addon.batchNorm(
      float32Values(backend, x),
      float32Values(backend, mean),
      float32Values(backend, variance),
      offset ? float32Values(backend, offset) : null,
      scale ? float32Values(backend, scale) : null,
      out,
      [
        util.sizeFromShape(x.shape) / channels,
        channels,
        size(mean),
        size(variance),
        size(offset),
        size(scale),
      ],
      attrs.varianceEpsilon ?? 0.001,
    );
    return output(backend, x.shape, out);
  };

/** `AddN` (gradient accumulation where a tensor feeds several layers). */
export const addN =
  (addon: NativeAddon): NativeKernelFunc =>
  (args: Args) => {
    const { inputs, backend } = args;
    const tensors = Object.values(inputs);
    if (!isFloat(...tensors) || tensors.some((t) => !util.arraysEqual(t.shape, tensors[0].shape)))
      return cpuKernel('AddN')(args);
    const empty = emptyOutput(backend, tensors[0].shape);
    if (empty) return empty;
    const out = alloc(backend, tensors[0].shape);
    addon.addN(
      tensors.map((t) => float32Values(backend, t)),
      out,
      out.length,
    );
    return output(backend, tensors[0].shape, out);
  };
