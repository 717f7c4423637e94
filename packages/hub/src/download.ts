import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  checkNonNegativeInt,
  checkPositiveInt,
  checkOptions,
  fail,
  optional,
  unchecked,
  withDefault,
  type Check,
  type OptionSpec,
  type Resolved,
} from '@convnets/validate';
import { cachedPath, convnetsHome, httpUrl } from './cache';

/** How far a download is, as {@link DownloadOptions.onProgress} is told. */
export interface DownloadProgress {
  /** Bytes of the file received so far, a resumed part included. */
  readonly done: number;
  /** The file's size in bytes when the server says it, else `undefined`. */
  readonly total: number | undefined;
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /**
   * The first hex digits (8 to 64, lowercase) of the file's SHA-256: the
   * download is refused, and deleted, when its hash starts otherwise.
   *
   * @defaultValue `undefined`: not checked
   */
  sha256?: string;
  /**
   * The file's whole MD5 (32 lowercase hex digits), as datasets publish it
   * (CIFAR's archives, torchvision's `check_integrity`): the download is
   * refused, and deleted, when its MD5 differs. Checked after the download,
   * as `sha256` (both are checked when both are given).
   *
   * @defaultValue `undefined`: not checked
   */
  md5?: string;
  /**
   * Where the file goes, instead of the cache (`home` is then not used): its
   * folder is created, the download is written as `<path>.partial` and
   * renamed when complete and checked, and a file already at `path` is
   * returned without any network access.
   *
   * @defaultValue `cachedPath(url, home)`
   */
  path?: string;
  /**
   * The cache folder.
   *
   * @defaultValue `convnetsHome()`: `$CONVNETS_HOME`, else `~/.cache/convnets`
   */
  home?: string;
  /** Called when the response arrives and after every chunk written. @defaultValue none */
  onProgress?: (progress: DownloadProgress) => void;
  /**
   * Longest wait, in milliseconds, for the response or the next bytes of
   * the body; then the request is abandoned (and retried).
   *
   * @defaultValue `60_000`
   */
  timeoutMs?: number;
  /**
   * Further requests after a network error, a timeout, a cut connection or
   * an HTTP 5xx status; each continues where the last one stopped.
   *
   * @defaultValue `2`
   */
  retries?: number;
  /** Aborts the download (the partial file is kept for a later resume). @defaultValue none */
  signal?: AbortSignal;
}

/** `sha256`: a lowercase hex prefix of 8 to 64 digits. */
const checkSha256: Check<string> = (where, option, value) =>
  typeof value === 'string' && /^[0-9a-f]{8,64}$/.test(value)
    ? value
    : fail(where, option, value, 'a SHA-256 prefix of 8 to 64 lowercase hex digits');

/** `md5`: 32 lowercase hex digits. */
const checkMd5: Check<string> = (where, option, value) =>
  typeof value === 'string' && /^[0-9a-f]{32}$/.test(value)
    ? value
    : fail(where, option, value, 'an MD5 of 32 lowercase hex digits');

/** A non-empty string. */
const checkPath: Check<string> = (where, option, value) =>
  typeof value === 'string' && value !== ''
    ? value
    : fail(where, option, value, 'a non-empty path');

/** A function (a callback option). */
export function checkFunction<F>(where: string, option: string, value: unknown): F {
  return typeof value === 'function' ? (value as F) : fail(where, option, value, 'a function');
}

/** The one declaration of {@link DownloadOptions}. */
export const DOWNLOAD_SPEC = {
  sha256: optional(checkSha256),
  md5: optional(checkMd5),
  path: optional(checkPath),
  home: optional(checkPath),
  onProgress: optional(checkFunction<(progress: DownloadProgress) => void>),
  timeoutMs: withDefault(checkPositiveInt, 60_000),
  retries: withDefault(checkNonNegativeInt, 2),
  signal: unchecked<AbortSignal | undefined>(),
} satisfies OptionSpec<DownloadOptions>;

/** Checked {@link DownloadOptions}. */
export type DownloadSettings = Resolved<typeof DOWNLOAD_SPEC>;

/** What the transfer itself uses: the settings, `md5` optional and `path` resolved by the caller. */
type TransferSettings = Omit<DownloadSettings, 'md5' | 'path'> & { md5?: string | undefined };

