// A restricted reader of Python pickles holding only dicts, lists, tuples,
// numbers, strings and uint8 numpy arrays (CIFAR's python batches). Nothing
// is executed: the only globals it accepts are numpy's array reconstructor,
// `numpy.ndarray` and `numpy.dtype`, which it interprets itself; any other is
// refused by name.

/** A uint8 numpy array read from a pickle: its shape and its bytes (a view of the pickle's). */
export interface PickledArray {
  readonly kind: 'ndarray';
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/**
 * A value read by {@link readPickle}: `None` is `null`, Python 2 `str` and
 * Python 3 `bytes` are `Uint8Array`s, `unicode`/`str` are strings, lists and
 * tuples are arrays, dicts are Maps (keys as strings, bytes decoded as latin-1).
 */
export type PickleValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | PickledArray
  | readonly PickleValue[]
  | ReadonlyMap<string, PickleValue>;

/** The globals a CIFAR batch needs (numpy 1 and numpy 2 spell the reconstructor's module differently). */
const ALLOWED = new Set([
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'numpy.dtype',
]);

/** Thrown for anything that is not a well-formed pickle of the supported kinds. */
export class PickleError extends Error {}

/** Placeholders on the stack: an allowed global, an array or dtype being built, a MARK. */
class Global {
  constructor(readonly name: string) {}
}
class PendingArray {
  value: PickledArray | null = null;
}
class Dtype {
  constructor(readonly code: string) {}
}
/** A tuple, which may hold placeholders (a global, a dtype) until it is read as a value. */
class Tuple {
  constructor(readonly items: readonly Item[]) {}
}
const MARK = Symbol('mark');

type Item = PickleValue | Global | PendingArray | Dtype | Tuple | typeof MARK;

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A string-ish value (py2 str / bytes or unicode) as a JS string. */
export function pickleText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return LATIN1.decode(value);
  return undefined;
}

/** The byte cursor over a pickle, every read checked against the end. */
class Cursor {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}

  take(n: number, what: string): Uint8Array {
    if (n < 0 || n > this.bytes.length - this.at)
      throw new PickleError(
        `${what} of ${n} bytes at byte ${this.at} runs past the end (${this.bytes.length - this.at} bytes left)`,
      );
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** A little-endian unsigned integer of `n` bytes (n ≤ 4), or signed for `n = 4` when asked. */
  uint(n: 1 | 2 | 4, what: string, signed = false): number {
    const b = this.take(n, what);
    const v = b.reduceRight((acc, byte) => acc * 256 + byte, 0);
    return signed && n === 4 && v >= 2 ** 31 ? v - 2 ** 32 : v;
  }

  /** An 8-byte little-endian length, refused above 2^53. */
  uint64(what: string): number {
    const lo = this.uint(4, what);
    const hi = this.uint(4, what);
    if (hi >= 2 ** 21) throw new PickleError(`${what} of ${hi} · 2^32 bytes is not plausible`);
    return hi * 2 ** 32 + lo;
  }

  /** A newline-terminated line (GLOBAL's module and name). */
  line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.at);
    if (end < 0 || end - this.at > 256)
      throw new PickleError(`${what} at byte ${this.at} is not a short newline-terminated line`);
    return LATIN1.decode(this.take(end - this.at + 1, what).subarray(0, -1));
  }
}

/** Opcodes this reader refuses, by name, for the error message. */
const REFUSED: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x53: 'STRING',
  0x49: 'INT',
  0x4c: 'LONG',
  0x8b: 'LONG4',
  0x46: 'FLOAT',
  0x47: 'BINFLOAT',
  0x56: 'UNICODE',
  0x67: 'GET',
  0x70: 'PUT',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
};

/** The pickle machine: a stack, a memo, and the handlers of the supported opcodes. */
class Machine {
  readonly stack: Item[] = [];
  readonly memo = new Map<number, Item>();
  result: Item | undefined;

  constructor(readonly c: Cursor) {}

  push(item: Item): void {
    this.stack.push(item);
  }

  pop(what: string): Item {
    if (this.stack.length === 0) throw new PickleError(`${what} on an empty stack`);
    return this.stack.pop()!;
  }

