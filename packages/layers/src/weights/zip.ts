/**
 * The little of the zip format that `torch.save` uses: a reader of an
 * archive's central directory (zip64 included) and of its stored
 * (uncompressed) entries, with their CRC-32 checked, and a writer of stored
 * entries aligned as PyTorch aligns them.
 *
 * @see [APPNOTE.TXT, the .ZIP file format specification](https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT)
 */

import { quote } from './excerpt';

/** One entry of an archive's central directory. */
export interface ZipEntry {
  /** Its name, e.g. `archive/data/0`. */
  name: string;
  /** 0 stored, 8 deflate, … */
  method: number;
  /** The general-purpose flags. */
  flags: number;
  /** CRC-32 of the uncompressed data. */
  crc: number;
  /** Bytes in the archive. */
  compressedSize: number;
  /** Bytes once extracted. */
  size: number;
  /** Where its local header starts. */
  localHeader: number;
}

const SIGNATURE = {
  local: 0x04034b50,
  central: 0x02014b50,
  end: 0x06054b50,
  end64: 0x06064b50,
  locator64: 0x07064b50,
} as const;

function bad(reason: string): never {
  throw new Error(`Invalid PyTorch checkpoint: ${reason}.`);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, the zip one) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A little-endian uint64 that must be a safe integer within `limit`. */
function u64(view: DataView, at: number, limit: number, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(limit))
    bad(`the zip's ${what} is ${value}, beyond the ${limit} bytes of the file`);
  return Number(value);
}

/** How many bytes at the end of a zip hold its end-of-central-directory record: 22, and a comment of up to 65535. */
export const ZIP_TAIL_BYTES = 22 + 0xffff;

/**
 * Where the end-of-central-directory record starts in `tail`, the last bytes
 * (up to {@link ZIP_TAIL_BYTES}) of an archive.
 *
 * @param tail - The archive, or its last bytes.
 * @returns The record's offset in `tail`.
 * @throws Error ("Invalid PyTorch checkpoint: …") when there is none.
 */
export function findZipEnd(tail: Uint8Array): number {
  return findEnd(new DataView(tail.buffer, tail.byteOffset, tail.byteLength));
}

/** Where the end-of-central-directory record starts. */
function findEnd(view: DataView): number {
  const length = view.byteLength;
  for (let at = length - 22; at >= Math.max(0, length - ZIP_TAIL_BYTES); at--) {
    if (
      view.getUint32(at, true) === SIGNATURE.end &&
      at + 22 + view.getUint16(at + 20, true) === length
    ) {
      return at;
    }
  }
  return bad(
    `no zip end-of-central-directory record in the last ${Math.min(length, ZIP_TAIL_BYTES)} bytes (the file may be truncated)`,
  );
}

/** The central directory's offset, size and entry count, zip64 records included. */
function centralDirectory(view: DataView): { offset: number; size: number; count: number } {
  const end = findEnd(view);
  if (view.getUint16(end + 4, true) !== 0 || view.getUint16(end + 6, true) !== 0) {
    bad('the zip spans several disks; expected one file');
  }
  let count = view.getUint16(end + 10, true);
  let size = view.getUint32(end + 12, true);
  let offset = view.getUint32(end + 16, true);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || view.getUint32(locator, true) !== SIGNATURE.locator64) {
      bad('the zip declares zip64 sizes but has no zip64 end-of-central-directory locator');
    }
    const at = u64(view, locator + 8, view.byteLength - 56, 'zip64 end record offset');
    if (view.getUint32(at, true) !== SIGNATURE.end64)
      bad(`no zip64 end-of-central-directory record at byte ${at}`);
    count = u64(view, at + 32, view.byteLength, 'entry count');
    size = u64(view, at + 40, view.byteLength, 'central directory size');
    offset = u64(view, at + 48, view.byteLength, 'central directory offset');
  }
  if (offset + size > view.byteLength) {
    bad(
      `the zip's central directory (bytes ${offset}–${offset + size}) lies beyond the ${view.byteLength} bytes of the file`,
    );
  }
  if (count * 46 > size)
    bad(`the zip declares ${count} entries, more than its ${size}-byte central directory holds`);
  return { offset, size, count };
}

