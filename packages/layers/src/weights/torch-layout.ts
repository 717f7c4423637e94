/** How our weights map onto PyTorch's layouts (kernels OIHW ↔ HWIO, linear weights transposed). */

/**
 * How a tensor is laid out in a PyTorch state dict, relative to ours:
 * - `'conv'`: PyTorch `[out, in, kh, kw]` (OIHW) ↔ tfjs `[kh, kw, in, out]` (HWIO);
 * - `'linear'`: PyTorch `[out, in]` ↔ tfjs `[in, out]`;
 * - `'vector'`: the same 1-D tensor on both sides (biases, BN parameters and statistics);
 * - `{ flattenedFrom: [h, w, c] }`: a linear layer after a flatten, whose input
 *   PyTorch flattens from NCHW (c·h·w order) and tfjs from NHWC (h·w·c order):
 *   VGG's first fully connected layer.
 */
export type TorchLayout =
  'conv' | 'linear' | 'vector' | { flattenedFrom: [number, number, number] };

/** Moves the axes of a row-major array: `out` has shape `perm.map(i => shape[i])`. */
function permute(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  const outStrides = perm.map((p) => strides[p]);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += outStrides[d];
      if (index[d] < outShape[d]) break;
      src -= outStrides[d] * outShape[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The PyTorch shape of one of our weights.
 *
 * @param ours - Its shape here (tfjs layout: HWIO kernels, `[in, out]` dense kernels).
 * @param layout - How PyTorch lays it out.
 * @returns Its shape in a PyTorch state dict (OIHW kernels, `[out, in]` linear weights).
 * @example
 * ```ts
 * torchShape([3, 3, 64, 128], 'conv'); // [128, 64, 3, 3]
 * ```
 */
export function torchShape(ours: readonly number[], layout: TorchLayout): number[] {
  if (layout === 'conv') return [ours[3], ours[2], ours[0], ours[1]];
  if (layout === 'vector') return [...ours];
  return [ours[1], ours[0]];
}

/** PyTorch layout → ours. */
export function fromTorch(data: Float32Array, ours: number[], layout: TorchLayout): Float32Array {
  if (layout === 'vector') return data;
  if (layout === 'conv') return permute(data, torchShape(ours, layout), [2, 3, 1, 0]);
  if (layout === 'linear') return permute(data, [ours[1], ours[0]], [1, 0]);
  const [h, w, c] = layout.flattenedFrom;
  return permute(data, [ours[1], c, h, w], [2, 3, 1, 0]);
}

/** Ours → PyTorch layout. */
export function toTorch(data: Float32Array, ours: number[], layout: TorchLayout): Float32Array {
  if (layout === 'vector') return data;
  if (layout === 'conv') return permute(data, ours, [3, 2, 0, 1]);
  if (layout === 'linear') return permute(data, ours, [1, 0]);
  const [h, w, c] = layout.flattenedFrom;
  return permute(data, [h, w, c, ours[1]], [3, 2, 0, 1]);
}
