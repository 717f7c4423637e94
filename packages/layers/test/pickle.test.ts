import { describe, expect, it } from 'vitest';
import { readTorchStateDict } from '../src';
import { PICKLE_LIMITS } from '../src/weights/pickle';
import { writeZip } from '../src/weights/zip';

// The restricted unpickler on hand-made pickles, each wrapped as torch.save
// wraps its pickle (archive/data.pkl in a stored zip). The opcodes are
// Python's (Lib/pickletools.py).

const enc = (text: string) => new TextEncoder().encode(text);
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}
/** BINUNICODE. */
const str = (text: string) => [0x58, ...u32(enc(text).length), ...enc(text)];
/** A checkpoint whose data.pkl is `PROTO 2` then `ops`. */
function checkpoint(ops: number[], records: Record<string, Uint8Array> = {}): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: Uint8Array.from([0x80, 0x02, ...ops]) },
    ...Object.entries(records).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: 'archive/version', data: enc('3\n') },
  ]);
}
const read = (ops: number[], records?: Record<string, Uint8Array>) => () =>
  readTorchStateDict(checkpoint(ops, records));
const at = (byte: number, reason: string) =>
  `Invalid PyTorch checkpoint: archive/data.pkl, byte ${byte}: ${reason}.`;

const EMPTY_DICT = 0x7d;
const STOP = 0x2e;
const MARK = 0x28;
const GLOBAL = (module: string, name: string) => [0x63, ...enc(`${module}\n${name}\n`)];
/** `{"w": _rebuild_tensor_v2(("storage", FloatStorage, "0", "cpu", numel), 0, shape, stride, False, {})}`. */
function tensorDict(numel: number, shape: number[], stride: number[]): number[] {
  const tuple = (v: number[]) => [MARK, ...v.flatMap((d) => [0x4b, d]), 0x74];
  return [
    EMPTY_DICT,
    ...str('w'),
    ...GLOBAL('torch._utils', '_rebuild_tensor_v2'),
    MARK,
    MARK,
    ...str('storage'),
    ...GLOBAL('torch', 'FloatStorage'),
    ...str('0'),
    ...str('cpu'),
    0x4b,
    numel,
    0x74, // TUPLE
    0x51, // BINPERSID
    0x4b,
    0, // offset
    ...tuple(shape),
    ...tuple(stride),
    0x89, // NEWFALSE
    EMPTY_DICT,
    0x74, // TUPLE
    0x52, // REDUCE
    0x73, // SETITEM
    STOP,
  ];
}
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

