import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The cache folder: `$CONVNETS_HOME`, else `$XDG_CACHE_HOME/convnets`, else
 * `~/.cache/convnets` (as torch.hub's `$TORCH_HOME`). Weight files go into
 * its `weights/` folder.
 *
 * @param env - Where the variables are read. Default: `process.env`.
 * @returns An absolute or relative path, as the variable gives it.
 * @example
 * ```ts
 * convnetsHome({ CONVNETS_HOME: '/data/convnets' }); // '/data/convnets'
 * ```
 */
export function convnetsHome(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (env.CONVNETS_HOME) return env.CONVNETS_HOME;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'convnets');
}

/**
 * A URL parsed and checked: only `http:` and `https:` are fetched.
 *
 * @example
 * ```ts
 * httpUrl('mirror', 'http://mirror:8080').host; // 'mirror:8080'
 * ```
 * @param where - Who checks it, named in the error.
 * @param value - The URL.
 * @returns The parsed URL.
 * @throws Error naming the value when it is not an absolute http(s) URL.
 */
export function httpUrl(where: string, value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new Error(
      `${where}: expected an http:// or https:// URL; received ${JSON.stringify(value)}.`,
    );
  return url;
}

/**
 * The file name a URL's file is cached under: its last path segment, decoded,
 * with anything but letters, digits, `.`, `_` and `-` replaced by `_`
 * (`download` when that leaves nothing usable).
 *
 * @internal
 */
export function fileNameOf(url: URL): string {
  let segment = url.pathname.split('/').pop() ?? '';
  try {
    segment = decodeURIComponent(segment);
  } catch {
    // keep it encoded: the replacement below makes it safe anyway
  }
  const safe = segment.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '');
  return safe === '' ? 'download' : safe;
}

/**
 * Where {@link download} caches a URL's file: `weights/by-url/<16 hex
 * digits of the URL's SHA-256>/<file name>` under the cache folder, so two
 * URLs ending in the same name never share a file.
 *
 * @param url - An http(s) URL.
 * @param home - The cache folder. Default: {@link convnetsHome}.
 * @returns The path of the cached file (which may not exist yet).
 * @throws Error when `url` is not an http(s) URL.
 * @example
 * ```ts
 * cachedPath('https://example.com/models/net.safetensors', '/tmp/c');
 * // '/tmp/c/weights/by-url/<16 hex>/net.safetensors'
 * ```
 */
export function cachedPath(url: string, home: string = convnetsHome()): string {
  const parsed = httpUrl('cachedPath', url);
  const key = createHash('sha256').update(parsed.href).digest('hex').slice(0, 16);
  return join(home, 'weights', 'by-url', key, fileNameOf(parsed));
}
