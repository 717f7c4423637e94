/**
 * A restricted reader of Python pickles (protocols 2 to 5): a stack machine
 * that implements only the opcodes a `torch.save` of tensors uses, and never
 * calls anything. What a pickle would *call* (`GLOBAL` + `REDUCE`, `NEWOBJ`,
 * `BUILD`, persistent ids) is handed to {@link PickleHooks}, which decide
 * what each allowed name means and refuse every other one.
 *
 * Every length, index and count read from the data is checked against the
 * bytes present and against fixed limits before it is used.
 *
 * @see [Python's pickle opcodes (Lib/pickletools.py)](https://github.com/python/cpython/blob/main/Lib/pickletools.py)
 */

import { excerpt, quote } from './excerpt';

/** A Python `list`. */
export class PyList {
  constructor(readonly items: PickleValue[] = []) {}
}

/** A Python `tuple`. */
export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python `dict` (or `OrderedDict`), in insertion order. */
export class PyDict {
  readonly entries = new Map<PickleValue, PickleValue>();
  /** Attributes set by `BUILD` (an `OrderedDict`'s `_metadata`), kept apart from the entries. */
  readonly attributes = new Map<PickleValue, PickleValue>();
}

/** A module-level name that the hooks allowed (`GLOBAL`/`STACK_GLOBAL`), e.g. `collections.OrderedDict`. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  /** `module.name`. */
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * A value on the pickle machine's stack. Python `int`s are numbers when safe
 * integers and bigints beyond; `float`s numbers; `str` strings; `bytes`
 * `Uint8Array`s; `None` null. The hooks may put their own objects on the stack.
 */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyList
  | PyTuple
  | PyDict
  | PyGlobal
  | object;

/** What a pickle would call, decided by its reader. Each may throw to refuse. */
export interface PickleHooks {
  /** `GLOBAL`/`STACK_GLOBAL`: the value of `module.name`, or throws for a name not allowed. */
  findClass(module: string, name: string): PickleValue;
  /** `REDUCE`: `callable(*args)`. */
  reduce(callable: PickleValue, args: PyTuple): PickleValue;
  /** `NEWOBJ`: `cls.__new__(cls, *args)`. */
  newObject(cls: PickleValue, args: PyTuple): PickleValue;
  /** `BUILD`: sets `state` on `target` (in place). */
  build(target: PickleValue, state: PickleValue): void;
  /** `BINPERSID`: the object a persistent id stands for (a tensor's storage). */
  persistentLoad(pid: PickleValue): PickleValue;
}

/** Most values on the stack (marked or not) at once, and most memo entries. */
export const PICKLE_LIMITS = { stack: 1_000_000, memo: 1_000_000, longBytes: 64, lineBytes: 256 };

/** The state of one run of the machine. */
interface Machine {
  readonly data: Uint8Array;
  readonly view: DataView;
  /** Where the next opcode or argument starts. */
  at: number;
  /** Where the current opcode started, for messages. */
  op: number;
  readonly stack: PickleValue[];
  /** Stack lengths at each open MARK. */
  readonly marks: number[];
  readonly memo: Map<number, PickleValue>;
  readonly hooks: PickleHooks;
  /** Names the pickle in messages, e.g. `data.pkl`. */
  readonly name: string;
}

/** One opcode's effect; returns `true` for STOP. */
type Handler = (m: Machine) => boolean | void;

/**
 * What a hook throws to refuse a value: the machine adds the pickle's name and
 * the opcode's position to the message.
 */
export class PickleRefusal extends Error {}

/** Throws the reader's error for the opcode being run. */
export function pickleError(m: Pick<Machine, 'name' | 'op'>, reason: string): never {
  throw new Error(`Invalid PyTorch checkpoint: ${m.name}, byte ${m.op}: ${reason}.`);
}

/** The next `n` bytes, after checking they are present. */
function take(m: Machine, n: number, what: string): Uint8Array {
  const left = m.data.byteLength - m.at;
  if (n > left) {
    pickleError(m, `${what} needs ${n} bytes but only ${left} remain (the data may be truncated)`);
  }
  const out = m.data.subarray(m.at, m.at + n);
  m.at += n;
  return out;
}

