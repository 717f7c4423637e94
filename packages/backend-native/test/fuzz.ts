// Random cases for the differential test: one generator per kernel the native
// backend registers, with shapes that include 0- and 1-sized dimensions,
// kernels larger than their inputs, broadcasting and transposes. Each case is
// a kernel name, its inputs (shapes and values) and attributes, run through
// `engine().runKernel` on a named backend.
import * as tf from '@tensorflow/tfjs-core';
import { rng } from './helpers';

export interface FuzzInput {
  shape: number[];
  values: Float32Array;
}

export interface FuzzCase {
  kernel: string;
  inputs: Record<string, FuzzInput>;
  attrs: Record<string, unknown>;
  /** Products summed per output element, for the comparison's tolerance. */
  terms: number;
  /**
   * Shapes no tf op would pass (a window larger than the padded input, so a
   * negative output size, or mismatched channels): the native kernel must
   * throw, whatever the cpu kernel does with them.
   */
  invalid?: boolean;
}

/** What a kernel returned on one backend: shapes and values, or the error it threw. */
export type Outcome = { error: string } | { outputs: { shape: number[]; values: Float32Array }[] };

type Random = () => number;

class Gen {
  constructor(readonly next: Random) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /**
   * A dimension: often 0 or 1, usually small, and now and then up to three
   * times `max` (so that kernels split work into several blocks and threads).
   */
  dim(max = 7): number {
    const r = this.next();
    if (r < 0.12) return 0;
    if (r < 0.35) return 1;
    if (r < 0.41) return this.int(max + 1, 3 * max);
    return this.int(2, max);
  }
  channels(): number {
    return this.chance(0.1) ? 0 : this.pick([1, 2, 3, 5, 8, 16, 17, 20, 32, 33]);
  }
  shape(rank: number, max = 7): number[] {
    return Array.from({ length: rank }, () => this.dim(max));
  }
  input(shape: number[], positive = false): FuzzInput {
    const size = shape.reduce((p, d) => p * d, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const v = this.next() * 2 - 1;
      values[i] = positive ? Math.abs(v) + 0.05 : v;
    }
    // A few exact zeros and ties, which Relu/Step/Max and the pool gradients treat specially.
    if (size > 0 && this.chance(0.3)) values[this.int(0, size - 1)] = 0;
    if (size > 1 && this.chance(0.3)) values[this.int(0, size - 1)] = values[0];
    return { shape, values };
  }
  padding(k: number) {
    const kind = this.pick(['valid', 'same', 'explicit'] as const);
    if (kind !== 'explicit') return kind;
    const p = () => this.int(0, Math.max(0, k - 1));
    return [
      [0, 0],
      [p(), p()],
      [p(), p()],
      [0, 0],
    ];
  }
}

const float32 = (g: Gen, shape: number[], positive = false) => g.input(shape, positive);

/** Convolution shapes: kernels from 1 to 6, often larger than the image. */
function convShapes(g: Gen) {
  const k = [g.int(1, 6), g.int(1, 6)];
  const stride = g.pick([1, 1, 2, 3]);
  const dilation = stride === 1 && g.chance(0.2) ? 2 : 1;
  const x = [g.pick([0, 1, 1, 2, 3]), g.dim(8), g.dim(8), g.channels()];
  const filter = [k[0], k[1], x[3], g.channels()];
  // Mismatched channels: tf.conv2d would assert; the cpu kernel reads past the
  // input or ignores part of the filter, and the native kernel must throw.
  const mismatched = g.chance(0.05);
  if (mismatched) filter[2] = x[3] + 1;
  return { x, filter, stride, dilation, pad: g.padding(Math.max(...k)), mismatched };
}

function convOutShape(x: number[], filter: number[], attrs: { strides: number; pad: unknown }) {
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filter as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as 'valid',
    undefined,
    false,
    'channelsLast',
  );
  return info.outShape;
}

/** A dy shape for a gradient: the forward output shape, clamped at 0 so a tensor can hold it. */
const gradShape = (shape: number[]) => shape.map((d) => Math.max(0, d));
const negative = (shape: number[]) => shape.some((d) => d < 0);

/** The attributes of a forward convolution of `s`. */
function convAttrs(s: ReturnType<typeof convShapes>) {
  return {
    strides: s.stride,
    pad: s.pad,
    dataFormat: 'NHWC',
    dilations: s.dilation,
    dimRoundingMode: undefined,
  };
}

