import {
  buffer,
  engine,
  getKernelsForBackend,
  registerBackend,
  registerKernel,
  type backend_util,
  type DataId,
  type DataType,
  type KernelFunc,
  type Rank,
  type TensorBuffer,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { loadAddon, type NativeAddon } from './addon';
import { conv2D, conv2DBackpropFilter, conv2DBackpropInput, fusedConv2D } from './kernels/conv';
import {
  addN,
  binary,
  binaryOps,
  fusedBatchNorm,
  padV2,
  reduce,
  slice,
  tile,
  unary,
  unaryOps,
} from './kernels/elementwise';
import { batchMatMul, fusedMatMul } from './kernels/matmul';
import { pool, poolGrad } from './kernels/pool';
import { BufferPool, poolCapacityFromEnv } from './pool';

/**
 * The name this package registers its backend under:
 * `await tf.setBackend(backendName)` selects it.
 */
export const backendName = 'convnets-native';

/**
 * Registration priority: above tfjs's `cpu` (1), below `tensorflow`
 * (tfjs-node, 3), so a program that imports this package and not tfjs-node
 * gets it by default.
 */
const priority = 2;

/** Kernel factories take typed arguments; tfjs's registry stores them untyped. */
function adapt<F>(factory: (addon: NativeAddon) => F): (addon: NativeAddon) => KernelFunc {
  return factory as unknown as (addon: NativeAddon) => KernelFunc;
}

/** The kernels the addon replaces; every other kernel is the cpu backend's. */
const nativeKernels: Record<string, (addon: NativeAddon) => KernelFunc> = {
  Conv2D: adapt(conv2D),
  FusedConv2D: adapt(fusedConv2D),
  Conv2DBackpropInput: adapt(conv2DBackpropInput),
  Conv2DBackpropFilter: adapt(conv2DBackpropFilter),
  BatchMatMul: adapt(batchMatMul),
  _FusedMatMul: adapt(fusedMatMul),
  ...Object.fromEntries(
    Object.keys(binaryOps).map((k) => [k, adapt(binary(k as keyof typeof binaryOps))]),
  ),
  ...Object.fromEntries(
    Object.keys(unaryOps).map((k) => [k, adapt(unary(k as keyof typeof unaryOps))]),
  ),
  Sum: adapt(reduce('Sum')),
  Mean: adapt(reduce('Mean')),
  Tile: adapt(tile),
  Slice: adapt(slice),
  PadV2: adapt(padV2),
  FusedBatchNorm: adapt(fusedBatchNorm),
  AddN: adapt(addN),
  MaxPool: adapt(pool('MaxPool')),
  AvgPool: adapt(pool('AvgPool')),
  MaxPoolGrad: adapt(poolGrad('MaxPoolGrad')),
  AvgPoolGrad: adapt(poolGrad('AvgPoolGrad')),
};

/** The names of the kernels that run in the addon rather than in JavaScript. */
export const nativeKernelNames: readonly string[] = Object.keys(nativeKernels);

/** An output whose values are computed when something first reads them. */
interface Deferred {
  size: number;
  /** The tensors the computation reads, each holding one reference until then. */
  inputs: TensorInfo[];
  compute: (out: Float32Array) => void;
}

/** An entry of the cpu backend's tensor-data store. */
type TensorData = ReturnType<MathBackendCPU['data']['get']>;

/**
 * The tfjs `cpu` backend with its hot kernels replaced: data lives in the same
 * JavaScript typed arrays, so every cpu kernel runs on it unchanged.
 *
 * Two additions sit on the tensor-data store, which every read and write goes
 * through: the native kernels' outputs come from a {@link BufferPool}, and a
 * kernel may defer its output (see `defer`), which is then computed on the
 * first read, or never if the tensor is disposed unread.
 */
class NativeBackend extends MathBackendCPU {
  /** Recycled output buffers for the native kernels. */
  readonly pool: BufferPool;
  private readonly deferred = new Map<DataId, Deferred>();
  /** How many deferred outputs were computed, and how many were disposed unread. */
  readonly deferredStats = { computed: 0, skipped: 0 };
  /** The store's own `get`, which never computes a deferred output. */
  private readonly peek: (dataId: DataId) => TensorData;

  constructor(addon: NativeAddon) {
    super();
    const discard = addon.discard?.bind(addon);
    this.pool = new BufferPool(poolCapacityFromEnv(), undefined, undefined, discard);
    const storage = this.data;
    const get = storage.get.bind(storage);
    const set = storage.set.bind(storage);
    const remove = storage.delete.bind(storage);
    this.peek = get;
    storage.get = (dataId) => {
      const entry = get(dataId);
      if (this.deferred.size > 0 && this.deferred.has(dataId)) this.materialize(dataId, entry);
      return entry;
    };
    storage.set = (dataId, value) => {
      // Store before releasing, so that setting the same values again never
      // lets their buffer's count reach zero.
      const previous = storage.has(dataId) ? get(dataId).values : undefined;
      this.pool.stored(value.values);
      if (previous !== undefined) this.pool.released(previous);
      set(dataId, value);
    };
    storage.delete = (dataId) => {
      if (storage.has(dataId)) this.pool.released(get(dataId).values);
      return remove(dataId);
    };
  }

  /**
   * Makes a float32 output of `shape` whose values `compute` writes (every
   * element) when the output is first read. Each of `inputs` is kept alive
   * until then. Used where an output is often not needed at all: the input
   * gradient of a network's first convolution, which tfjs' fused convolution
   * computes although nothing reads it.
   */
  defer(shape: number[], inputs: TensorInfo[], compute: (out: Float32Array) => void): TensorInfo {
    for (const t of inputs) this.incRef(t.dataId);
    const info = this.makeTensorInfo(shape, 'float32');
    this.deferred.set(info.dataId, { size: util.sizeFromShape(shape), inputs, compute });
    return info;
  }

  private materialize(dataId: DataId, entry: TensorData): void {
    const job = this.deferred.get(dataId)!;
    this.deferred.delete(dataId);
    const out = this.pool.take(job.size);
    job.compute(out);
    this.deferredStats.computed++;
    entry.values = out;
    this.pool.stored(out);
    this.release(job);
  }

  /** Drops the references a deferred output held on its inputs. */
  private release(job: Deferred): void {
    for (const t of job.inputs) {
      if (this.disposeData(t.dataId)) engine().removeDataId(t.dataId, this);
    }
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const job = this.deferred.get(dataId);
    if (!job) return super.disposeData(dataId, force);
    const entry = this.peek(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.deferred.delete(dataId);
    this.data.delete(dataId);
    this.release(job);
    this.deferredStats.skipped++;
    return true;
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
    if (this.data.has(dataId)) this.pool.escaped(this.data.get(dataId).values);
    return super.readSync(dataId);
  }

  /** Kernels read their inputs through this; unlike `readSync` it does not hand values out. */
  override bufferSync<R extends Rank, D extends DataType>(t: TensorInfo): TensorBuffer<R, D> {
    const { dtype, values } = this.data.get(t.dataId);
    const direct =
      (dtype === 'float32' && values instanceof Float32Array) ||
      (dtype === 'int32' && values instanceof Int32Array);
    if (!direct) return super.bufferSync(t);
    return buffer(t.shape, t.dtype, values) as unknown as TensorBuffer<R, D>;
  }

  override dispose(): void {
    for (const job of this.deferred.values()) this.release(job);
    this.deferred.clear();
    this.pool.clear();
    super.dispose();
  }
}

/**
 * Why the addon could not be loaded, or undefined when it loaded. Never
 * throws: loading is attempted once and its failure recorded.
 *
 * @returns A message naming every place the addon was looked for and why each
 * failed, with how to rebuild it; undefined when the addon loaded.
 * @example
 * ```ts
 * if (!(await register())) console.warn(loadError()); // and stay on 'cpu'
 * ```
 */
export function loadError(): string | undefined {
  const load = loadAddon();
  if (load.addon) return undefined;
  if (load.explicit)
    return `@convnets/backend-native: the native addon could not be loaded from ${load.errors.join('; ')}; expected a loadable convnets_native.node there. Fix the path, or unset CONVNETS_NATIVE_ADDON to use the prebuilt addon.`;
  return `@convnets/backend-native: the native addon could not be loaded (${load.errors.join('; ')}). Rebuild it with \`npm run build:native\` in the package, or use the 'cpu' backend.`;
}

/**
 * What the loaded addon runs on, or undefined when it could not be loaded.
 * Never throws.
 *
 * @returns `isa`: the SIMD micro-kernels chosen at load (AVX-512, AVX2+FMA or
 * generic); `threads`: the thread pool's size; `path`: the addon file loaded.
 * @example
 * ```ts
 * const info = nativeInfo();
 * if (info) console.log(`native backend: ${info.isa}, ${info.threads} threads`);
 * ```
 */
export function nativeInfo(): { isa: string; threads: number; path: string } | undefined {
  const load = loadAddon();
  if (!load.addon || !load.path) return undefined;
  return { ...load.addon.info(), path: load.path };
}

let registered = false;
let warned = false;

/**
 * Registers the backend and its kernels with tfjs (once; later calls do
 * nothing). Returns false, registering nothing, when the addon cannot be
 * loaded on this machine; {@link loadError} says why.
 */
export function registerNativeBackend(): boolean {
  if (registered) return true;
  const load = loadAddon();
  const { addon } = load;
  if (!addon) {
    // A path set explicitly that does not load is a configuration error: say
    // so once, rather than leave tfjs quietly on another backend.
    if (load.explicit && !warned) {
      warned = true;
      process.emitWarning(loadError() ?? '', { code: 'CONVNETS_NATIVE_ADDON' });
    }
    return false;
  }
  // Another copy of this module (the ESM and CJS builds side by side) may
  // have registered already; tfjs keeps one registry per process.
  if (engine().registryFactory[backendName] === undefined) {
    registerBackend(backendName, () => new NativeBackend(addon), priority);
    for (const config of getKernelsForBackend('cpu')) {
      const make = nativeKernels[config.kernelName];
      registerKernel({
        ...config,
        backendName,
        kernelFunc: make ? make(addon) : config.kernelFunc,
      });
    }
  }
  registered = true;
  return true;
}