function u8(m: Machine, what: string): number {
  return take(m, 1, what)[0];
}
function u16(m: Machine, what: string): number {
  take(m, 2, what);
  return m.view.getUint16(m.at - 2, true);
}
function u32(m: Machine, what: string): number {
  take(m, 4, what);
  return m.view.getUint32(m.at - 4, true);
}
function u64(m: Machine, what: string): number {
  take(m, 8, what);
  const value = m.view.getBigUint64(m.at - 8, true);
  if (value > BigInt(m.data.byteLength)) {
    pickleError(m, `${what} is ${value}, more than the ${m.data.byteLength} bytes of the data`);
  }
  return Number(value);
}

/** A bigint as a number when it is a safe integer. */
function toInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/** A little-endian two's complement integer of `bytes.length` bytes. */
function decodeLong(bytes: Uint8Array): number | bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes.length > 0 && bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return toInt(value);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(m: Machine, bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return pickleError(m, `${what} is not valid UTF-8`);
  }
}

function push(m: Machine, value: PickleValue): void {
  if (m.stack.length >= PICKLE_LIMITS.stack) {
    pickleError(m, `more than ${PICKLE_LIMITS.stack} values on the stack`);
  }
  m.stack.push(value);
}

/** Pops one value, refusing to cross the last MARK (as Python's unpickler does). */
function pop(m: Machine): PickleValue {
  const fence = m.marks.length > 0 ? m.marks[m.marks.length - 1] : 0;
  if (m.stack.length <= fence) pickleError(m, 'the stack is empty (stack underflow)');
  return m.stack.pop()!;
}

function top(m: Machine): PickleValue {
  const fence = m.marks.length > 0 ? m.marks[m.marks.length - 1] : 0;
  if (m.stack.length <= fence) pickleError(m, 'the stack is empty (stack underflow)');
  return m.stack[m.stack.length - 1];
}

/** The values pushed since the last MARK, removing them and the mark. */
function popMark(m: Machine): PickleValue[] {
  if (m.marks.length === 0) pickleError(m, 'no MARK to pop to');
  return m.stack.splice(m.marks.pop()!);
}

