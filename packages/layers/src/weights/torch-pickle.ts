/**
 * What the names in a `torch.save` pickle mean to the restricted reader of
 * `pickle.ts`: an allow-list of the globals a tensor state dict (and the
 * usual checkpoint around it) uses, each implemented here as plain data
 * construction. Every other global is refused by name.
 *
 * @see [torch/serialization.py](https://github.com/pytorch/pytorch/blob/main/torch/serialization.py) for what `torch.save` writes
 */

import { quote } from './excerpt';
import {
  PickleRefusal,
  PyDict,
  PyGlobal,
  PyTuple,
  describePickle,
  type PickleHooks,
  type PickleValue,
} from './pickle';
import { DTYPE_BYTES, type SafetensorsDtype, type SafetensorsTensor } from './safetensors';

/** A tensor storage: a key naming its bytes (a zip record, or a legacy file's section), its type and size. */
export class TorchStorage {
  constructor(
    readonly key: string,
    readonly dtype: SafetensorsDtype,
    readonly numel: number,
  ) {}
}

/** A tensor: a strided view of a storage, checked to lie within it. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly numel: number,
  ) {}
}

/** A `numpy.dtype`, for numpy scalars in a checkpoint's extra fields. */
class NumpyDtype {
  littleEndian = true;
  constructor(readonly code: string) {}
}

/** An instance of an allowed plain class (`argparse.Namespace`): its attributes. */
class PyObject {
  readonly attributes = new PyDict();
  constructor(readonly cls: string) {}
}

/** `torch.<X>Storage` classes and their element types. */
const STORAGE_DTYPES: Record<string, SafetensorsDtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** Most dimensions of a tensor (PyTorch's own limit). */
const MAX_DIMS = 64;

function refuse(reason: string): never {
  throw new PickleRefusal(reason);
}

function isCount(value: PickleValue): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A tuple of non-negative safe integers (a shape or strides). */
function counts(value: PickleValue, what: string): number[] {
  if (!(value instanceof PyTuple) || value.items.length > MAX_DIMS || !value.items.every(isCount)) {
    refuse(
      `${what} is ${describePickle(value)}; expected a tuple of at most ${MAX_DIMS} non-negative integers`,
    );
  }
  return value.items as number[];
}

/** Element count and last element read of a strided view, checked against its storage. */
function checkedTensor(
  storage: TorchStorage,
  offset: number,
  shape: number[],
  stride: number[],
): TorchTensor {
  const where = () =>
    `a tensor of shape [${shape.join(', ')}] with strides [${stride.join(', ')}] at offset ${offset} of storage ${quote(storage.key)} (${storage.numel} elements)`;
  if (shape.length !== stride.length)
    refuse(`${where()} has ${shape.length} sizes but ${stride.length} strides`);
  if (shape.includes(0)) return new TorchTensor(storage, offset, shape, stride, 0);
  let numel = 1;
  let last = offset;
  for (let d = 0; d < shape.length; d++) {
    numel *= shape[d];
    if (!Number.isSafeInteger(numel)) refuse(`${where()} has more than 2^53 elements`);
    if (stride[d] > 0 && shape[d] - 1 > (storage.numel - last) / stride[d]) {
      refuse(`${where()} reaches beyond the end of its storage`);
    }
    last += (shape[d] - 1) * stride[d];
  }
  if (last >= storage.numel) refuse(`${where()} reaches beyond the end of its storage`);
  return new TorchTensor(storage, offset, shape, stride, numel);
}

/** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])` and `_rebuild_tensor`. */
function rebuildTensor(name: string, args: readonly PickleValue[], arities: number[]): TorchTensor {
  if (!arities.includes(args.length)) {
    refuse(`${name} with ${args.length} arguments; expected ${arities.join(' or ')}`);
  }
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) {
    refuse(`${name}'s storage is ${describePickle(storage)}; expected a storage (a persistent id)`);
  }
  if (!isCount(offset))
    refuse(
      `${name}'s storage offset is ${describePickle(offset)}; expected a non-negative integer`,
    );
  return checkedTensor(
    storage,
    offset,
    counts(size, `${name}'s size`),
    counts(stride, `${name}'s stride`),
  );
}

