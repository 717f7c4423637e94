import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

const shim = fileURLToPath(new URL('../bin/convnets.js', import.meta.url));
const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = tempDir('convnets-bin-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the convnets bin', () => {
  it('is linked into the root node_modules/.bin by npm ci, so `npx convnets` runs it', () => {
    // npm links a bin only when its file exists at install time: the shim is committed.
    const linked = join(root, 'node_modules', '.bin', 'convnets');
    expect(existsSync(linked)).toBe(true);
    expect(realpathSync(linked)).toBe(realpathSync(shim));
    const r = spawnSync('npx', ['--no-install', 'convnets', '--help'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: convnets \[options\] \[command\]/);
  });

  it('asks for a build, in one line, when dist/cli.js is missing', () => {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(shim, join(dir, 'bin', 'convnets.js'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'convnets.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^convnets: .*dist\/cli\.js is missing.*run `npm run build` first/),
    ]);
  });
});
