import type { Stats } from 'node:fs';
import {
  checkSafetensorsHeader,
  safetensorsPrefixLength,
  type ReadSafetensorsOptions,
} from './safetensors';

/** What a path names, when it is not a regular file. */
function kind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * Reads a safetensors file whole (Node only), refusing anything but a regular
 * file of at most `maxFileBytes`, and checking its header against its size
 * before the data is read (an invalid file fails without being read whole).
 * Errors do not name the path: the caller adds it.
 *
 * @param path - The file.
 * @param maxFileBytes - Largest accepted size.
 * @param opts - Header size limit, as for `readSafetensors`.
 * @returns The file's bytes.
 * @throws Error for a path that is not a regular file, a file larger than
 *   `maxFileBytes`, an invalid header, a file that changes size while being
 *   read, or any error of the file system.
 * @internal
 */
export async function readSafetensorsFile(
  path: string,
  maxFileBytes: number,
  opts: ReadSafetensorsOptions = {},
): Promise<Uint8Array> {
  const { open, stat } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const check = (info: Stats) => {
    if (!info.isFile())
      throw new Error(`not a regular file (${kind(info)}); expected a .safetensors file.`);
    if (info.size > maxFileBytes) {
      throw new Error(
        `the file is ${info.size} bytes, more than the limit of ${maxFileBytes} (option "maxFileBytes").`,
      );
    }
  };
  // stat first, so that opening never blocks on a FIFO or touches a device;
  // then the opened file is checked again (it may have been replaced meanwhile),
  // opened non-blocking where the platform has the flag.
  check(await stat(path));
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const info = await handle.stat();
    check(info);
    const size = info.size;
    const readInto = async (buffer: Uint8Array) => {
      let at = 0;
      while (at < buffer.byteLength) {
        const length = Math.min(buffer.byteLength - at, 1 << 30);
        const { bytesRead } = await handle.read(buffer, at, length, at);
        if (bytesRead === 0) {
          throw new Error(
            `the file ended at byte ${at} but was ${size} bytes: it changed while being read.`,
          );
        }
        at += bytesRead;
      }
    };
    const first = new Uint8Array(Math.min(8, size));
    await readInto(first);
    const prefix = new Uint8Array(safetensorsPrefixLength(first, size, opts.maxHeaderBytes));
    await readInto(prefix);
    checkSafetensorsHeader(prefix, size, opts);
    const bytes = new Uint8Array(size);
    await readInto(bytes);
    return bytes;
  } finally {
    await handle.close();
  }
}
