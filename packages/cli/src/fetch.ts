// The one place the CLI downloads a file. The project's download
// implementation (cache, resume, temp file + rename, hash check, mirrors) is
// @convnets/hub's; this module is the interface the CLI is written against.
//
// TODO(#16): call @convnets/hub's downloader here once it is in main (branch
// h15-hub), with an `md5` option beside its `sha256` prefix, and test
// `convnets data cifar10 DIR` against a loopback server (an MD5 mismatch
// refused, nothing kept under the final name).

/** Options of {@link fetchToFile}. */
export interface FetchOptions {
  /** The file's published MD5 (32 hex digits): a download that does not match is refused and deleted. */
  md5: string;
  /** Told the bytes received so far and the file's size when the server says it. */
  onProgress?: (done: number, total: number | undefined) => void;
}

/**
 * Downloads `url` to `dest`, atomically (a partial file never has the final
 * name) and checked against `options.md5`.
 *
 * @param url - An http(s) URL.
 * @param dest - Where the file goes.
 * @param options - The published MD5 and a progress callback.
 * @returns When `dest` holds the checked file.
 * @throws Error, for now always: this build has no downloader yet (see the TODO above).
 */
export async function fetchToFile(url: string, dest: string, options: FetchOptions): Promise<void> {
  throw new Error(
    `cannot download ${url} to ${dest}: this build of convnets has no downloader yet; download it yourself (its MD5 is ${options.md5}) and pass --archive <file>`,
  );
}
