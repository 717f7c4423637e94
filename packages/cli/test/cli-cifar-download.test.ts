import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR_ARCHIVES } from '@convnets/imagenet-data';
import type { DownloadProgress } from '@convnets/hub';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedArchive, dataMirror, fetchArchive } from '../src/fetch';
import { tempDir } from './helpers';

// `convnets data cifar10 DIR` downloading from a loopback server named by
// $CONVNETS_DATA_MIRROR. The fixture (imagenet-data's make-cifar-fixtures.py:
// 20 training and 3 test images in the official layout) is not the published
// archive, so through the command its MD5 is refused; the library function
// the command calls is given the fixture's own MD5 to show the success path,
// and the command then uses that cached file without the network.
const bin = fileURLToPath(new URL('../bin/convnets.js', import.meta.url));
const fixture = readFileSync(
  fileURLToPath(
    new URL('../../imagenet-data/test/fixtures/cifar/cifar-10-python.tar.gz', import.meta.url),
  ),
);
const fixtureMd5 = createHash('md5').update(fixture).digest('hex');
const official = CIFAR_ARCHIVES.find((l) => l.name === 'cifar10' && l.format === 'python')!;

/** The bin run asynchronously (the server answers from this process's event loop). */
function convnets(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let server: Server | undefined;
let origin = '';
let paths: string[] = [];
let home: string;
const root = tempDir('convnets-cifar-dl-');
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(async () => {
  home = mkdtempSync(join(root, 'home-'));
  paths = [];
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-length': fixture.length }).end(fixture);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await closeServer();
});

async function closeServer(): Promise<void> {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

describe('convnets data cifar10 DIR, downloading', () => {
  it('downloads from $CONVNETS_DATA_MIRROR with progress, refuses an MD5 mismatch naming both and keeps nothing', async () => {
    const dir = join(root, 'refused');
    const r = await convnets(
      { CONVNETS_HOME: home, CONVNETS_DATA_MIRROR: origin },
      'data',
      'cifar10',
      dir,
    );
    expect(paths).toEqual(['/~kriz/cifar-10-python.tar.gz']);
    const url = `${origin}/~kriz/cifar-10-python.tar.gz`;
    const cached = join(home, 'data', 'cifar-10-python.tar.gz');
    expect(r.stderr).toContain(
      `convnets: note: downloading ${url} (${(fixture.length / 2 ** 20).toFixed(1)} MB) to ${cached}\n`,
    );
    expect(r.stderr).toContain(
      `convnets: download of ${url} refused: its MD5 is ${fixtureMd5}, expected ${official.md5}; the file was deleted.`,
    );
    expect(r.code).toBe(1);
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(join(home, 'data'))).toEqual([]);
  });

  it('downloads into the cache with the MD5 checked, which a run without the network then uses', async () => {
    const seen: DownloadProgress[] = [];
    const path = await fetchArchive(
      { ...official, md5: fixtureMd5 },
      { home, mirror: `${origin}/`, onProgress: (p) => seen.push(p) },
    );
    expect(path).toBe(cachedArchive(official, home));
    expect(path).toBe(join(home, 'data', 'cifar-10-python.tar.gz'));
    expect(readFileSync(path).equals(fixture)).toBe(true);
    expect(readdirSync(join(home, 'data'))).toEqual(['cifar-10-python.tar.gz']);
    expect(seen.at(-1)).toEqual({ done: fixture.length, total: fixture.length });
    expect(paths).toEqual(['/~kriz/cifar-10-python.tar.gz']);

    await closeServer();
    const env = { CONVNETS_HOME: home, CONVNETS_DATA_MIRROR: origin };
    const kept = join(root, 'kept');
    const r = await convnets(env, 'data', 'cifar10', kept);
    expect(r.stderr).toBe(`convnets: note: using ${path}, downloaded before\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('CIFAR-10 (python version), 20 training and 3 test images');
    expect(readdirSync(kept)).toEqual(['cifar-10-python.tar.gz']);
    expect(readFileSync(join(kept, 'cifar-10-python.tar.gz')).equals(fixture)).toBe(true);

    const folder = join(root, 'folder');
    const f = await convnets(env, 'data', 'cifar10', folder, '--format', 'folder');
    expect(f.code).toBe(0);
    expect(readdirSync(folder).sort()).toEqual(['test', 'train']);
    expect(readdirSync(join(home, 'data'))).toEqual(['cifar-10-python.tar.gz']);
  });

  it('refuses a mirror that is not an http(s) URL', async () => {
    expect(dataMirror({})).toBeUndefined();
    expect(dataMirror({ CONVNETS_DATA_MIRROR: origin })).toBe(origin);
    const r = await convnets(
      { CONVNETS_HOME: home, CONVNETS_DATA_MIRROR: 'ftp://mirror/' },
      'data',
      'cifar10',
      join(root, 'ftp'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'convnets: $CONVNETS_DATA_MIRROR must be an http:// or https:// URL; it is "ftp://mirror/"',
    );
    expect(paths).toEqual([]);
  });
});