/** Sizes and offset from an entry's zip64 extra field, for those its header marks 0xffffffff. */
function zip64Extra(view: DataView, extraStart: number, extraEnd: number, entry: ZipEntry): void {
  for (let at = extraStart; at + 4 <= extraEnd;) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (id === 0x0001) {
      let field = at + 4;
      const next = (what: string) => {
        if (field + 8 > at + 4 + length)
          bad(`the zip64 extra field of ${quote(entry.name)} lacks its ${what}`);
        field += 8;
        return u64(view, field - 8, view.byteLength, `${what} of ${quote(entry.name)}`);
      };
      if (entry.size === 0xffffffff) entry.size = next('size');
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next('compressed size');
      if (entry.localHeader === 0xffffffff) entry.localHeader = next('local header offset');
      return;
    }
    at += 4 + length;
  }
}

/** One central-directory entry at `at`, and where the next starts. */
function centralEntry(
  data: Uint8Array,
  view: DataView,
  at: number,
  end: number,
): { entry: ZipEntry; next: number } {
  if (at + 46 > end || view.getUint32(at, true) !== SIGNATURE.central) {
    bad(`no zip central-directory entry at byte ${at}`);
  }
  const nameLength = view.getUint16(at + 28, true);
  const extraLength = view.getUint16(at + 30, true);
  const next = at + 46 + nameLength + extraLength + view.getUint16(at + 32, true);
  if (next > end) bad(`the zip central-directory entry at byte ${at} runs past the directory`);
  const entry: ZipEntry = {
    name: new TextDecoder().decode(data.subarray(at + 46, at + 46 + nameLength)),
    flags: view.getUint16(at + 8, true),
    method: view.getUint16(at + 10, true),
    crc: view.getUint32(at + 16, true),
    compressedSize: view.getUint32(at + 20, true),
    size: view.getUint32(at + 24, true),
    localHeader: view.getUint32(at + 42, true),
  };
  zip64Extra(view, at + 46 + nameLength, at + 46 + nameLength + extraLength, entry);
  return { entry, next };
}

/**
 * The entries of a zip archive, by name, from its central directory.
 *
 * @param data - The whole archive.
 * @returns Entry name → entry.
 * @throws Error ("Invalid PyTorch checkpoint: …") for a missing or
 *   inconsistent end record or central directory, offsets beyond the file, or
 *   a name listed twice.
 */
export function readZipDirectory(data: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 22) bad(`${data.byteLength} bytes is too short for a zip archive`);
  const { offset, size, count } = centralDirectory(view);
  const entries = new Map<string, ZipEntry>();
  let at = offset;
  for (let i = 0; i < count; i++) {
    const { entry, next } = centralEntry(data, view, at, offset + size);
    if (entries.has(entry.name)) bad(`the zip lists ${quote(entry.name)} twice`);
    entries.set(entry.name, entry);
    at = next;
  }
  return entries;
}

/**
 * An entry's data, checked: stored (not compressed), not encrypted, within
 * the file, and matching its CRC-32.
 *
 * @param data - The whole archive.
 * @param entry - One of {@link readZipDirectory}'s entries.
 * @returns A view of its bytes in `data`.
 * @throws Error ("Invalid PyTorch checkpoint: …") naming the entry otherwise.
 */