/** A short description of a pickled value for messages. */
export function describePickle(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${value}`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (value instanceof PyList) return `a list of ${value.items.length} items`;
  if (value instanceof PyTuple) return `a tuple of ${value.items.length} items`;
  if (value instanceof PyDict) return `a dict of ${value.entries.size} entries`;
  if (value instanceof PyGlobal) return excerpt(value.qualified);
  return `a ${value.constructor.name}`;
}

function memoPut(m: Machine, index: number): void {
  if (m.memo.size >= PICKLE_LIMITS.memo && !m.memo.has(index)) {
    pickleError(m, `more than ${PICKLE_LIMITS.memo} memo entries`);
  }
  m.memo.set(index, top(m));
}

function memoGet(m: Machine, index: number): void {
  if (!m.memo.has(index)) pickleError(m, `memo entry ${index} is read but was never stored`);
  push(m, m.memo.get(index)!);
}

function setItems(m: Machine, items: PickleValue[], opcode = 'SETITEMS'): void {
  const dict = top(m);
  if (!(dict instanceof PyDict)) pickleError(m, `${opcode} on ${describePickle(dict)}, not a dict`);
  if (items.length % 2 !== 0)
    pickleError(m, `SETITEMS with an odd number (${items.length}) of values`);
  for (let i = 0; i < items.length; i += 2) dict.entries.set(items[i], items[i + 1]);
}

function appendItems(m: Machine, items: PickleValue[]): void {
  const list = top(m);
  if (!(list instanceof PyList)) pickleError(m, `APPENDS on ${describePickle(list)}, not a list`);
  for (const item of items) list.items.push(item);
}

/** A GLOBAL opcode's newline-terminated argument. */
function line(m: Machine, what: string): string {
  const end = m.data.indexOf(0x0a, m.at);
  if (end < 0 || end - m.at > PICKLE_LIMITS.lineBytes) {
    pickleError(m, `${what} is not a line of at most ${PICKLE_LIMITS.lineBytes} bytes`);
  }
  const text = decodeText(m, m.data.subarray(m.at, end), what);
  m.at = end + 1;
  return text;
}

function stackGlobal(m: Machine): void {
  const name = pop(m);
  const module = pop(m);
  if (typeof module !== 'string' || typeof name !== 'string') {
    pickleError(
      m,
      `STACK_GLOBAL of ${describePickle(module)} and ${describePickle(name)}; expected two strings`,
    );
  }
  push(m, m.hooks.findClass(module, name));
}

function argsTuple(m: Machine, opcode: string): PyTuple {
  const args = pop(m);
  if (!(args instanceof PyTuple))
    pickleError(m, `${opcode} with ${describePickle(args)} as arguments; expected a tuple`);
  return args;
}

function long4(m: Machine): void {
  const n = u32(m, 'LONG4 length');
  if (n > PICKLE_LIMITS.longBytes) {
    pickleError(m, `a LONG4 integer of ${n} bytes; at most ${PICKLE_LIMITS.longBytes} expected`);
  }
  push(m, decodeLong(take(m, n, 'LONG4 integer')));
}

function proto(m: Machine): void {
  const version = u8(m, 'PROTO version');
  if (version < 2 || version > 5) pickleError(m, `pickle protocol ${version}; expected 2 to 5`);
}

function frame(m: Machine): void {
  const n = u64(m, 'FRAME length');
  if (n > m.data.byteLength - m.at)
    pickleError(m, `a frame of ${n} bytes, more than the rest of the data`);
}

function setItem(m: Machine): void {
  const value = pop(m);
  const key = pop(m);
  setItems(m, [key, value], 'SETITEM');
}

function reduce(m: Machine): void {
  const args = argsTuple(m, 'REDUCE');
  push(m, m.hooks.reduce(pop(m), args));
}

function newObject(m: Machine): void {
  const args = argsTuple(m, 'NEWOBJ');
  push(m, m.hooks.newObject(pop(m), args));
}

function build(m: Machine): void {
  const state = pop(m);
  m.hooks.build(top(m), state);
}

function mark(m: Machine): void {
  if (m.marks.length >= PICKLE_LIMITS.stack)
    pickleError(m, `more than ${PICKLE_LIMITS.stack} open MARKs`);
  m.marks.push(m.stack.length);
}

/** BINFLOAT: a big-endian float64. */
function binFloat(m: Machine): void {
  take(m, 8, 'BINFLOAT');
  push(m, m.view.getFloat64(m.at - 8, false));
}

const text = (m: Machine, n: number, what: string) =>
  push(m, decodeText(m, take(m, n, what), what));
const tuple = (m: Machine, n: number) => {
  const items: PickleValue[] = [];
  for (let i = 0; i < n; i++) items.unshift(pop(m));
  push(m, new PyTuple(items));
};

/** The opcodes read, by byte. Any other opcode is refused by name. */
const HANDLERS = new Map<number, Handler>([
  [0x80, proto], // PROTO
  [0x95, frame], // FRAME
  [0x2e, () => true], // STOP
  [0x28, mark], // MARK
  [0x30, (m) => void pop(m)], // POP
  [0x31, (m) => void popMark(m)], // POP_MARK
  [0x32, (m) => push(m, top(m))], // DUP
  [0x4e, (m) => push(m, null)], // NONE
  [0x88, (m) => push(m, true)], // NEWTRUE
  [0x89, (m) => push(m, false)], // NEWFALSE
  [0x4a, (m) => push(m, u32(m, 'BININT') | 0)], // BININT (signed)
  [0x4b, (m) => push(m, u8(m, 'BININT1'))], // BININT1
  [0x4d, (m) => push(m, u16(m, 'BININT2'))], // BININT2
  [0x8a, (m) => push(m, decodeLong(take(m, u8(m, 'LONG1 length'), 'LONG1 integer')))], // LONG1
  [0x8b, long4], // LONG4
  [0x47, binFloat], // BINFLOAT
  [0x58, (m) => text(m, u32(m, 'BINUNICODE length'), 'BINUNICODE string')], // BINUNICODE
  [0x8c, (m) => text(m, u8(m, 'SHORT_BINUNICODE length'), 'SHORT_BINUNICODE string')], // SHORT_BINUNICODE
  [0x8d, (m) => text(m, u64(m, 'BINUNICODE8 length'), 'BINUNICODE8 string')], // BINUNICODE8
  [0x54, (m) => text(m, u32(m, 'BINSTRING length'), 'BINSTRING string')], // BINSTRING (Python 2 str)
  [0x55, (m) => text(m, u8(m, 'SHORT_BINSTRING length'), 'SHORT_BINSTRING string')], // SHORT_BINSTRING
  [0x42, (m) => push(m, take(m, u32(m, 'BINBYTES length'), 'BINBYTES bytes').slice())], // BINBYTES
  [0x43, (m) => push(m, take(m, u8(m, 'SHORT_BINBYTES length'), 'SHORT_BINBYTES bytes').slice())], // SHORT_BINBYTES
  [0x29, (m) => push(m, new PyTuple([]))], // EMPTY_TUPLE
  [0x85, (m) => tuple(m, 1)], // TUPLE1
  [0x86, (m) => tuple(m, 2)], // TUPLE2
  [0x87, (m) => tuple(m, 3)], // TUPLE3
  [0x74, (m) => push(m, new PyTuple(popMark(m)))], // TUPLE
  [0x5d, (m) => push(m, new PyList())], // EMPTY_LIST
  [0x61, (m) => appendItems(m, [pop(m)])], // APPEND
  [0x65, (m) => appendItems(m, popMark(m))], // APPENDS
  [0x7d, (m) => push(m, new PyDict())], // EMPTY_DICT
  [0x73, setItem], // SETITEM
  [0x75, (m) => setItems(m, popMark(m))], // SETITEMS
  [0x71, (m) => memoPut(m, u8(m, 'BINPUT index'))], // BINPUT
  [0x72, (m) => memoPut(m, u32(m, 'LONG_BINPUT index'))], // LONG_BINPUT
  [0x94, (m) => memoPut(m, m.memo.size)], // MEMOIZE
  [0x68, (m) => memoGet(m, u8(m, 'BINGET index'))], // BINGET
  [0x6a, (m) => memoGet(m, u32(m, 'LONG_BINGET index'))], // LONG_BINGET
  [0x63, (m) => push(m, m.hooks.findClass(line(m, 'GLOBAL module'), line(m, 'GLOBAL name')))], // GLOBAL
  [0x93, stackGlobal], // STACK_GLOBAL
  [0x52, reduce], // REDUCE
  [0x81, newObject], // NEWOBJ
  [0x62, build], // BUILD
  [0x51, (m) => push(m, m.hooks.persistentLoad(pop(m)))], // BINPERSID
]);

/** Names of the opcodes not read, for the refusal. */
const REFUSED: Record<number, string> = {
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x50: 'PERSID',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x64: 'DICT',
  0x67: 'GET',
  0x69: 'INST',
  0x6c: 'LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/**
 * Runs one pickle from `start` to its STOP opcode, with `hooks` deciding what
 * every global, call and persistent id means.
 *
 * @param data - The bytes holding the pickle (possibly followed by more).
 * @param start - Where the pickle starts in `data`.
 * @param hooks - What the pickle's names, calls and persistent ids mean.
 * @param name - Names the pickle in messages, e.g. `archive/data.pkl`.
 * @returns The pickled value and where the pickle ended (one past STOP).
 * @throws Error ("Invalid PyTorch checkpoint: <name>, byte <n>: …") for an
 *   opcode not read (named), a length beyond the data, a stack underflow, a
 *   limit of {@link PICKLE_LIMITS} exceeded, data ending before STOP, or a
 *   {@link PickleRefusal} of a hook (with the position added); other errors
 *   of the hooks pass unchanged.
 */
export function unpickle(
  data: Uint8Array,
  start: number,
  hooks: PickleHooks,
  name: string,
): { value: PickleValue; end: number } {
  const m: Machine = {
    data,
    view: new DataView(data.buffer, data.byteOffset, data.byteLength),
    at: start,
    op: start,
    stack: [],
    marks: [],
    memo: new Map(),
    hooks,
    name,
  };
  while (m.at < data.byteLength) {
    m.op = m.at;
    const opcode = data[m.at++];
    const handler = HANDLERS.get(opcode);
    if (handler === undefined) {
      const known = REFUSED[opcode];
      pickleError(
        m,
        known === undefined
          ? `0x${opcode.toString(16).padStart(2, '0')} is not a pickle opcode (the data is not a pickle, or is corrupt)`
          : `opcode ${known} is not read: only the opcodes of a tensor state dict are (torch.save's)`,
      );
    }
    let stopped: boolean | void;
    try {
      stopped = handler(m);
    } catch (e) {
      if (e instanceof PickleRefusal) pickleError(m, e.message);
      throw e;
    }
    if (stopped === true) return { value: pop(m), end: m.at };
  }
  m.op = m.at;
  return pickleError(m, 'the pickle ends without its STOP opcode (the data may be truncated)');
}