  top(what: string): Item {
    if (this.stack.length === 0) throw new PickleError(`${what} on an empty stack`);
    return this.stack[this.stack.length - 1];
  }

  /** The top `n` items, removed, bottom first. */
  popN(n: number, what: string): Item[] {
    if (this.stack.length < n) throw new PickleError(`${what} on a stack of ${this.stack.length}`);
    return this.stack.splice(this.stack.length - n);
  }

  /** The items above the topmost MARK, removed with it. */
  popMark(what: string): Item[] {
    const k = this.stack.lastIndexOf(MARK);
    if (k < 0) throw new PickleError(`${what} without a MARK`);
    return this.stack.splice(k).slice(1);
  }

  /** A plain value (not a placeholder), as a container may hold it. */
  value(item: Item, what: string): PickleValue {
    if (item === MARK || item instanceof Global || item instanceof Dtype)
      throw new PickleError(`${what}: a ${describe(item)} where a value was expected`);
    if (item instanceof PendingArray) {
      if (!item.value) throw new PickleError(`${what}: a numpy array that was never filled in`);
      return item.value;
    }
    if (item instanceof Tuple) return item.items.map((v) => this.value(v, what));
    return item;
  }

  setItems(items: Item[], what: string): void {
    const dict = this.top(what);
    if (!(dict instanceof Map)) throw new PickleError(`${what} on a ${describe(dict)}, not a dict`);
    if (items.length % 2 !== 0) throw new PickleError(`${what} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) {
      const key = pickleText(items[i]);
      if (key === undefined)
        throw new PickleError(`${what}: a dict key that is a ${describe(items[i])}, not a string`);
      (dict as Map<string, PickleValue>).set(key, this.value(items[i + 1], what));
    }
  }

  append(items: Item[], what: string): void {
    const list = this.top(what);
    if (!Array.isArray(list)) throw new PickleError(`${what} on a ${describe(list)}, not a list`);
    for (const item of items) (list as PickleValue[]).push(this.value(item, what));
  }

  global(module: string, name: string): void {
    const full = `${module}.${name}`;
    if (!ALLOWED.has(full))
      throw new PickleError(
        `the pickle calls ${full}, which is not allowed (a CIFAR batch needs only ${[...ALLOWED].join(', ')}); nothing was executed`,
      );
    this.push(new Global(full));
  }
}

/** What an item is, for error messages. */
function describe(item: unknown): string {
  if (item === MARK) return 'MARK';
  if (item instanceof Global) return `global ${item.name}`;
  if (item instanceof Dtype) return 'numpy dtype';
  if (item instanceof PendingArray) return 'numpy array';
  if (item instanceof Tuple) return 'tuple';
  if (item === null) return 'None';
  if (item instanceof Uint8Array) return 'bytes';
  if (Array.isArray(item)) return 'list';
  if (item instanceof Map) return 'dict';
  return typeof item;
}

/** A tuple of plain values, or an error naming `what`. */
function tupleOf(m: Machine, item: Item, what: string): PickleValue[] {
  if (!(item instanceof Tuple))
    throw new PickleError(`${what} is a ${describe(item)}, not a tuple`);
  return item.items.map((v) => m.value(v, what));
}

/** REDUCE: calls one of the allowed globals, as numpy's unpickling would, without running anything. */
function reduce(m: Machine): void {
  const args = m.pop('REDUCE');
  const callable = m.pop('REDUCE');
  if (!(callable instanceof Global))
    throw new PickleError(`REDUCE calls a ${describe(callable)}, not an allowed global`);
  if (callable.name.endsWith('._reconstruct')) {
    const [cls] = args instanceof Tuple ? args.items : [];
    if (!(cls instanceof Global) || cls.name !== 'numpy.ndarray')
      throw new PickleError(`${callable.name} is called for a ${describe(cls)}, not numpy.ndarray`);
    m.push(new PendingArray());
  } else if (callable.name === 'numpy.dtype') {
    const code = pickleText(tupleOf(m, args, 'the arguments of numpy.dtype')[0]);
    if (code !== 'u1')
      throw new PickleError(
        `a numpy array of dtype ${JSON.stringify(code)}; only uint8 ('u1') arrays are read`,
      );
    m.push(new Dtype(code));
  } else {
    throw new PickleError(`REDUCE calls ${callable.name} directly`);
  }
}

/** The shape of an array's state: a tuple of non-negative integers. */
function shapeOf(m: Machine, item: Item): number[] {
  const dims = tupleOf(m, item, "the array's shape");
  if (!dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0))
    throw new PickleError(`the array's shape ${JSON.stringify(dims)} is not a tuple of sizes`);
  return dims as number[];
}

/** BUILD: fills in an array (shape, dtype, order, bytes) or a dtype (its byte order, ignored for uint8). */
function build(m: Machine): void {
  const state = m.pop('BUILD');
  const target = m.top('BUILD');
  if (target instanceof Dtype) {
    tupleOf(m, state, 'the state of numpy.dtype');
    return;
  }
  if (!(target instanceof PendingArray) || target.value)
    throw new PickleError(`BUILD on a ${describe(target)}`);
  // (version, shape, dtype, is_fortran, raw bytes), or without the version in old pickles.
  const items = state instanceof Tuple ? state.items : [];
  const [shape, dtype, fortran, raw] = items.length === 5 ? items.slice(1) : items;
  if (items.length < 4 || !(dtype instanceof Dtype))
    throw new PickleError(`a numpy array state that is not (version, shape, dtype, order, bytes)`);
  if (fortran !== false && fortran !== 0)
    throw new PickleError('a numpy array in Fortran order; expected C order');
  if (!(raw instanceof Uint8Array))
    throw new PickleError(`a numpy array whose data is a ${describe(raw)}, not bytes`);
  const dims = shapeOf(m, shape);
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== raw.length)
    throw new PickleError(
      `a numpy array of shape (${dims.join(', ')}) needs ${size} bytes; its data holds ${raw.length}`,
    );
  target.value = { kind: 'ndarray', shape: dims, data: raw };
}

/** The supported opcodes. */
const OPS: Record<number, (m: Machine) => void> = {
  0x80: (m) => m.c.take(1, 'PROTO'),
  0x95: (m) => m.c.uint64('FRAME'),
  0x28: (m) => m.push(MARK),
  0x7d: (m) => m.push(new Map()),
  0x5d: (m) => m.push([]),
  0x29: (m) => m.push(new Tuple([])),
  0x74: (m) => m.push(new Tuple(m.popMark('TUPLE'))),
  0x85: (m) => m.push(new Tuple(m.popN(1, 'TUPLE1'))),
  0x86: (m) => m.push(new Tuple(m.popN(2, 'TUPLE2'))),
  0x87: (m) => m.push(new Tuple(m.popN(3, 'TUPLE3'))),
  0x6c: (m) => m.push(m.popMark('LIST').map((v) => m.value(v, 'LIST'))),
  0x64: (m) => {
    const items = m.popMark('DICT');
    m.push(new Map());
    m.setItems(items, 'DICT');
  },
  0x61: (m) => m.append([m.pop('APPEND')], 'APPEND'),
  0x65: (m) => m.append(m.popMark('APPENDS'), 'APPENDS'),
  0x73: (m) => m.setItems(m.popN(2, 'SETITEM'), 'SETITEM'),
  0x75: (m) => m.setItems(m.popMark('SETITEMS'), 'SETITEMS'),
  0x4e: (m) => m.push(null),
  0x88: (m) => m.push(true),
  0x89: (m) => m.push(false),
  0x4b: (m) => m.push(m.c.uint(1, 'BININT1')),
  0x4d: (m) => m.push(m.c.uint(2, 'BININT2')),
  0x4a: (m) => m.push(m.c.uint(4, 'BININT', true)),
  0x8a: (m) => m.push(long1(m.c)),
  0x55: (m) => m.push(m.c.take(m.c.uint(1, 'SHORT_BINSTRING'), 'a string')),
  0x54: (m) => m.push(m.c.take(m.c.uint(4, 'BINSTRING'), 'a string')),
  0x43: (m) => m.push(m.c.take(m.c.uint(1, 'SHORT_BINBYTES'), 'bytes')),
  0x42: (m) => m.push(m.c.take(m.c.uint(4, 'BINBYTES'), 'bytes')),
  0x8e: (m) => m.push(m.c.take(m.c.uint64('BINBYTES8'), 'bytes')),
  0x8c: (m) => m.push(unicode(m.c, m.c.uint(1, 'SHORT_BINUNICODE'))),
  0x58: (m) => m.push(unicode(m.c, m.c.uint(4, 'BINUNICODE'))),
  0x8d: (m) => m.push(unicode(m.c, m.c.uint64('BINUNICODE8'))),
  0x63: (m) => m.global(m.c.line('a GLOBAL module'), m.c.line('a GLOBAL name')),
  0x93: (m) => {
    const name = pickleText(m.pop('STACK_GLOBAL'));
    const module = pickleText(m.pop('STACK_GLOBAL'));
    if (name === undefined || module === undefined)
      throw new PickleError('STACK_GLOBAL without a module and a name');
    m.global(module, name);
  },
  0x52: reduce,
  0x62: build,
  0x71: (m) => m.memo.set(m.c.uint(1, 'BINPUT'), m.top('BINPUT')),
  0x72: (m) => m.memo.set(m.c.uint(4, 'LONG_BINPUT'), m.top('LONG_BINPUT')),
  0x94: (m) => m.memo.set(m.memo.size, m.top('MEMOIZE')),
  0x68: (m) => m.push(recall(m, m.c.uint(1, 'BINGET'))),
  0x6a: (m) => m.push(recall(m, m.c.uint(4, 'LONG_BINGET'))),
};

function recall(m: Machine, index: number): Item {
  const item = m.memo.get(index);
  if (item === undefined) throw new PickleError(`a memo entry ${index} that was never stored`);
  return item;
}

function unicode(c: Cursor, length: number): string {
  const bytes = c.take(length, 'a unicode string');
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new PickleError(`a unicode string at byte ${c.at - length} that is not UTF-8`);
  }
}