/** `torch._utils._rebuild_parameter(data, requires_grad, hooks)` and `_rebuild_parameter_with_state`: the data. */
function parameter(name: string, args: readonly PickleValue[], arity: number): TorchTensor {
  if (args.length !== arity || !(args[0] instanceof TorchTensor)) {
    refuse(
      `${name} with ${args.length} arguments, the first ${describePickle(args[0] ?? null)}; expected ${arity}, the first a tensor`,
    );
  }
  return args[0];
}

function orderedDict(args: readonly PickleValue[]): PyDict {
  if (args.length !== 0)
    refuse(`collections.OrderedDict with ${args.length} arguments; expected none`);
  return new PyDict();
}

/** `_codecs.encode(text, 'latin1')`: how protocol 2 pickles `bytes`. */
function codecsEncode(args: readonly PickleValue[]): Uint8Array {
  const [text, encoding] = args;
  if (
    args.length !== 2 ||
    typeof text !== 'string' ||
    (encoding !== 'latin1' && encoding !== 'latin-1')
  ) {
    refuse(
      `_codecs.encode of ${args.map(describePickle).join(', ')}; expected a string and "latin1"`,
    );
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff)
      refuse(`_codecs.encode of a string with character U+${code.toString(16)}, not latin1`);
    out[i] = code;
  }
  return out;
}

function numpyDtype(args: readonly PickleValue[]): NumpyDtype {
  if (args.length < 1 || typeof args[0] !== 'string') {
    refuse(`numpy.dtype of ${describePickle(args[0] ?? null)}; expected a type code such as "f8"`);
  }
  return new NumpyDtype(args[0]);
}

/** numpy scalar types read: code → size and decoder. */
const NUMPY_SCALARS: Record<
  string,
  [number, (v: DataView, le: boolean) => number | bigint | boolean]
> = {
  f8: [8, (v, le) => v.getFloat64(0, le)],
  f4: [4, (v, le) => v.getFloat32(0, le)],
  i8: [8, (v, le) => v.getBigInt64(0, le)],
  i4: [4, (v, le) => v.getInt32(0, le)],
  i2: [2, (v, le) => v.getInt16(0, le)],
  i1: [1, (v) => v.getInt8(0)],
  u8: [8, (v, le) => v.getBigUint64(0, le)],
  u4: [4, (v, le) => v.getUint32(0, le)],
  u2: [2, (v, le) => v.getUint16(0, le)],
  u1: [1, (v) => v.getUint8(0)],
  b1: [1, (v) => v.getUint8(0) !== 0],
};