/** A convolution's shapes, attributes, output shape and output-gradient shape: what both gradient kernels take. */
function convGradShapes(g: Gen) {
  const s = convShapes(g);
  const attrs = { strides: s.stride, pad: s.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  const out = convOutShape(s.x, s.filter, attrs);
  return { s, attrs, out, dy: gradShape(out) };
}

type Maker = (g: Gen) => FuzzCase;

const binaryKernels = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'Maximum',
  'Minimum',
  'SquaredDifference',
] as const;
const unaryKernels = [
  'Relu',
  'Step',
  'Square',
  'Neg',
  'Sqrt',
  'Rsqrt',
  'Exp',
  'Log',
  'Abs',
  'Reciprocal',
  'Relu6',
] as const;

/** Two shapes that broadcast, or (rarely) that do not. */
function broadcastPair(g: Gen): [number[], number[]] {
  const rank = g.int(0, 5);
  const a = g.shape(rank, 5);
  const b = a.map((d) => (g.chance(0.3) ? 1 : d));
  const bRank = g.int(0, rank);
  let bs = b.slice(rank - bRank);
  if (g.chance(0.05) && bs.length > 0) bs = bs.map((d) => d + 2); // incompatible
  return g.chance(0.5) ? [a, bs] : [bs, a];
}

export const makers: Record<string, Maker> = {
  Conv2D: (g) => {
    const s = convShapes(g);
    return {
      kernel: 'Conv2D',
      inputs: { x: float32(g, s.x), filter: float32(g, s.filter) },
      attrs: convAttrs(s),
      terms: s.filter[0] * s.filter[1] * s.filter[2],
      invalid: s.mismatched,
    };
  },
  FusedConv2D: (g) => {
    const s = convShapes(g);
    const bias = g.pick([[s.filter[3]], [1], []]);
    return {
      kernel: 'FusedConv2D',
      inputs: {
        x: float32(g, s.x),
        filter: float32(g, s.filter),
        bias: float32(g, bias),
      },
      attrs: {
        ...convAttrs(s),
        activation: g.pick(['linear', 'relu', 'relu6', 'elu']),
        leakyreluAlpha: 0.2,
      },
      terms: s.filter[0] * s.filter[1] * s.filter[2] + 1,
      invalid: s.mismatched,
    };
  },
  Conv2DBackpropInput: (g) => {
    const { s, attrs, out, dy } = convGradShapes(g);
    return {
      kernel: 'Conv2DBackpropInput',
      inputs: { dy: float32(g, dy), filter: float32(g, s.filter) },
      attrs: { ...attrs, inputShape: s.x },
      terms: s.filter[0] * s.filter[1] * s.filter[3],
      invalid: s.mismatched || negative(out),
    };
  },
  Conv2DBackpropFilter: (g) => {
    const { s, attrs, out, dy } = convGradShapes(g);
    return {
      kernel: 'Conv2DBackpropFilter',
      inputs: { x: float32(g, s.x), dy: float32(g, dy) },
      attrs: { ...attrs, filterShape: s.filter },
      terms: dy[0] * dy[1] * dy[2],
      invalid: s.mismatched || negative(out),
    };
  },
  BatchMatMul: (g) => matMulCase(g, false),
  _FusedMatMul: (g) => matMulCase(g, true),
  ...Object.fromEntries(
    binaryKernels.map((kernel) => [
      kernel,
      (g: Gen): FuzzCase => {
        const [a, b] = broadcastPair(g);
        return { kernel, inputs: { a: float32(g, a), b: float32(g, b) }, attrs: {}, terms: 1 };
      },
    ]),
  ),
  ...Object.fromEntries(
    unaryKernels.map((kernel) => [
      kernel,
      (g: Gen): FuzzCase => ({
        kernel,
        inputs: { x: float32(g, g.shape(g.int(0, 4), 6)) },
        attrs: { alpha: 0 },
        terms: 1,
      }),
    ]),
  ),
  Sum: (g) => reduceCase(g, 'Sum'),
  Mean: (g) => reduceCase(g, 'Mean'),
  Tile: (g) => {
    const shape = g.shape(g.int(1, 4), 4);
    const reps = shape.map(() => g.pick([0, 1, 1, 2, 3]));
    return { kernel: 'Tile', inputs: { x: float32(g, shape) }, attrs: { reps }, terms: 1 };
  },
  Slice: (g) => {
    const shape = g.shape(g.int(1, 5), 6);
    const begin = shape.map((d) => g.int(0, d));
    const size = shape.map((d, i) => (g.chance(0.15) ? -1 : g.int(0, d - begin[i])));
    return { kernel: 'Slice', inputs: { x: float32(g, shape) }, attrs: { begin, size }, terms: 1 };
  },
  PadV2: (g) => {
    const shape = g.shape(g.int(1, 4), 5);
    const paddings = shape.map(() => [g.int(0, 3), g.int(0, 3)]);
    return {
      kernel: 'PadV2',
      inputs: { x: float32(g, shape) },
      attrs: { paddings, constantValue: g.pick([0, 1.5, -2]) },
      terms: 1,
    };
  },
  FusedBatchNorm: (g) => {
    const shape = g.shape(g.int(1, 4), 5);
    const c = shape[shape.length - 1];
    const param = (positive = false) => float32(g, g.chance(0.2) ? [1] : [c], positive);
    const inputs: Record<string, FuzzInput> = {
      x: float32(g, shape),
      mean: param(),
      variance: param(true),
    };
    if (g.chance(0.7)) inputs.offset = param();
    if (g.chance(0.7)) inputs.scale = param();
    return {
      kernel: 'FusedBatchNorm',
      inputs,
      attrs: { varianceEpsilon: g.pick([0.001, 1e-5]) },
      terms: 4,
    };
  },
  AddN: (g) => {
    const shape = g.shape(g.int(0, 4), 5);
    const n = g.int(1, 5);
    const inputs = Object.fromEntries(
      Array.from({ length: n }, (_, i) => [String(i), float32(g, shape)]),
    );
    return { kernel: 'AddN', inputs, attrs: {}, terms: n };
  },
  MaxPool: (g) => poolCase(g, 'MaxPool'),
  AvgPool: (g) => poolCase(g, 'AvgPool'),
  MaxPoolGrad: (g) => poolGradCase(g, 'MaxPoolGrad'),
  AvgPoolGrad: (g) => poolGradCase(g, 'AvgPoolGrad'),
};

