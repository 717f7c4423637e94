/**
 * PyTorch checkpoints (`.pth`, `.pt`, `.th`) as `torch.save` writes them,
 * read without running any of their pickles' code: the zip format (PyTorch
 * 1.6 and later) and the legacy one before it. Their state dict comes out in
 * the shape `readSafetensors` gives, so everything downstream is shared.
 *
 * @see [torch/serialization.py](https://github.com/pytorch/pytorch/blob/main/torch/serialization.py)
 */

import { checkOptions, checkPositiveInt, optional, type OptionSpec } from '@convnets/validate';
import { excerpt, quote } from './excerpt';
import { PyDict, PyList, describePickle, unpickle, type PickleValue } from './pickle';
import {
  DTYPE_BYTES,
  readSafetensors,
  type ReadSafetensorsOptions,
  type SafetensorsFile,
  type SafetensorsTensor,
} from './safetensors';
import {
  TorchStorage,
  TorchTensor,
  materialize,
  torchHooks,
  type CopyBudget,
} from './torch-pickle';
import { readZipDirectory, zipEntryData } from './zip';

/** The file formats {@link readStateDict} reads. */
export type StateDictFileFormat = 'safetensors' | 'torch-zip' | 'torch-legacy';

/** What {@link readStateDict} and {@link readTorchStateDict} return: a {@link SafetensorsFile} and its format. */
export interface StateDictFile extends SafetensorsFile {
  /**
   * The file's format: `'safetensors'`, `'torch-zip'` (`torch.save` since
   * PyTorch 1.6) or `'torch-legacy'` (before, or `_use_new_zipfile_serialization=False`).
   */
  format: StateDictFileFormat;
}

/** Options of {@link readStateDict}: those of `readSafetensors`, for safetensors data. */
export type ReadStateDictOptions = ReadSafetensorsOptions;

const READ_SPEC = {
  maxHeaderBytes: optional(checkPositiveInt),
} satisfies OptionSpec<ReadStateDictOptions>;

/** A checkpoint's pickled object and where its storages' bytes are. */
interface Checkpoint {
  value: PickleValue;
  storageBytes(storage: TorchStorage): Uint8Array;
}

