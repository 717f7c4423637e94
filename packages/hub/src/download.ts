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
  home: optional(checkPath),
  onProgress: optional(checkFunction<(progress: DownloadProgress) => void>),
  timeoutMs: withDefault(checkPositiveInt, 60_000),
  retries: withDefault(checkNonNegativeInt, 2),
  signal: unchecked<AbortSignal | undefined>(),
} satisfies OptionSpec<DownloadOptions>;

/** Checked {@link DownloadOptions}. */
export type DownloadSettings = Resolved<typeof DOWNLOAD_SPEC>;

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
  o: DownloadSettings,
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
function requestError(e: unknown, timer: ReturnType<typeof idleTimer>, o: DownloadSettings) {
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
async function attempt(url: string, partial: string, o: DownloadSettings): Promise<boolean> {
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
async function fetchWithRetries(url: string, partial: string, o: DownloadSettings): Promise<void> {
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

/** Deletes `partial` and throws unless its SHA-256 starts with `expected`. */
async function verify(url: string, partial: string, expected: string): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);
  const actual = hash.digest('hex');
  if (actual.startsWith(expected)) return;
  await rm(partial, { force: true });
  throw new Error(
    `download of ${url} refused: its SHA-256 starts ${actual.slice(0, expected.length)}, expected ${expected}; the file was deleted.`,
  );
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
export async function fetchToFile(url: string, path: string, o: DownloadSettings): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isFile()) return;
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  try {
    await fetchWithRetries(url, partial, o);
  } catch (e) {
    throw e instanceof Transient ? await described(e, url, path) : e;
  }
  if (o.sha256 !== undefined) await verify(url, partial, o.sha256);
  await rename(partial, path);
}

/**
 * Downloads an http(s) URL's file into the cache, once: a file already
 * cached is returned without any network access. The file is written as
 * `<file>.partial` and renamed when complete (and its hash checked), so the
 * cached name never holds a partial or unchecked file; an interrupted
 * download continues with an HTTP Range request next time (a server that
 * ignores Range sends it whole, which restarts the file).
 *
 * @param url - An http:// or https:// URL.
 * @param opts - Hash, cache folder, progress, timeout, retries, abort; see {@link DownloadOptions}.
 * @returns The cached file's path (see {@link cachedPath}).
 * @throws Error for a URL that is not http(s) or an invalid option (naming
 *   it); `download of <url> failed: HTTP <status> …` for an HTTP error;
 *   `cannot download <url>: <reason>; …` when the network fails or times out
 *   after the retries, saying whether bytes are kept for a resume; `download
 *   of <url> refused: its SHA-256 starts <actual>, expected <expected>` on a
 *   hash mismatch (nothing is kept then); the abort reason when `signal` aborts.
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
  const path = cachedPath(url, o.home ?? convnetsHome());
  await fetchToFile(url, path, o);
  return path;
}
