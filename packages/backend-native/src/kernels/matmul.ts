import {
  broadcast_util,
  util,
  type BatchMatMulAttrs,
  type TensorInfo,
  type _FusedMatMulAttrs,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import {
  alloc,
  cpuKernel,
  emptyOutput,
  finishFused,
  float32Values,
  nativeActivations,
  output,
  type KernelArgs,
} from './shared';

type Args<A> = KernelArgs<Record<string, TensorInfo>, A>;

interface Plan {
  outShape: number[];
  params: number[];
  n: number;
}

/** Shapes for the addon, or undefined where its batch broadcasting (equal or 1) does not apply. */
function plan(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean) {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return undefined; // the cpu kernel reports the mismatch
  const batchA = util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = util.sizeFromShape(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = broadcast_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  if (util.sizeFromShape(outer) !== Math.max(batchA, batchB)) return undefined;
  return {
    outShape: [...outer, m, n],
    params: [batchA, batchB, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0],
    n,
  } satisfies Plan;
}

/** `BatchMatMul`: packed, cache-blocked SIMD GEMM per batch entry. */
export const batchMatMul = (addon: NativeAddon) => (args: Args<BatchMatMulAttrs>) => {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const p = plan(a, b, attrs.transposeA, attrs.transposeB);
  if (!p) return cpuKernel('BatchMatMul')(args);
  const empty = emptyOutput(backend, p.outShape);
  if (empty) return empty;
  const c = alloc(backend, p.outShape);
  addon.matMul(float32Values(backend, a), float32Values(backend, b), null, c, [...p.params, 0, 0]);
  return output(backend, p.outShape, c);
};

/** `_FusedMatMul`: the GEMM with the bias and a linear or ReLU activation in the same pass. */
export const fusedMatMul = (addon: NativeAddon) => (args: Args<_FusedMatMulAttrs>) => {
  const { inputs, backend, attrs } = args;
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs;
  const p = plan(a, b, transposeA, transposeB);
  if (!p) return cpuKernel('_FusedMatMul')(args);
  // An empty output: the cpu kernel checks the bias and activation and returns it.
  if (util.sizeFromShape(p.outShape) === 0) return cpuKernel('_FusedMatMul')(args);
  const size = bias ? util.sizeFromShape(bias.shape) : 0;
  const nativeBias =
    bias !== undefined &&
    bias.dtype === 'float32' &&
    (size === 1 || (size === p.n && bias.shape[bias.shape.length - 1] === p.n));
  const act = activation ?? 'linear';
  const native = (!bias || nativeBias) && act in nativeActivations;
  const c = alloc(backend, p.outShape);
  addon.matMul(
    float32Values(backend, a),
    float32Values(backend, b),
    nativeBias ? float32Values(backend, bias) : null,
    c,
    [...p.params, nativeBias ? size : 0, native ? nativeActivations[act] : 0],
  );
  const result = output(backend, p.outShape, c);
  if (native) return result;
  return finishFused(
    backend,
    result,
    nativeBias ? undefined : bias,
    act,
    preluActivationWeights,
    leakyreluAlpha,
  );
};