/** LONG1: a little-endian two's-complement integer of up to 6 bytes (larger ones are refused). */
function long1(c: Cursor): number {
  const n = c.uint(1, 'LONG1');
  if (n > 6) throw new PickleError(`an integer of ${n} bytes; at most 6 are read`);
  const b = c.take(n, 'LONG1');
  let v = b.reduceRight((acc, byte) => acc * 256 + byte, 0);
  if (n > 0 && b[n - 1] >= 0x80) v -= 2 ** (8 * n);
  return v;
}

/**
 * Reads a pickle of dicts, lists, tuples, numbers, strings and uint8 numpy
 * arrays (protocols 1 to 4, as Python 2's cPickle and Python 3's pickle
 * write them) without executing anything: the only globals accepted are
 * `numpy.core.multiarray._reconstruct` (or `numpy._core…`), `numpy.ndarray`
 * and `numpy.dtype`, interpreted here. Every length is checked against the
 * bytes present, and an array's shape against its data, before use; arrays'
 * data are views of `bytes`, not copies.
 *
 * @param bytes - The whole pickle.
 * @returns The pickled value.
 * @throws {@link PickleError} naming the opcode, global or size at fault.
 */
export function readPickle(bytes: Uint8Array): PickleValue {
  const c = new Cursor(bytes);
  const m = new Machine(c);
  while (c.at < bytes.length) {
    const at = c.at;
    const op = c.uint(1, 'an opcode');
    if (op === 0x2e) {
      if (m.stack.length !== 1)
        throw new PickleError(`STOP with ${m.stack.length} items on the stack`);
      return m.value(m.stack[0], 'the result');
    }
    const handler = OPS[op];
    if (!handler) {
      const name = REFUSED[op] ?? 'unknown';
      throw new PickleError(
        `opcode ${name} (0x${op.toString(16).padStart(2, '0')}) at byte ${at} is not supported: a CIFAR batch needs only dicts, lists, numbers, strings and uint8 numpy arrays`,
      );
    }
    handler(m);
  }
  throw new PickleError('the pickle ends without a STOP opcode (truncated?)');
}