/** The legacy format's magic number, the first pickle of such a file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The pickle of {@link LEGACY_MAGIC}: LONG1, 10 bytes, little-endian. */
const LEGACY_MAGIC_PICKLE = [
  0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

/** Keys under which checkpoints commonly keep their state dict, in the order tried. */
const CONTAINER_KEYS = ['state_dict', 'model_state_dict', 'model', 'net'];

function bad(reason: string): never {
  throw new Error(`Invalid PyTorch checkpoint: ${reason}.`);
}

const toBytes = (data: Uint8Array | ArrayBuffer) =>
  data instanceof Uint8Array ? data : new Uint8Array(data);

const storageLength = (s: TorchStorage) => s.numel * DTYPE_BYTES[s.dtype];

/**
 * The format of weights data from its first bytes (32 suffice), or
 * `undefined` when it is none of {@link StateDictFileFormat}'s.
 *
 * @internal
 */
export function detectWeightsFormat(first: Uint8Array): StateDictFileFormat | undefined {
  // "PK\x03\x04" (or "PK\x05\x06", an empty archive); a safetensors header
  // length could start so, but its byte 8 is then "{", never a zip's.
  const zip =
    first[0] === 0x50 && first[1] === 0x4b && [0x0403, 0x0605].includes(first[2] | (first[3] << 8));
  if (zip && first[8] !== 0x7b) return 'torch-zip';
  if (first[0] === 0x80 && first[1] >= 2 && first[1] <= 5) {
    const at = first[2] === 0x95 ? 11 : 2; // protocol 4 and 5 open a FRAME first
    if (LEGACY_MAGIC_PICKLE.every((b, i) => first[at + i] === b)) return 'torch-legacy';
  }
  // safetensors: 8 bytes of header length, then the JSON header's "{".
  if (first.byteLength >= 9 && [0x7b, 0x20, 0x09, 0x0a, 0x0d].includes(first[8]))
    return 'safetensors';
  return undefined;
}

const ACCEPTED = {
  safetensors: 'safetensors (an 8-byte header length, then a JSON header starting "{")',
  zip: 'a PyTorch checkpoint of torch.save (a zip archive, starting "PK")',
  legacy: `a legacy PyTorch checkpoint (torch.save with _use_new_zipfile_serialization=False, a pickle starting 80 02 ${LEGACY_MAGIC_PICKLE.map((b) => b.toString(16).padStart(2, '0')).join(' ')})`,
};

/**
 * The error for data in no format read, naming the accepted ones and the data's first bytes.
 *
 * @internal
 */
export function unrecognisedWeights(first: Uint8Array, length: number, torchOnly = false): Error {
  const start = [...first.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const accepted = torchOnly
    ? `${ACCEPTED.zip} or ${ACCEPTED.legacy}`
    : `${ACCEPTED.safetensors}, ${ACCEPTED.zip} or ${ACCEPTED.legacy}`;
  return new Error(
    `Unrecognised weights data (${length} bytes${length > 0 ? `, starting ${start}` : ''}): expected ${accepted}.`,
  );
}

/** The checkpoint of `torch.save`'s zip format: `<name>/data.pkl`, `<name>/data/<key>`, `<name>/version`. */
function readZipCheckpoint(data: Uint8Array): Checkpoint {
  const entries = readZipDirectory(data);
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    const names = excerpt([...entries.keys()].slice(0, 20).map(quote).join(', '));
    bad(
      `the zip archive has ${pickles.length} <name>/data.pkl records (its entries: ${names || 'none'}); torch.save writes one`,
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order !== undefined) {
    const text = new TextDecoder().decode(zipEntryData(data, order));
    if (text !== 'little')
      bad(`the byteorder record says ${quote(text)}; only little-endian data is read`);
  }
  const storages = new Map<string, TorchStorage>();
  const pickle = zipEntryData(data, entries.get(pickles[0])!);
  const { value } = unpickle(pickle, 0, torchHooks(false, storages), pickles[0]);
  return {
    value,
    storageBytes(storage) {
      const name = `${prefix}data/${storage.key}`;
      const entry = entries.get(name);
      if (entry === undefined) bad(`storage ${quote(storage.key)} has no record ${quote(name)}`);
      const bytes = zipEntryData(data, entry);
      if (bytes.byteLength !== storageLength(storage)) {
        bad(
          `storage ${quote(storage.key)} declares ${storage.numel} ${storage.dtype} elements (${storageLength(storage)} bytes) but its record holds ${bytes.byteLength} bytes`,
        );
      }
      return bytes;
    },
  };
}

/** Checks the legacy format's sys_info pickle: little-endian data. */
function checkSysInfo(info: PickleValue): void {
  const littleEndian = info instanceof PyDict ? info.entries.get('little_endian') : undefined;
  if (littleEndian === false) {
    bad(
      'the file was written on a big-endian machine (sys_info little_endian False); only little-endian data is read',
    );
  }
  if (littleEndian !== true)
    bad(
      `the sys_info pickle holds ${describePickle(info)}; expected a dict with little_endian True`,
    );
}

/** Where each storage's bytes start in a legacy file, after its 8-byte element count. */
function legacyStorageOffsets(
  data: Uint8Array,
  start: number,
  keys: PickleValue,
  storages: Map<string, TorchStorage>,
): Map<string, number> {
  if (!(keys instanceof PyList) || !keys.items.every((k) => typeof k === 'string')) {
    bad(`the storage-keys pickle holds ${describePickle(keys)}; expected a list of strings`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const offsets = new Map<string, number>();
  let at = start;
  for (const key of keys.items as string[]) {
    const storage = storages.get(key);
    if (storage === undefined)
      bad(`the list of storages names ${quote(key)}, which no tensor uses`);
    if (offsets.has(key)) bad(`the list of storages names ${quote(key)} twice`);
    if (at + 8 > data.byteLength) {
      bad(
        `storage ${quote(key)} would start at byte ${at}, past the end of the file (the file may be truncated)`,
      );
    }
    const count = view.getBigInt64(at, true);
    if (count !== BigInt(storage.numel)) {
      bad(
        `storage ${quote(key)} at byte ${at} holds ${count} elements but the pickle declares ${storage.numel}`,
      );
    }
    const length = storageLength(storage);
    if (length > data.byteLength - at - 8) {
      bad(
        `storage ${quote(key)} declares ${storage.numel} ${storage.dtype} elements (${length} bytes) at byte ${at + 8}, but only ${data.byteLength - at - 8} bytes remain (the file may be truncated)`,
      );
    }
    offsets.set(key, at + 8);
    at += 8 + length;
  }
  return offsets;
}

/** The legacy checkpoint: magic, protocol, sys_info and object pickles, the storage keys, then each storage. */
function readLegacyCheckpoint(data: Uint8Array): Checkpoint {
  let at = 0;
  const next = (what: string, storages = new Map<string, TorchStorage>()) => {
    const pickled = unpickle(data, at, torchHooks(true, storages), what);
    at = pickled.end;
    return pickled.value;
  };
  const magic = next('the magic-number pickle');
  if (magic !== LEGACY_MAGIC)
    bad(`the first pickle holds ${describePickle(magic)}, not PyTorch's magic number`);
  const protocol = next('the protocol-version pickle');
  if (protocol !== 1001)
    bad(`the legacy protocol version is ${describePickle(protocol)}; expected 1001`);
  checkSysInfo(next('the sys_info pickle'));
  const storages = new Map<string, TorchStorage>();
  const value = next('the checkpoint pickle', storages);
  const keys = next('the storage-keys pickle');
  const offsets = legacyStorageOffsets(data, at, keys, storages);
  return {
    value,
    storageBytes(storage) {
      const start = offsets.get(storage.key);
      if (start === undefined)
        bad(`storage ${quote(storage.key)} is not in the file's list of storages`);
      return data.subarray(start, start + storageLength(storage));
    },
  };
}

/** Why a value is not a state dict (a non-empty dict of string → tensor), or null if it is one. */
function notStateDict(value: PickleValue): string | null {
  if (!(value instanceof PyDict)) return describePickle(value);
  if (value.entries.size === 0) return 'an empty dict';
  for (const [key, entry] of value.entries) {
    if (typeof key !== 'string') return `a dict with the key ${describePickle(key)}`;
    if (!(entry instanceof TorchTensor))
      return `a dict whose ${quote(key)} is ${describePickle(entry)}, not a tensor`;
  }
  return null;
}

/** The state dict in a checkpoint: the object itself, or one under {@link CONTAINER_KEYS}. */
function findStateDict(top: PickleValue): { dict: PyDict; container?: string } {
  const problem = notStateDict(top);
  if (problem === null) return { dict: top as PyDict };
  if (!(top instanceof PyDict))
    bad(`the checkpoint holds ${problem}; expected a dict of tensors (a state dict)`);
  const reasons: string[] = [];
  for (const key of CONTAINER_KEYS) {
    if (!top.entries.has(key)) continue;
    const inner = top.entries.get(key)!;
    const why = notStateDict(inner);
    if (why === null) return { dict: inner as PyDict, container: key };
    reasons.push(`${quote(key)} holds ${why}`);
  }
  const keys = [...top.entries.keys()]
    .slice(0, 20)
    .map((k) => (typeof k === 'string' ? quote(k) : describePickle(k)));
  const more = top.entries.size > 20 ? `, … (${top.entries.size} keys)` : '';
  bad(
    `no state dict found: the top-level dict's keys are ${excerpt(keys.join(', '))}${more}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}; expected a dict of tensors, or one under ${CONTAINER_KEYS.map(quote).join(', ')}`,
  );
}

/** A checkpoint's top-level numbers, strings and booleans (epoch, best accuracy…), as strings. */
function scalarFields(top: PickleValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(top instanceof PyDict)) return out;
  for (const [key, value] of top.entries) {
    const scalar = ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
    if (typeof key === 'string' && scalar) out[key] = String(value);
  }
  return out;
}

/** The state dict's tensors, `module.` (DataParallel's prefix) dropped when every key has it. */
function stateDictTensors(
  checkpoint: Checkpoint,
  dict: PyDict,
  budget: CopyBudget,
): Map<string, SafetensorsTensor> {
  const keys = [...dict.entries.keys()] as string[];
  const strip = keys.every((k) => k.startsWith('module.')) ? 'module.'.length : 0;
  const storages = new Map<TorchStorage, Uint8Array>();
  const done = new Map<TorchTensor, SafetensorsTensor>();
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [key, value] of dict.entries) {
    const tensor = value as TorchTensor;
    let bytes = storages.get(tensor.storage);
    if (bytes === undefined) {
      bytes = checkpoint.storageBytes(tensor.storage);
      storages.set(tensor.storage, bytes);
    }
    const read = done.get(tensor) ?? materialize(tensor, bytes, budget);
    done.set(tensor, read);
    tensors.set((key as string).slice(strip), read);
  }
  return tensors;
}

/**
 * Reads the state dict of a PyTorch checkpoint, as `torch.save` writes it
 * (`.pth`, `.pt`, `.th`): the zip format of PyTorch 1.6 and later, or the
 * legacy format before it, told apart by content. Its pickles are read by a
 * restricted reader that runs no code: only the globals of a tensor state
 * dict are accepted (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
 * `_rebuild_parameter`, the `torch.<X>Storage` types; numpy scalars,
 * `_codecs.encode` and `argparse.Namespace` in a checkpoint's other entries),
 * any other is refused by name.
 *
 * The state dict is the top-level dict of tensors, or the one under
 * `state_dict`, `model_state_dict`, `model` or `net` (tried in that order);
 * DataParallel's `module.` prefix is dropped when every key has it. Other
 * entries (epoch, optimizer state…) are not decoded into tensors; the
 * top-level numbers, strings and booleans become `metadata`. Tensors are
 * row-major: a contiguous one is a view of the input, a strided one
 * (transposed, or a view of a shared storage) a copy.
 *
 * @param data - The whole file's bytes.
 * @returns The tensors by name, in the state dict's order, `metadata` (e.g. `{ epoch: '3' }`) and the format.
 * @throws Error ("Invalid PyTorch checkpoint: …", naming what is wrong and
 *   where) for a global not allowed, an opcode not read, a truncated file, a
 *   storage whose record or section holds fewer or more bytes than declared,
 *   a tensor reaching beyond its storage, copies of strided tensors larger
 *   than the file, a compressed or corrupt (CRC-32) zip entry, big-endian
 *   data, or no state dict (naming the top-level keys found). Error
 *   ("Unrecognised weights data …") for data in neither format.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * const { tensors, metadata } = readTorchStateDict(await readFile('checkpoint.pth'));
 * const conv1 = tensors.get('conv1.weight')!; // { dtype: 'F32', shape: [64, 3, 7, 7], bytes }
 * const values = toFloat32(conv1);
 * ```
 * @see [Saving and loading models (PyTorch)](https://pytorch.org/tutorials/beginner/saving_loading_models.html)
 */
export function readTorchStateDict(data: Uint8Array | ArrayBuffer): StateDictFile {
  const bytes = toBytes(data);
  const format = detectWeightsFormat(bytes.subarray(0, 32));
  if (format !== 'torch-zip' && format !== 'torch-legacy') {
    throw unrecognisedWeights(bytes, bytes.byteLength, true);
  }
  const checkpoint =
    format === 'torch-zip' ? readZipCheckpoint(bytes) : readLegacyCheckpoint(bytes);
  const { dict, container } = findStateDict(checkpoint.value);
  const tensors = stateDictTensors(checkpoint, dict, { left: bytes.byteLength });
  return {
    tensors,
    metadata: container === undefined ? {} : scalarFields(checkpoint.value),
    format,
  };
}

/**
 * Reads a state dict from safetensors data or a PyTorch checkpoint, the
 * format told by content (not by file name): safetensors with
 * `readSafetensors`, `torch.save`'s formats with {@link readTorchStateDict}.
 *
 * @param data - The whole file's bytes.
 * @param opts - `maxHeaderBytes` for safetensors data; see `ReadSafetensorsOptions`.
 * @returns The tensors by name, the metadata and the format; see {@link StateDictFile}.
 * @throws Error ("Unrecognised weights data …", naming the formats read and
 *   the data's first bytes) for data in none of them; otherwise the errors of
 *   `readSafetensors` or {@link readTorchStateDict}; an unknown option or a
 *   `maxHeaderBytes` that is not a positive integer.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * const { tensors, format } = readStateDict(await readFile('resnet18-f37072fd.pth'));
 * format; // 'torch-zip'
 * ```
 */
export function readStateDict(
  data: Uint8Array | ArrayBuffer,
  opts: ReadStateDictOptions = {},
): StateDictFile {
  const { maxHeaderBytes } = checkOptions('readStateDict', opts, READ_SPEC);
  const bytes = toBytes(data);
  const format = detectWeightsFormat(bytes.subarray(0, 32));
  if (format === undefined) throw unrecognisedWeights(bytes, bytes.byteLength);
  if (format !== 'safetensors') return readTorchStateDict(bytes);
  return {
    ...readSafetensors(bytes, maxHeaderBytes === undefined ? {} : { maxHeaderBytes }),
    format,
  };
}