describe('the restricted unpickler', () => {
  it('reads a hand-made state dict', () => {
    const { tensors } = readTorchStateDict(checkpoint(tensorDict(2, [2], [1]), { 0: f32(1, -2) }));
    expect(Array.from(new Float32Array(tensors.get('w')!.bytes.slice().buffer))).toEqual([1, -2]);
  });

  it('refuses lengths beyond the data before reading them', () => {
    // BINUNICODE of 4 GiB − 1 bytes.
    expect(read([0x58, 0xff, 0xff, 0xff, 0xff, 0x41])).toThrow(
      at(
        2,
        'BINUNICODE string needs 4294967295 bytes but only 1 remain (the data may be truncated)',
      ),
    );
    // BINUNICODE8 of 2^63 bytes.
    expect(read([0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80])).toThrow(
      at(2, 'BINUNICODE8 length is 9223372036854775808, more than the 11 bytes of the data'),
    );
    // FRAME longer than the rest.
    expect(read([0x95, 12, 0, 0, 0, 0, 0, 0, 0, EMPTY_DICT, STOP])).toThrow(
      at(2, 'a frame of 12 bytes, more than the rest of the data'),
    );
    expect(read([0x8b, ...u32(1 << 30)])).toThrow(
      at(2, 'a LONG4 integer of 1073741824 bytes; at most 64 expected'),
    );
  });

  it('refuses opcodes it does not read, naming them, and bytes that are no opcode', () => {
    expect(read([0x69, ...enc('os\nsystem\n'), STOP])).toThrow(
      at(2, "opcode INST is not read: only the opcodes of a tensor state dict are (torch.save's)"),
    );
    expect(read([0x92])).toThrow('archive/data.pkl, byte 2: opcode NEWOBJ_EX is not read');
    expect(read([0xff])).toThrow(
      at(2, '0xff is not a pickle opcode (the data is not a pickle, or is corrupt)'),
    );
  });

  it('refuses a broken machine state', () => {
    expect(read([0x68, 5])).toThrow(at(2, 'memo entry 5 is read but was never stored'));
    expect(read([STOP])).toThrow(at(2, 'the stack is empty (stack underflow)'));
    // A pop may not cross a MARK.
    expect(read([EMPTY_DICT, MARK, 0x85])).toThrow(at(4, 'the stack is empty (stack underflow)'));
    expect(read([0x74])).toThrow(at(2, 'no MARK to pop to'));
    expect(read([EMPTY_DICT])).toThrow(
      at(3, 'the pickle ends without its STOP opcode (the data may be truncated)'),
    );
    expect(read([0x80, 6])).toThrow(at(2, 'pickle protocol 6; expected 2 to 5'));
    expect(read([0x5d, 0x4e, 0x4e, 0x73])).toThrow(
      at(5, 'SETITEM on a list of 0 items, not a dict'),
    );
  });

  it(`bounds the stack at ${PICKLE_LIMITS.stack} values`, () => {
    const nones = new Array<number>(PICKLE_LIMITS.stack + 1).fill(0x4e);
    expect(read(nones)).toThrow(
      at(2 + PICKLE_LIMITS.stack, `more than ${PICKLE_LIMITS.stack} values on the stack`),
    );
  });

  it('refuses calls of what is not an allowed function', () => {
    // torch.FloatStorage is allowed as a name, not as a call.
    expect(read([...GLOBAL('torch', 'FloatStorage'), 0x29, 0x52, STOP])).toThrow(
      at(23, 'REDUCE calls torch.FloatStorage, not an allowed function'),
    );
    expect(read([...GLOBAL('torch', 'ComplexFloatStorage'), STOP])).toThrow(
      /byte 2: storage type "torch\.ComplexFloatStorage" is not read; supported: FloatStorage \(F32\), HalfStorage \(F16\)/,
    );
    expect(read([0x4e, 0x29, 0x52])).toThrow(at(4, 'REDUCE calls None, not an allowed function'));
  });

  it('checks tensors against their storage', () => {
    // A [2, 2] tensor of a 3-element storage.
    expect(read(tensorDict(3, [2, 2], [2, 1]), { 0: f32(1, 2, 3) })).toThrow(
      'a tensor of shape [2, 2] with strides [2, 1] at offset 0 of storage "0" (3 elements) reaches beyond the end of its storage.',
    );
    // Sizes and strides of different lengths.
    expect(read(tensorDict(3, [3], [1, 1]), { 0: f32(1, 2, 3) })).toThrow(
      'has 1 sizes but 2 strides.',
    );
    // The storage record is missing.
    expect(read(tensorDict(3, [3], [1]))).toThrow(
      'Invalid PyTorch checkpoint: storage "0" has no record "archive/data/0".',
    );
  });

  it('names what it found when there is no state dict', () => {
    const list = [0x5d, STOP];
    expect(read(list)).toThrow(
      'Invalid PyTorch checkpoint: the checkpoint holds a list of 0 items; expected a dict of tensors (a state dict).',
    );
    // {"epoch": 3, "model": {"fc": 1}}
    const dict = [EMPTY_DICT, MARK, ...str('epoch'), 0x4b, 3, ...str('model'), EMPTY_DICT];
    dict.push(...str('fc'), 0x4b, 1, 0x73, 0x75, STOP);
    expect(read(dict)).toThrow(
      'Invalid PyTorch checkpoint: no state dict found: the top-level dict\'s keys are "epoch", "model" ("model" holds a dict whose "fc" is the number 1, not a tensor); expected a dict of tensors, or one under "state_dict", "model_state_dict", "model", "net".',
    );
  });
});

describe('the zip reader', () => {
  it('refuses a zip without data.pkl, naming its entries', () => {
    const zip = writeZip([{ name: 'weights/model.bin', data: f32(1) }]);
    expect(() => readTorchStateDict(zip)).toThrow(
      'Invalid PyTorch checkpoint: the zip archive has 0 <name>/data.pkl records (its entries: "weights/model.bin"); torch.save writes one.',
    );
  });

  it('refuses big-endian data', () => {
    const zip = writeZip([
      { name: 'archive/data.pkl', data: Uint8Array.from([0x80, 2, EMPTY_DICT, STOP]) },
      { name: 'archive/byteorder', data: enc('big') },
    ]);
    expect(() => readTorchStateDict(zip)).toThrow(
      'Invalid PyTorch checkpoint: the byteorder record says "big"; only little-endian data is read.',
    );
  });

  it('aligns each entry to 64 bytes, as PyTorch does', () => {
    const zip = writeZip([
      { name: 'a/data.pkl', data: enc('x') },
      { name: 'a/data/0', data: f32(1, 2, 3) },
    ]);
    const text = Buffer.from(zip);
    for (const name of ['a/data.pkl', 'a/data/0']) {
      const at = text.indexOf(name); // in its local header, after the 30 fixed bytes
      const start = at + name.length + text.readUInt16LE(at - 2);
      expect(start % 64).toBe(0);
    }
  });
});
