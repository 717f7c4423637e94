// The one place the CLI downloads a dataset archive: through @convnets/hub's
// `download` (resumed with HTTP Range, written as `.partial` and renamed when
// complete, MD5 checked: a mismatch is refused and nothing is kept), into
// `<convnets home>/data/<official file name>`, so that a later run finds it
// without the network.
import { join } from 'node:path';
import { convnetsHome, download, httpUrl, mirrored, type DownloadProgress } from '@convnets/hub';
import { fail } from './output';

/** An archive as a dataset publishes it: its URL, file name and MD5 (a `CifarLayout` is one). */
export interface PublishedArchive {
  /** The official URL. */
  readonly url: string;
  /** The official file name, which the cache keeps. */
  readonly file: string;
  /** The published MD5, 32 lowercase hex digits. */
  readonly md5: string;
}

/** Options of {@link fetchArchive}. */
export interface FetchArchiveOptions {
  /** The cache folder. Default: `convnetsHome()` (`$CONVNETS_HOME`, …). */
  home?: string;
  /** Replaces the origin of the official URL, keeping its path (see hub's `mirrored`). Default: none. */
  mirror?: string;
  /** Told the bytes received so far and the size, when a download runs (a cached file tells nothing). */
  onProgress?: (progress: DownloadProgress) => void;
}

/** Where {@link fetchArchive} keeps `archive`: `<home>/data/<file>`. */
export function cachedArchive(archive: PublishedArchive, home: string = convnetsHome()): string {
  return join(home, 'data', archive.file);
}

/** The URL `archive` is downloaded from: the official one, or its path on `mirror`. */
export function archiveSource(archive: PublishedArchive, mirror?: string): string {
  return mirror === undefined ? archive.url : mirrored(archive.url, mirror);
}

/** `$CONVNETS_DATA_MIRROR`, checked to be an http(s) URL; `undefined` when unset or empty. */
export function dataMirror(env: Readonly<Record<string, string | undefined>> = process.env) {
  const value = env.CONVNETS_DATA_MIRROR;
  if (!value) return undefined;
  try {
    httpUrl('$CONVNETS_DATA_MIRROR', value);
  } catch {
    fail(
      `$CONVNETS_DATA_MIRROR must be an http:// or https:// URL; it is ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * The cached copy of `archive`, downloaded first unless the cache holds it.
 *
 * @returns The cached file's path ({@link cachedArchive}).
 * @throws hub's `download` errors: `download of <url> refused: its MD5 is
 *   <actual>, expected <published>; …` (nothing kept), an HTTP error, or
 *   the network failing (what is kept for a resume said).
 */
export async function fetchArchive(
  archive: PublishedArchive,
  o: FetchArchiveOptions = {},
): Promise<string> {
  return download(archiveSource(archive, o.mirror), {
    path: cachedArchive(archive, o.home),
    md5: archive.md5,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}
