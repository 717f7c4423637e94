import * as tf from '@tensorflow/tfjs-core';

/**
 * The filter gradient of a channels-last convolution described by `info`, from
 * its input `xv` and output gradient `dv`, in tfjs-core's order of summation.
 */
function filterGradient(
  info: tf.backend_util.Conv2DInfo,
  xv: Float32Array,
  dv: Float32Array,
): Float32Array {
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { inChannels: cin, outChannels: cout, batchSize: batch } = info;
  const { inHeight: ih, inWidth: iw, outHeight: oh, outWidth: ow } = info;
  const left = info.padInfo.left;
  const top = info.padInfo.top;
  const dW = new Float32Array(fh * fw * cin * cout);
  const acc = new Float64Array(cin * cout);
  for (let wR = 0; wR < fh; ++wR) {
    const yRMin = Math.max(0, Math.ceil((top - wR) / sh));
    const yRMax = Math.min(oh, (ih + top - wR) / sh);
    for (let wC = 0; wC < fw; ++wC) {
      const yCMin = Math.max(0, Math.ceil((left - wC) / sw));
      const yCMax = Math.min(ow, (iw + left - wC) / sw);
      acc.fill(0);
      for (let b = 0; b < batch; ++b) {
        for (let yR = yRMin; yR < yRMax; ++yR) {
          const xR = wR + yR * sh - top;
          for (let yC = yCMin; yC < yCMax; ++yC) {
            const xC = wC + yC * sw - left;
            const xo = ((b * ih + xR) * iw + xC) * cin;
            const dyo = ((b * oh + yR) * ow + yC) * cout;
            for (let d1 = 0; d1 < cin; ++d1) {
              const xval = xv[xo + d1];
              const ao = d1 * cout;
              for (let d2 = 0; d2 < cout; ++d2) acc[ao + d2] += xval * dv[dyo + d2];
            }
          }
        }
      }
      dW.set(acc, (wR * fw + wC) * cin * cout);
    }
  }
  return dW;
}

/**
 * The tfjs `cpu` backend computes a convolution's filter gradient with
 * `TensorBuffer.get(b, y, x, c)` for every multiply-add, which makes it about
 * twenty times slower than the rest of a training step together. This is the
 * same loop (same order of summation, accumulated in a double as there, so
 * bitwise the same result) over flat arrays.
 */
function conv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const dy = args.inputs.dy!;
  const backend = args.backend as {
    data: { get(id: tf.DataId): { values: Float32Array } };
    makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
  };
  const attrs = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') return stockFilterKernel!(args as never) as tf.TensorInfo;
  const xv = backend.data.get(x.dataId).values;
  const dv = backend.data.get(dy.dataId).values;
  const dW = filterGradient(info, xv, dv);
  return backend.makeTensorInfo(attrs.filterShape, 'float32', dW);
}

let stockFilterKernel: tf.KernelFunc | undefined;

/**
 * Replaces the tfjs `cpu` backend's `Conv2DBackpropFilter` kernel with the
 * same computation over flat arrays: bitwise-identical results, about 20×
 * faster, which is what makes training convnets on the `cpu` backend
 * practical at all. Idempotent. Opt-in: nothing in convnets' libraries calls it
 * (the `convnets` command does, when it trains on `cpu`), and it changes tfjs'
 * global kernel registry until {@link unpatchCpuKernels} undoes it.
 *
 * @returns Whether the kernel is (now) patched: false when the `cpu` backend is not registered.
 * @throws Error from tfjs if the kernel registry refuses the replacement (not expected: the stock kernel is unregistered first).
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-cpu';
 * import { patchCpuKernels } from '@convnets/backend-native';
 *
 * patchCpuKernels(); // before training on the cpu backend
 * ```
 */
export function patchCpuKernels(): boolean {
  const current = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  if (!current) return false;
  if (current.kernelFunc === (conv2dBackpropFilter as unknown as tf.KernelFunc)) return true;
  stockFilterKernel = current.kernelFunc;
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'cpu',
    kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
  });
  return true;
}

/**
 * Puts back the `cpu` backend's own `Conv2DBackpropFilter` kernel (undoes
 * {@link patchCpuKernels}); does nothing when the kernel is not patched.
 *
 * @example
 * ```ts
 * patchCpuKernels();
 * // … train …
 * unpatchCpuKernels(); // e.g. to compare against the stock kernel
 * ```
 */
export function unpatchCpuKernels(): void {
  if (!stockFilterKernel) return;
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'cpu',
    kernelFunc: stockFilterKernel,
  });
  stockFilterKernel = undefined;
}