function matMulCase(g: Gen, fused: boolean): FuzzCase {
  const [m, k, n] = [g.dim(40), g.dim(40), g.dim(40)];
  const transposeA = g.chance(0.3);
  const transposeB = g.chance(0.3);
  const batch = g.pick([[], [g.dim(3)], [g.dim(2), g.dim(3)]]);
  const batchB = batch.map((d) => (g.chance(0.3) ? 1 : d));
  const [ba, bb] = g.chance(0.5) ? [batch, batchB] : [batchB, batch];
  const a = [...ba, ...(transposeA ? [k, m] : [m, k])];
  const b = [...bb, ...(transposeB ? [n, k + (g.chance(0.03) ? 1 : 0)] : [k, n])];
  const inputs: Record<string, FuzzInput> = { a: float32(g, a), b: float32(g, b) };
  const attrs: Record<string, unknown> = { transposeA, transposeB };
  if (fused) {
    if (g.chance(0.7)) inputs.bias = float32(g, g.pick([[n], [1]]));
    attrs.activation = g.pick(['linear', 'relu', 'relu6']);
    attrs.leakyreluAlpha = 0.2;
  }
  return { kernel: fused ? '_FusedMatMul' : 'BatchMatMul', inputs, attrs, terms: k + 1 };
}

function reduceCase(g: Gen, kernel: 'Sum' | 'Mean'): FuzzCase {
  const shape = g.shape(g.int(0, 4), 6);
  const axis = shape.map((_, i) => i).filter(() => g.chance(0.5));
  const size = axis.reduce((p, a) => p * shape[a], 1);
  return {
    kernel,
    inputs: { x: float32(g, shape) },
    attrs: { axis, keepDims: g.chance(0.3) },
    terms: Math.max(1, size),
  };
}

function poolShapes(g: Gen) {
  const filterSize = [g.int(1, 5), g.int(1, 5)];
  const strides = [g.int(1, 3), g.int(1, 3)];
  const x = [g.pick([0, 1, 2]), g.dim(7), g.dim(7), g.channels()];
  return { x, filterSize, strides, pad: g.pick(['valid', 'same'] as const) };
}

function poolCase(g: Gen, kernel: 'MaxPool' | 'AvgPool'): FuzzCase {
  const s = poolShapes(g);
  return {
    kernel,
    inputs: { x: float32(g, s.x) },
    attrs: { filterSize: s.filterSize, strides: s.strides, pad: s.pad, dimRoundingMode: undefined },
    terms: s.filterSize[0] * s.filterSize[1],
  };
}

function poolGradCase(g: Gen, kernel: 'MaxPoolGrad' | 'AvgPoolGrad'): FuzzCase {
  const s = poolShapes(g);
  const info = tf.backend_util.computePool2DInfo(
    s.x as [number, number, number, number],
    s.filterSize as [number, number],
    s.strides as [number, number],
    1,
    s.pad,
  );
  const dy = gradShape(info.outShape);
  const attrs = {
    filterSize: s.filterSize,
    strides: s.strides,
    pad: s.pad,
    dimRoundingMode: undefined,
  };
  const input = float32(g, s.x);
  const inputs: Record<string, FuzzInput> =
    kernel === 'MaxPoolGrad'
      ? { dy: float32(g, dy), input, output: float32(g, dy) }
      : { dy: float32(g, dy), input };
  return {
    kernel,
    inputs,
    attrs,
    terms: s.filterSize[0] * s.filterSize[1],
    invalid: negative(info.outShape),
  };
}

