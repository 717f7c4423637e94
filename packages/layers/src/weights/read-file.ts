import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import {
  checkSafetensorsHeader,
  safetensorsPrefixLength,
  type ReadSafetensorsOptions,
} from './safetensors';
import { detectWeightsFormat, unrecognisedWeights } from './torch-checkpoint';
import { ZIP_TAIL_BYTES, findZipEnd } from './zip';

/** What a path names, when it is not a regular file. */
function kind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}

/** Refuses anything but a regular file of at most `maxFileBytes`. */
function checkFile(info: Stats, maxFileBytes: number): void {
  if (!info.isFile()) {
    throw new Error(
      `not a regular file (${kind(info)}); expected a weights file (safetensors or a PyTorch checkpoint).`,
    );
  }
  if (info.size > maxFileBytes) {
    throw new Error(
      `the file is ${info.size} bytes, more than the limit of ${maxFileBytes} (option "maxFileBytes").`,
    );
  }
}

/** Fills `buffer` from byte `from` of a file of `size` bytes. */
async function readInto(
  handle: FileHandle,
  buffer: Uint8Array,
  size: number,
  from = 0,
): Promise<void> {
  let at = 0;
  while (at < buffer.byteLength) {
    const length = Math.min(buffer.byteLength - at, 1 << 30);
    const { bytesRead } = await handle.read(buffer, at, length, from + at);
    if (bytesRead === 0) {
      throw new Error(
        `the file ended at byte ${from + at} but was ${size} bytes: it changed while being read.`,
      );
    }
    at += bytesRead;
  }
}

/**
 * Reads a weights file whole (Node only), refusing anything but a regular
 * file of at most `maxFileBytes` (checked before it is opened, and again
 * once open), then telling its format from its first bytes: data in no
 * format read, a safetensors file whose header does not fit its size, or a
 * zip without its end record (a truncated `.pth`), fails without being read
 * whole. Errors do not name the path: the caller
 * adds it.
 *
 * @param path - The file.
 * @param maxFileBytes - Largest accepted size.
 * @param opts - Header size limit, as for `readSafetensors`.
 * @returns The file's bytes.
 * @throws Error for a path that is not a regular file, a file larger than
 *   `maxFileBytes`, data in none of the formats read, an invalid safetensors
 *   header, a zip without its end record, a file that changes size while being read, or any error of the
 *   file system.
 * @internal
 */
export async function readWeightsFile(
  path: string,
  maxFileBytes: number,
  opts: ReadSafetensorsOptions = {},
): Promise<Uint8Array> {
  const { open, stat } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  // stat first, so that opening never blocks on a FIFO or touches a device;
  // then the opened file is checked again (it may have been replaced meanwhile),
  // opened non-blocking where the platform has the flag.
  checkFile(await stat(path), maxFileBytes);
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const info = await handle.stat();
    checkFile(info, maxFileBytes);
    const size = info.size;
    const first = new Uint8Array(Math.min(32, size));
    await readInto(handle, first, size);
    const format = detectWeightsFormat(first);
    if (format === undefined) throw unrecognisedWeights(first, size);
    if (format === 'safetensors') {
      const prefix = new Uint8Array(safetensorsPrefixLength(first, size, opts.maxHeaderBytes));
      await readInto(handle, prefix, size);
      checkSafetensorsHeader(prefix, size, opts);
    } else if (format === 'torch-zip') {
      // A zip's directory is at its end: a truncated download fails here.
      const tail = new Uint8Array(Math.min(size, ZIP_TAIL_BYTES));
      await readInto(handle, tail, size, size - tail.byteLength);
      findZipEnd(tail);
    }
    const bytes = new Uint8Array(size);
    await readInto(handle, bytes, size);
    return bytes;
  } finally {
    await handle.close();
  }
}
