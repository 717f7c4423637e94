import { createReadStream } from 'node:fs';
import { Parser, type ReadEntry } from 'tar';

/** Options of {@link readTarMembers}. */
export interface TarMemberOptions {
  /**
   * The largest size, in bytes, of a member to keep (by its path in the
   * archive, without a leading `./`), or `undefined` to skip it. A larger
   * member is refused before anything is allocated.
   */
  limit: (name: string) => number | undefined;
}

/** The path of an entry without a leading `./`. */
function memberName(entry: ReadEntry): string {
  return entry.path.replace(/^(\.\/)+/, '');
}

/** Collects a kept entry's body into one buffer of the size its header declares. */
function collect(
  entry: ReadEntry,
  name: string,
  archive: string,
  maxBytes: number,
  done: (name: string, body: Buffer) => void,
  fail: (error: Error) => void,
): void {
  const size = entry.size;
  if (size > maxBytes) {
    fail(
      new Error(
        `${archive}: member ${name} declares ${size} bytes, more than the ${maxBytes} allowed for it.`,
      ),
    );
    return;
  }
  const body = Buffer.allocUnsafe(size);
  let filled = 0;
  entry.on('data', (chunk: Buffer) => {
    if (filled + chunk.length > size) return; // node-tar never sends more than the header's size
    chunk.copy(body, filled);
    filled += chunk.length;
  });
  entry.on('end', () => {
    if (filled === size) done(name, body);
    else fail(new Error(`${archive}: member ${name} ends after ${filled} of its ${size} bytes.`));
  });
}

/**
 * Reads the regular-file members of a tar archive (gzip'd or not) that
 * `options.limit` selects, in one streaming pass: other members are skipped
 * without being held, and a kept member larger than its limit is refused
 * before its body is read.
 *
 * @param archive - Path of the `.tar` or `.tar.gz` file.
 * @param options - Which members to keep, and the largest size of each.
 * @returns The kept members' bodies by name, and the name of every member seen.
 * @throws Error naming the archive for a file that cannot be read, is not a
 *   tar archive, is truncated or damaged (gzip or tar), or holds an oversized member.
 */
export function readTarMembers(
  archive: string,
  options: TarMemberOptions,
): Promise<{ members: Map<string, Buffer>; names: string[] }> {
  const members = new Map<string, Buffer>();
  const names: string[] = [];
  return new Promise((resolve, reject) => {
    let failed = false;
    const input = createReadStream(archive);
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      input.destroy();
      parser.abort(error);
      reject(error);
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        const name = memberName(entry);
        names.push(name);
        const limit = entry.type === 'File' ? options.limit(name) : undefined;
        if (limit !== undefined)
          collect(entry, name, archive, limit, (n, b) => members.set(n, b), fail);
        else entry.resume();
      },
    });
    const damaged = (error: Error) =>
      fail(
        new Error(
          `${archive}: not a readable tar archive (truncated or damaged?): ${error.message}`,
          { cause: error },
        ),
      );
    parser.on('error', damaged);
    parser.on('close', () => {
      if (!failed) resolve({ members, names });
    });
    input.on('error', (error) =>
      fail(new Error(`cannot read ${archive}: ${error.message}`, { cause: error })),
    );
    input.pipe(parser as unknown as NodeJS.WritableStream);
  });
}
