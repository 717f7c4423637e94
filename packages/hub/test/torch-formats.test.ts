import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStateDict, toFloat32 } from '@convnets/layers';
import { afterEach, describe, expect, it } from 'vitest';
import { download } from '../src';
import { fileHandler, serve, type Served } from './server';

// Files written by torch.save (PyTorch 1.13) in both of its formats, and the
// values torch holds for them: scripts/fixtures/generate_pth_fixtures.py.
const pth = (name: string) =>
  fileURLToPath(new URL(`../../layers/test/fixtures/pth/${name}`, import.meta.url));
const expected = JSON.parse(readFileSync(pth('expected.json'), 'utf8')) as {
  dtypes: Record<string, { dtype: string; shape: number[]; values: number[] }>;
};

let server: Served | undefined;
const homes: string[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

describe('torch.save files over HTTP', () => {
  it.each([
    ['zip format (PyTorch ≥ 1.6)', 'dtypes.pth', 'torch-zip'],
    ['legacy format', 'dtypes-legacy.pth', 'torch-legacy'],
  ])(
    'downloads a %s file from a loopback server, hash-checked, and reads the values torch wrote',
    async (_, file, format) => {
      const bytes = new Uint8Array(readFileSync(pth(file)));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      server = await serve(fileHandler(bytes));
      const home = mkdtempSync(join(tmpdir(), 'convnets-hub-pth-'));
      homes.push(home);
      const path = await download(`${server.origin}/models/${file}`, { home, sha256 });
      const read = readStateDict(new Uint8Array(readFileSync(path)));
      expect(read.format).toBe(format);
      for (const key of ['f32', 'f16', 'bf16', 'f64']) {
        const want = expected.dtypes[key];
        const got = read.tensors.get(key)!;
        expect([key, got.dtype, got.shape]).toEqual([key, want.dtype, want.shape]);
        expect(Array.from(toFloat32(got))).toEqual(want.values.map(Math.fround));
      }
    },
  );
});