export function zipEntryData(data: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const name = quote(entry.name);
  if (entry.flags & 1) bad(`the zip entry ${name} is encrypted`);
  if (entry.method !== 0) {
    bad(
      `the zip entry ${name} is compressed (method ${entry.method}${entry.method === 8 ? ', deflate' : ''}); torch.save stores entries uncompressed (method 0), and only those are read: re-save the file with torch.save`,
    );
  }
  if (entry.compressedSize !== entry.size) {
    bad(
      `the stored zip entry ${name} has ${entry.compressedSize} bytes in the archive but ${entry.size} extracted`,
    );
  }
  const at = entry.localHeader;
  if (at + 30 > data.byteLength || view.getUint32(at, true) !== SIGNATURE.local) {
    bad(`no local header of the zip entry ${name} at byte ${at}`);
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + entry.size > data.byteLength) {
    bad(
      `the zip entry ${name} (${entry.size} bytes from byte ${start}) runs past the ${data.byteLength} bytes of the file (the file may be truncated)`,
    );
  }
  const bytes = data.subarray(start, start + entry.size);
  const crc = crc32(bytes);
  if (crc !== entry.crc) {
    bad(
      `the zip entry ${name} has CRC-32 ${hex(crc)} but the directory says ${hex(entry.crc)} (the file is corrupt)`,
    );
  }
  return bytes;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** A file to put in an archive. */
export interface ZipFile {
  /** Its name, e.g. `archive/data.pkl`. */
  name: string;
  /** Its bytes. */
  data: Uint8Array;
}

/** Where each file's data starts in the archive, padded for alignment. */
function layout(files: readonly ZipFile[], align: number) {
  const names = files.map((f) => new TextEncoder().encode(f.name));
  let at = 0;
  const placed = files.map((file, i) => {
    const header = at;
    const fixed = at + 30 + names[i].byteLength + 4; // the padding extra field's own 4 bytes
    const padding = (align - (fixed % align)) % align;
    const start = fixed + padding;
    at = start + file.data.byteLength;
    return { file, name: names[i], header, padding, start, crc: crc32(file.data) };
  });
  const central = at;
  const centralSize = names.reduce((n, name) => n + 46 + name.byteLength, 0);
  return { placed, central, centralSize, total: central + centralSize + 22 };
}

/**
 * A zip archive of `files`, stored (uncompressed), each file's data starting
 * at a multiple of `align` bytes (padded with an extra field, as PyTorch's
 * writer does). Times are zero, so the output depends only on the input.
 *
 * @param files - The files, in order.
 * @param align - Alignment of each file's data, in bytes.
 * @returns The archive's bytes.
 * @throws Error when the archive would exceed the 4 GiB of a zip without zip64.
 */
export function writeZip(files: readonly ZipFile[], align = 64): Uint8Array {
  const { placed, central, centralSize, total } = layout(files, align);
  if (total > 0xffffffff || files.length > 0xffff) {
    throw new Error(
      `writeZip: the archive would be ${total} bytes in ${files.length} files; at most 4 GiB and 65535 files are written (no zip64).`,
    );
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let c = central;
  for (const { file, name, header, padding, start, crc } of placed) {
    const size = file.data.byteLength;
    const common = (at: number) => {
      view.setUint16(at, 20, true); // version needed: 2.0
      view.setUint16(at + 4, 0, true); // method: stored
      view.setUint32(at + 10, crc, true);
      view.setUint32(at + 14, size, true);
      view.setUint32(at + 18, size, true);
      view.setUint16(at + 22, name.byteLength, true);
    };
    view.setUint32(header, SIGNATURE.local, true);
    common(header + 4);
    view.setUint16(header + 28, 4 + padding, true);
    out.set(name, header + 30);
    view.setUint16(header + 30 + name.byteLength, 0x4246, true); // "FB", PyTorch's padding field
    view.setUint16(header + 32 + name.byteLength, padding, true);
    out.fill(0x5a, header + 34 + name.byteLength, start); // "Z"s, as PyTorch pads
    out.set(file.data, start);
    view.setUint32(c, SIGNATURE.central, true);
    view.setUint16(c + 4, 20, true); // version made by
    common(c + 6);
    view.setUint32(c + 42, header, true);
    out.set(name, c + 46);
    c += 46 + name.byteLength;
  }
  view.setUint32(c, SIGNATURE.end, true);
  view.setUint16(c + 8, files.length, true);
  view.setUint16(c + 10, files.length, true);
  view.setUint32(c + 12, centralSize, true);
  view.setUint32(c + 16, central, true);
  return out;
}