/** The case number `index` of the run seeded with `seed`: reproducible on its own. */
export function makeCase(seed: number, index: number, kernels: readonly string[]): FuzzCase {
  const g = new Gen(rng((seed * 1_000_003 + index * 7919) >>> 0));
  const kernel = kernels[index % kernels.length];
  const make = makers[kernel];
  if (!make) throw new Error(`the differential test has no generator for kernel ${kernel}`);
  return make(g);
}

/** Runs a case's kernel on the current backend; every tensor it made is disposed. */
export function runCase(c: FuzzCase): Outcome {
  let outcome: Outcome = { error: 'not run' };
  try {
    tf.tidy(() => {
      const inputs = Object.fromEntries(
        Object.entries(c.inputs).map(([name, t]) => [
          name,
          tf.tensor(t.values, t.shape, 'float32'),
        ]),
      );
      // AddN takes its inputs as an array, as tf.addN passes them.
      const named = c.kernel === 'AddN' ? Object.values(inputs) : inputs;
      const result = tf
        .engine()
        .runKernel(c.kernel, named as unknown as tf.NamedTensorMap, c.attrs as tf.NamedAttrMap);
      const tensors = (Array.isArray(result) ? result : [result]) as tf.Tensor[];
      outcome = {
        outputs: tensors.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array })),
      };
    });
  } catch (e) {
    outcome = { error: (e as Error).message };
  }
  return outcome;
}

/** A one-line description of a case (shapes and attributes, no values). */
export function describeCase(c: FuzzCase): string {
  const shapes = Object.entries(c.inputs)
    .map(([name, t]) => `${name}[${t.shape.join(',')}]`)
    .join(' ');
  return `${c.kernel} ${shapes} ${JSON.stringify(c.attrs)}`;
}

/**
 * Why two outcomes disagree, or undefined when they agree: both threw, or the
 * same shapes with values equal within float32 rounding of `terms` products
 * (NaN matches NaN, infinities match exactly). An output whose shape has a
 * negative dimension (tfjs-cpu's convolution when the kernel exceeds the
 * padded input) counts as the cpu backend's error, and a gradient case whose
 * forward output would have one must make the native kernel throw.
 */
export function compare(c: FuzzCase, native: Outcome, cpu: Outcome): string | undefined {
  if (c.invalid && !('error' in native))
    return `the shapes are invalid, yet native returned [${native.outputs.map((o) => o.shape.join(',')).join('; ')}] instead of throwing`;
  if (c.invalid) return undefined;
  const cpuInvalid = 'outputs' in cpu && cpu.outputs.some((o) => o.shape.some((d) => d < 0));
  if ('error' in cpu || cpuInvalid) {
    if ('error' in native) return undefined;
    return `cpu ${'error' in cpu ? `threw "${cpu.error}"` : `returned the invalid shape [${'outputs' in cpu ? cpu.outputs[0].shape.join(',') : ''}]`} but native returned [${native.outputs.map((o) => o.shape.join(',')).join('; ')}]`;
  }
  if ('error' in native) return `native threw "${native.error}" but cpu returned a result`;
  if (native.outputs.length !== cpu.outputs.length)
    return `native returned ${native.outputs.length} outputs, cpu ${cpu.outputs.length}`;
  const tol = 1e-5 * Math.sqrt(Math.max(c.terms, 1)) + 1e-6;
  for (let o = 0; o < cpu.outputs.length; o++) {
    const a = native.outputs[o];
    const b = cpu.outputs[o];
    if (a.shape.join(',') !== b.shape.join(','))
      return `output ${o}: native shape [${a.shape.join(',')}], cpu [${b.shape.join(',')}]`;
    if (a.values.length !== b.values.length)
      return `output ${o}: native has ${a.values.length} values, cpu ${b.values.length}`;
    for (let i = 0; i < b.values.length; i++) {
      const x = a.values[i];
      const y = b.values[i];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!Number.isFinite(y) || !Number.isFinite(x)) {
        if (x !== y) return `output ${o}[${i}]: native ${x}, cpu ${y}`;
        continue;
      }
      if (!(Math.abs(x - y) <= tol * (1 + Math.abs(y))))
        return `output ${o}[${i}]: native ${x}, cpu ${y} (tolerance ${tol.toExponential(1)})`;
    }
  }
  return undefined;
}