/** `numpy.core.multiarray.scalar(dtype, bytes)`: a number (or boolean). */
function numpyScalar(args: readonly PickleValue[]): PickleValue {
  const [dtype, data] = args;
  if (!(dtype instanceof NumpyDtype) || !(data instanceof Uint8Array)) {
    refuse(
      `numpy scalar of ${args.map(describePickle).join(', ')}; expected a numpy.dtype and bytes`,
    );
  }
  const known = Object.hasOwn(NUMPY_SCALARS, dtype.code) ? NUMPY_SCALARS[dtype.code] : undefined;
  if (known === undefined || data.byteLength !== known[0]) {
    refuse(
      `numpy scalar of type ${quote(dtype.code)} in ${data.byteLength} bytes; read: ${Object.keys(NUMPY_SCALARS).join(', ')}, in their sizes`,
    );
  }
  const value = known[1](
    new DataView(data.buffer, data.byteOffset, data.byteLength),
    dtype.littleEndian,
  );
  return typeof value === 'bigint' && Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

/** The functions a pickle may call (`REDUCE`). */
const CALLS: Record<string, (args: readonly PickleValue[]) => PickleValue> = {
  'collections.OrderedDict': orderedDict,
  'torch._utils._rebuild_tensor_v2': (args) => rebuildTensor('_rebuild_tensor_v2', args, [6, 7]),
  'torch._utils._rebuild_tensor': (args) => rebuildTensor('_rebuild_tensor', args, [4]),
  'torch._utils._rebuild_parameter': (args) => parameter('_rebuild_parameter', args, 3),
  'torch._utils._rebuild_parameter_with_state': (args) =>
    parameter('_rebuild_parameter_with_state', args, 4),
  'numpy.core.multiarray.scalar': numpyScalar,
  'numpy._core.multiarray.scalar': numpyScalar,
  'numpy.dtype': numpyDtype,
  '_codecs.encode': codecsEncode,
};

/** The plain classes a pickle may instantiate (`NEWOBJ`), as attribute bags. */
const CLASSES = ['argparse.Namespace'];

/** Every allowed global, for the refusal. */
const ALLOWED = [
  ...Object.keys(CALLS),
  `torch.{${Object.keys(STORAGE_DTYPES)
    .map((s) => s.replace(/Storage$/, ''))
    .join(',')}}Storage`,
  ...CLASSES,
].join(', ');

function findClass(module: string, name: string): PyGlobal {
  const qualified = `${module}.${name}`;
  if (module === 'torch' && name.endsWith('Storage')) {
    if (Object.hasOwn(STORAGE_DTYPES, name)) return new PyGlobal(module, name);
    refuse(
      `storage type ${quote(qualified)} is not read; supported: ${Object.entries(STORAGE_DTYPES)
        .map(([s, d]) => `${s} (${d})`)
        .join(', ')}`,
    );
  }
  if (Object.hasOwn(CALLS, qualified) || CLASSES.includes(qualified))
    return new PyGlobal(module, name);
  return refuse(
    `the reader refuses the global ${quote(qualified)}: only tensor state dicts are read (allowed: ${ALLOWED}); a whole model saved with torch.save(model) is not, save its state_dict() instead`,
  );
}

function reduce(callable: PickleValue, args: PyTuple): PickleValue {
  const call =
    callable instanceof PyGlobal && Object.hasOwn(CALLS, callable.qualified)
      ? CALLS[callable.qualified]
      : undefined;
  if (call === undefined)
    refuse(`REDUCE calls ${describePickle(callable)}, not an allowed function`);
  return call(args.items);
}

function newObject(cls: PickleValue, args: PyTuple): PyObject {
  if (!(cls instanceof PyGlobal) || !CLASSES.includes(cls.qualified) || args.items.length > 0) {
    refuse(
      `NEWOBJ of ${describePickle(cls)} with ${args.items.length} arguments; expected ${CLASSES.join(', ')} without arguments`,
    );
  }
  return new PyObject(cls.qualified);
}

/** `BUILD`: an OrderedDict's `_metadata`, a Namespace's attributes, a numpy dtype's byte order. */
function build(target: PickleValue, state: PickleValue): void {
  if (
    (target instanceof PyDict || target instanceof PyObject) &&
    (state === null || state instanceof PyDict)
  ) {
    const into = target instanceof PyDict ? target.attributes : target.attributes.entries;
    for (const [key, value] of state?.entries ?? []) into.set(key, value);
  } else if (
    target instanceof NumpyDtype &&
    state instanceof PyTuple &&
    typeof state.items[1] === 'string'
  ) {
    target.littleEndian = state.items[1] !== '>';
  } else {
    refuse(
      `BUILD of ${describePickle(target)} with ${describePickle(state)}: not part of a tensor state dict`,
    );
  }
}

/** The storage a persistent id stands for, the same object for the same key. */
function loadStorage(
  pid: PickleValue,
  legacy: boolean,
  storages: Map<string, TorchStorage>,
): TorchStorage {
  const expected = `("storage", storage type, key, location, element count${legacy ? ', None' : ''})`;
  if (
    !(pid instanceof PyTuple) ||
    pid.items[0] !== 'storage' ||
    pid.items.length !== (legacy ? 6 : 5)
  ) {
    refuse(
      `a persistent id of ${describePickle(pid)}${pid instanceof PyTuple ? ` starting ${describePickle(pid.items[0] ?? null)}` : ''}; expected ${expected}`,
    );
  }
  const [, type, key, location, numel, view] = pid.items;
  if (!(type instanceof PyGlobal) || !Object.hasOwn(STORAGE_DTYPES, type.name)) {
    refuse(
      `a persistent id whose storage type is ${describePickle(type)}; expected a torch.<X>Storage`,
    );
  }
  if (
    typeof key === 'string' &&
    (typeof numel === 'bigint' || typeof numel === 'number') &&
    !isCount(numel)
  ) {
    refuse(
      `storage ${quote(key)} declares ${numel} elements; expected a non-negative integer below 2^53`,
    );
  }
  if (typeof key !== 'string' || typeof location !== 'string' || !isCount(numel)) {
    refuse(
      `a persistent id (${[key, location, numel].map(describePickle).join(', ')}); expected ${expected}`,
    );
  }
  if (legacy && view !== null)
    refuse(
      `storage ${quote(key)} is a view of another storage (PyTorch before 0.4), which is not read`,
    );
  const dtype = STORAGE_DTYPES[type.name];
  const known = storages.get(key);
  if (known !== undefined && (known.dtype !== dtype || known.numel !== numel)) {
    refuse(
      `storage ${quote(key)} is declared as ${known.numel} ${known.dtype} and as ${numel} ${dtype}`,
    );
  }
  if (known !== undefined) return known;
  const storage = new TorchStorage(key, dtype, numel);
  storages.set(key, storage);
  return storage;
}

/**
 * The hooks of a `torch.save` pickle: allowed globals as data, every storage
 * recorded in `storages` by key.
 *
 * @param legacy - Whether persistent ids are the legacy format's (six items, the last a view or None).
 * @param storages - Filled with the storages the pickle names, by key.
 * @returns The hooks for `unpickle`.
 */
export function torchHooks(legacy: boolean, storages: Map<string, TorchStorage>): PickleHooks {
  return {
    findClass,
    reduce,
    newObject,
    build,
    persistentLoad: (pid) => loadStorage(pid, legacy, storages),
  };
}

/** Bytes that copies of non-contiguous tensors may still take. */
export interface CopyBudget {
  left: number;
}

/** Whether a tensor's elements are its storage's, in row-major order, from its offset. */
function isContiguous({ shape, stride }: TorchTensor): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/**
 * A tensor's row-major bytes: a view of its storage's when contiguous, else
 * a copy gathered through its strides (charged to `budget`).
 *
 * @param tensor - A tensor from the pickle.
 * @param storage - Its storage's bytes, `tensor.storage.numel` elements long.
 * @param budget - Bytes that copies may still take; reduced by this one's.
 * @returns The tensor in the readers' shape.
 * @throws Error when the copy would exceed the budget.
 */
export function materialize(
  tensor: TorchTensor,
  storage: Uint8Array,
  budget: CopyBudget,
): SafetensorsTensor {
  const { dtype } = tensor.storage;
  const size = DTYPE_BYTES[dtype];
  const shape = [...tensor.shape];
  if (isContiguous(tensor)) {
    const begin = tensor.offset * size;
    return { dtype, shape, bytes: storage.subarray(begin, begin + tensor.numel * size) };
  }
  const length = tensor.numel * size;
  if (length > budget.left) {
    throw new Error(
      `Invalid PyTorch checkpoint: a non-contiguous tensor of shape [${shape.join(', ')}] would take ${length} bytes to copy, more than the ${budget.left} bytes left of the copies allowed (in all, the size of the file).`,
    );
  }
  budget.left -= length;
  const bytes = new Uint8Array(length);
  const index = new Array<number>(shape.length).fill(0);
  let from = tensor.offset * size;
  for (let out = 0; out < length; out += size) {
    for (let b = 0; b < size; b++) bytes[out + b] = storage[from + b];
    for (let d = shape.length - 1; d >= 0; d--) {
      from += tensor.stride[d] * size;
      if (++index[d] < shape[d]) break;
      from -= tensor.stride[d] * shape[d] * size;
      index[d] = 0;
    }
  }
  return { dtype, shape, bytes };
}