/** A failure a later request may not repeat: network errors, timeouts, cut connections, HTTP 5xx. */
class Transient extends Error {}

/** The size of `path`, 0 when it does not exist. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** An abort controller that fires when no data came for `ms`, or when `outer` aborts. */
function idleTimer(ms: number, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  let timedOut = false;
  let handle: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(handle);
    handle = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ms);
  };
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  arm();
  return {
    signal: controller.signal,
    arm,
    timedOut: () => timedOut,
    clear: () => {
      clearTimeout(handle);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Where the body starts in the file: `offset` for a 206 that continues it, 0
 * for a 200 (a server without ranges); `undefined` for a 206 of another range.
 */
function startOf(res: Response, offset: number): number | undefined {
  if (res.status !== 206) return 0;
  const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
  return range && Number(range[1]) === offset ? offset : undefined;
}

/** The file's whole size, from Content-Range (a 206) or Content-Length (a 200). */
function totalOf(res: Response, start: number): number | undefined {
  if (res.status === 206) {
    const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
    return total === undefined ? undefined : Number(total);
  }
  const length = res.headers.get('content-length');
  return length === null ? undefined : start + Number(length);
}

/** Writes the body to `partial` (appending from `start`, or anew), telling progress. */
async function writeBody(
  res: Response,
  partial: string,
  start: number,
  o: TransferSettings,
  arm: () => void,
): Promise<void> {
  const total = totalOf(res, start);
  const file = await open(partial, start > 0 ? 'a' : 'w');
  let done = start;
  try {
    o.onProgress?.({ done, total });
    const reader = res.body?.getReader();
    for (;;) {
      const chunk = reader && (await reader.read());
      if (!chunk || chunk.done) break;
      arm();
      await file.write(chunk.value);
      done += chunk.value.byteLength;
      o.onProgress?.({ done, total });
    }
  } finally {
    await file.close();
  }
  if (total !== undefined && done !== total)
    throw new Transient(`the connection ended after ${done} of ${total} bytes`);
}

/** The failure of a request, as a {@link Transient} where another request may succeed. */
function requestError(e: unknown, timer: ReturnType<typeof idleTimer>, o: TransferSettings) {
  if (e instanceof Transient) return e;
  if (timer.timedOut()) return new Transient(`no data for ${o.timeoutMs / 1000} s (timed out)`);
  if (o.signal?.aborted) return e;
  if (e instanceof TypeError) {
    // undici: "fetch failed" / "terminated", the reason in `cause` (ECONNREFUSED, ENOTFOUND, …).
    const cause = e.cause as { code?: string; message?: string } | undefined;
    return new Transient(`${e.message}${cause ? ` (${cause.code ?? cause.message})` : ''}`, {
      cause: e,
    });
  }
  return e;
}

/** One request: continues `partial` where the server allows, else rewrites it. */
async function attempt(url: string, partial: string, o: TransferSettings): Promise<boolean> {
  const offset = await sizeOf(partial);
  const timer = idleTimer(o.timeoutMs, o.signal);
  try {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const res = await fetch(url, { headers, signal: timer.signal });
    const start = startOf(res, offset);
    if ((res.status === 416 || start === undefined) && offset > 0) {
      // The partial file does not fit the server's file (changed, or complete): start over.
      await res.body?.cancel();
      await rm(partial, { force: true });
      return false;
    }
    if (!res.ok) {
      await res.body?.cancel();
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (res.status >= 500) throw new Transient(status);
      throw new Error(`download of ${url} failed: ${status}.`);
    }
    if (start === undefined)
      throw new Transient(`unexpected Content-Range ${res.headers.get('content-range')}`);
    await writeBody(res, partial, start, o, timer.arm);
    return true;
  } catch (e) {
    throw requestError(e, timer, o);
  } finally {
    timer.clear();
  }
}

/** Requests until `partial` is complete, retrying {@link Transient} failures after a short pause. */
async function fetchWithRetries(url: string, partial: string, o: TransferSettings): Promise<void> {
  for (let failures = 0; ;) {
    try {
      if (await attempt(url, partial, o)) return;
    } catch (e) {
      if (!(e instanceof Transient) || failures >= o.retries) throw e;
      failures += 1;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failures));
    }
  }
}

