import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedPath, convnetsHome, download, type DownloadProgress } from '../src';
import { fileHandler, payload, serve, type Served } from './server';

let home: string;
let server: Served | undefined;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'convnets-hub-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(home, { recursive: true, force: true });
});

/** What is in the cached file's folder: the final name and `.partial`, if there. */
function onDisk(path: string): string[] {
  const name = path.split('/').pop()!;
  return [name, `${name}.partial`].filter((n) => existsSync(join(dirname(path), n)));
}

describe('download', () => {
  it('fetches into the cache under a per-URL folder, tells progress and checks the hash', async () => {
    const { bytes, sha256 } = payload(200_000);
    server = await serve(fileHandler(bytes));
    const url = `${server.origin}/models/net.safetensors?v=1`;
    const seen: DownloadProgress[] = [];
    const path = await download(url, {
      home,
      sha256: sha256.slice(0, 8),
      onProgress: (p) => seen.push(p),
    });
    expect(path).toBe(cachedPath(url, home));
    expect(path).toMatch(/\/weights\/by-url\/[0-9a-f]{16}\/net\.safetensors$/);
    expect(path.startsWith(join(home, 'weights'))).toBe(true);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(onDisk(path)).toEqual(['net.safetensors']);
    expect(seen[0]).toEqual({ done: 0, total: 200_000 });
    expect(seen.at(-1)).toEqual({ done: 200_000, total: 200_000 });
    expect(seen.every((p, i) => i === 0 || p.done >= seen[i - 1].done)).toBe(true);
    // Another URL with the same file name gets its own file.
    expect(cachedPath(`${server.origin}/other/net.safetensors`, home)).not.toBe(path);
  });

  it('refuses a hash mismatch naming both prefixes, and keeps nothing', async () => {
    const { bytes, sha256 } = payload(50_000);
    server = await serve(fileHandler(bytes));
    const wrong = sha256.startsWith('0') ? '10000000' : '00000000';
    const url = `${server.origin}/net-${wrong}.pth`;
    await expect(download(url, { home, sha256: wrong })).rejects.toThrow(
      `download of ${url} refused: its SHA-256 starts ${sha256.slice(0, 8)}, expected ${wrong}; the file was deleted.`,
    );
    expect(onDisk(cachedPath(url, home))).toEqual([]);
  });

  it('checks a whole MD5, refusing a mismatch naming both sums and keeping nothing', async () => {
    const { bytes } = payload(60_000);
    const md5 = createHash('md5').update(bytes).digest('hex');
    server = await serve(fileHandler(bytes));
    const url = `${server.origin}/data/archive.tar.gz`;
    const wrong = md5.startsWith('0') ? `1${md5.slice(1)}` : `0${md5.slice(1)}`;
    await expect(download(url, { home, md5: wrong })).rejects.toThrow(
      `download of ${url} refused: its MD5 is ${md5}, expected ${wrong}; the file was deleted.`,
    );
    expect(onDisk(cachedPath(url, home))).toEqual([]);
    // The right sum keeps it; a SHA-256 prefix is checked beside it.
    const path = await download(url, { home, md5 });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    await expect(download(`${url}?again`, { home, md5, sha256: '00000000' })).rejects.toThrow(
      /refused: its SHA-256 starts [0-9a-f]{8}, expected 00000000;/,
    );
    await expect(download(url, { home, md5: md5.toUpperCase() })).rejects.toThrow(
      'download: option "md5" must be an MD5 of 32 lowercase hex digits;',
    );
  });

  it('puts the file at `path` instead of the cache, checked, and reuses it offline', async () => {
    const { bytes } = payload(40_000);
    const md5 = createHash('md5').update(bytes).digest('hex');
    server = await serve(fileHandler(bytes));
    const url = `${server.origin}/~kriz/data.tar.gz`;
    const path = join(home, 'data', 'nested', 'data.tar.gz');
    const refused = download(url, { path, md5: '0'.repeat(32) });
    await expect(refused).rejects.toThrow(/refused: its MD5 is/);
    expect(onDisk(path)).toEqual([]);
    expect(await download(url, { path, md5 })).toBe(path);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(onDisk(path)).toEqual(['data.tar.gz']);
    expect(existsSync(join(home, 'weights'))).toBe(false);
    await server.close();
    server = undefined;
    expect(await download(url, { path, md5 })).toBe(path);
  });

  it('keeps a cut download as .partial only, then resumes it with a Range request', async () => {
    const { bytes, sha256 } = payload(100_000);
    server = await serve(fileHandler(bytes, { cutAfter: { 0: 30_000 } }));
    const url = `${server.origin}/a/net.bin`;
    const path = cachedPath(url, home);
    await expect(download(url, { home, retries: 0 })).rejects.toThrow(
      new RegExp(
        `^cannot download ${url}: .*; \\d+ bytes are kept in ${path}\\.partial: run again to resume\\.$`,
      ),
    );
    expect(onDisk(path)).toEqual(['net.bin.partial']);
    const kept = readFileSync(`${path}.partial`).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(100_000);

    const seen: DownloadProgress[] = [];
    await download(url, { home, sha256, onProgress: (p) => seen.push(p) });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${kept}-`]);
    expect(seen[0]).toEqual({ done: kept, total: 100_000 });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(onDisk(path)).toEqual(['net.bin']);
  });

  it('retries a cut connection within one call, continuing where it stopped', async () => {
    const { bytes, sha256 } = payload(100_000);
    server = await serve(fileHandler(bytes, { cutAfter: { 0: 40_000 } }));
    const path = await download(`${server.origin}/net.bin`, { home, sha256, retries: 1 });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
  });

  it('restarts cleanly when the server ignores Range and sends the whole file', async () => {
    const { bytes, sha256 } = payload(60_000);
    server = await serve(fileHandler(bytes, { ranges: false }));
    const url = `${server.origin}/net.bin`;
    const path = cachedPath(url, home);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.partial`, 'stale bytes of another attempt');
    await download(url, { home, sha256 });
    expect(server.requests[0].range).toBe('bytes=30-');
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(onDisk(path)).toEqual(['net.bin']);
  });

  it('starts over when the partial file is longer than the server file (416)', async () => {
    const { bytes, sha256 } = payload(1000);
    server = await serve(fileHandler(bytes));
    const url = `${server.origin}/net.bin`;
    const path = cachedPath(url, home);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.partial`, new Uint8Array(5000));
    await download(url, { home, sha256, retries: 0 });
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=5000-', undefined]);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
  });

  it('starts over when a 206 answers another range than the one asked for', async () => {
    const { bytes, sha256 } = payload(1000);
    const whole = fileHandler(bytes);
    server = await serve((req, res, index) => {
      if (!req.headers.range) return whole(req, res, index);
      res.writeHead(206, { 'content-range': `bytes 0-999/1000`, 'content-length': 1000 });
      res.end(bytes);
    });
    const url = `${server.origin}/net.bin`;
    const path = cachedPath(url, home);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.partial`, bytes.subarray(0, 10));
    await download(url, { home, sha256, retries: 0 });
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=10-', undefined]);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
  });

  it('uses a cached file without any network access', async () => {
    const { bytes } = payload(10_000);
    server = await serve(fileHandler(bytes));
    const url = `${server.origin}/net.bin`;
    const first = await download(url, { home });
    await server.close();
    server = undefined;
    expect(await download(url, { home })).toBe(first);
    expect(new Uint8Array(readFileSync(first))).toEqual(bytes);
  });

  it('names the status and the URL of an HTTP error, and caches nothing', async () => {
    server = await serve((_req, res) => res.writeHead(404).end('no such file'));
    const url = `${server.origin}/missing.pth`;
    await expect(download(url, { home })).rejects.toThrow(
      `download of ${url} failed: HTTP 404 Not Found.`,
    );
    expect(server.requests).toHaveLength(1); // a 4xx is not retried
    expect(onDisk(cachedPath(url, home))).toEqual([]);
  });

  it('retries a 5xx, then says what failed', async () => {
    server = await serve((_req, res) => res.writeHead(503).end());
    const url = `${server.origin}/busy.pth`;
    await expect(download(url, { home, retries: 1 })).rejects.toThrow(
      `cannot download ${url}: HTTP 503 Service Unavailable; it is not in the cache (${cachedPath(url, home)}).`,
    );
    expect(server.requests).toHaveLength(2);
  });

  it('says when there is no network and the file is not cached', async () => {
    server = await serve(fileHandler(new Uint8Array(1)));
    const url = `${server.origin}/net.bin`;
    await server.close();
    server = undefined;
    await expect(download(url, { home, retries: 0 })).rejects.toThrow(
      new RegExp(
        `^cannot download ${url}: fetch failed \\(ECONNREFUSED\\); it is not in the cache \\(.*net\\.bin\\)\\.$`,
      ),
    );
  });

  it('times out when the server stops sending, keeping what came', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(new Uint8Array(100)); // then nothing
    });
    const url = `${server.origin}/slow.bin`;
    const path = cachedPath(url, home);
    await expect(download(url, { home, timeoutMs: 300, retries: 0 })).rejects.toThrow(
      `cannot download ${url}: no data for 0.3 s (timed out); 100 bytes are kept in ${path}.partial: run again to resume.`,
    );
    expect(onDisk(path)).toEqual(['slow.bin.partial']);
  });

  it('stops when its signal aborts, keeping the partial file', async () => {
    const controller = new AbortController();
    server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(new Uint8Array(100), () => controller.abort(new Error('user stop')));
    });
    const url = `${server.origin}/net.bin`;
    await expect(download(url, { home, signal: controller.signal })).rejects.toThrow('user stop');
    expect(server.requests).toHaveLength(1);
    expect(onDisk(cachedPath(url, home))).not.toContain('net.bin');
  });

  it('refuses what it cannot fetch, and bad options, naming them', async () => {
    await expect(download('ftp://example.com/net.pth', { home })).rejects.toThrow(
      'download: expected an http:// or https:// URL; received "ftp://example.com/net.pth".',
    );
    await expect(download('net.pth')).rejects.toThrow(/expected an http:\/\/ or https:\/\/ URL/);
    await expect(download('http://127.0.0.1:1/n', { home, sha256: 'XYZ' })).rejects.toThrow(
      'download: option "sha256" must be a SHA-256 prefix of 8 to 64 lowercase hex digits; received "XYZ".',
    );
    await expect(
      download('http://127.0.0.1:1/n', { home, retry: 3 } as unknown as { home: string }),
    ).rejects.toThrow(/download: unknown option "retry"/);
  });
});

describe('convnetsHome', () => {
  it('is $CONVNETS_HOME, else $XDG_CACHE_HOME/convnets, else ~/.cache/convnets', () => {
    expect(convnetsHome({ CONVNETS_HOME: '/data/c', XDG_CACHE_HOME: '/x' })).toBe('/data/c');
    expect(convnetsHome({ XDG_CACHE_HOME: '/x' })).toBe('/x/convnets');
    expect(convnetsHome({ HOME: '/home/u' })).toMatch(/\/\.cache\/convnets$/);
  });
});