/** The hex digests of `path`'s bytes, one per algorithm, read once. */
async function digests(path: string, algorithms: readonly string[]): Promise<string[]> {
  const hashes = algorithms.map((a) => createHash(a));
  for await (const chunk of createReadStream(path))
    for (const hash of hashes) hash.update(chunk as Buffer);
  return hashes.map((h) => h.digest('hex'));
}

/**
 * Deletes `partial` and throws unless its SHA-256 starts with `o.sha256` and
 * its MD5 is `o.md5` (each when given).
 */
async function verify(
  url: string,
  partial: string,
  o: { sha256?: string | undefined; md5?: string | undefined },
): Promise<void> {
  if (o.sha256 === undefined && o.md5 === undefined) return;
  const [sha256, md5] = await digests(partial, ['sha256', 'md5']);
  let wrong: string | undefined;
  if (o.sha256 !== undefined && !sha256.startsWith(o.sha256))
    wrong = `its SHA-256 starts ${sha256.slice(0, o.sha256.length)}, expected ${o.sha256}`;
  else if (o.md5 !== undefined && md5 !== o.md5) wrong = `its MD5 is ${md5}, expected ${o.md5}`;
  if (wrong === undefined) return;
  await rm(partial, { force: true });
  throw new Error(`download of ${url} refused: ${wrong}; the file was deleted.`);
}

/** A {@link Transient} failure's message for the caller: what failed, and what is on disk. */
async function described(e: Transient, url: string, path: string): Promise<Error> {
  const kept = await sizeOf(`${path}.partial`);
  const disk =
    kept > 0
      ? `${kept} bytes are kept in ${path}.partial: run again to resume`
      : `it is not in the cache (${path})`;
  return new Error(`cannot download ${url}: ${e.message}; ${disk}.`, { cause: e });
}

/**
 * Puts `url`'s file at `path` unless it is there: into `path.partial`
 * (resumed with a Range request if one is there), checked, then renamed.
 *
 * @internal
 */
export async function fetchToFile(url: string, path: string, o: TransferSettings): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isFile()) return;
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  try {
    await fetchWithRetries(url, partial, o);
  } catch (e) {
    throw e instanceof Transient ? await described(e, url, path) : e;
  }
  await verify(url, partial, o);
  await rename(partial, path);
}

/**
 * Downloads an http(s) URL's file into the cache (or to `opts.path`), once:
 * a file already there is returned without any network access. The file is written as
 * `<file>.partial` and renamed when complete (and its hash checked), so the
 * cached name never holds a partial or unchecked file; an interrupted
 * download continues with an HTTP Range request next time (a server that
 * ignores Range sends it whole, which restarts the file).
 *
 * @param url - An http:// or https:// URL.
 * @param opts - Hashes, cache folder or path, progress, timeout, retries, abort; see {@link DownloadOptions}.
 * @returns The file's path: `opts.path`, else the cached file's (see {@link cachedPath}).
 * @throws Error for a URL that is not http(s) or an invalid option (naming
 *   it); `download of <url> failed: HTTP <status> …` for an HTTP error;
 *   `cannot download <url>: <reason>; …` when the network fails or times out
 *   after the retries, saying whether bytes are kept for a resume; `download
 *   of <url> refused: its SHA-256 starts <actual>, expected <expected>` or
 *   `… refused: its MD5 is <actual>, expected <expected>` on a hash mismatch
 *   (nothing is kept then: neither the file nor `.partial`); the abort reason
 *   when `signal` aborts.
 * @example
 * ```ts
 * const path = await download('https://example.com/net.safetensors', {
 *   onProgress: ({ done, total }) => console.log(done, total),
 * });
 * await loadWeights(resnet50({ skipInit: true }), path, { from: 'torchvision' });
 * ```
 */
export async function download(url: string, opts: DownloadOptions = {}): Promise<string> {
  httpUrl('download', url);
  const o = checkOptions('download', opts, DOWNLOAD_SPEC);
  const path = o.path ?? cachedPath(url, o.home ?? convnetsHome());
  await fetchToFile(url, path, o);
  return path;
}
