import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/addon';

/**
 * Runs the large-shape kernels (where the thread pool splits the work) in a
 * fresh process with the given thread count and returns a hash of every output.
 */
function hashes(threads: number): string {
  const { path } = loadAddon();
  const script = `
    const addon = require(${JSON.stringify(path)});
    const { createHash } = require('node:crypto');
    let s = 1;
    const fill = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
    const geometry = [16, 32, 32, 16, 3, 3, 32, 16, 16, 2, 2, 1, 1, 0, 0];
    const x = fill(16 * 32 * 32 * 16), w = fill(3 * 3 * 16 * 32), dy = fill(16 * 16 * 16 * 32);
    const y = new Float32Array(dy.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length);
    addon.conv2d(x, w, null, y, [...geometry, 0]);
    addon.conv2dBackpropInput(dy, w, dx, geometry);
    addon.conv2dBackpropFilter(x, dy, dw, geometry);
    const sums = new Float32Array(16);
    addon.reduceSum(x, sums, [1, 16 * 32 * 32, 16], 1);
    const a = fill(300 * 500), b = fill(500 * 200), c = new Float32Array(300 * 200);
    addon.matMul(a, b, null, c, [1, 1, 300, 200, 500, 0, 0, 0, 0]);
    console.log([y, dx, dw, sums, c].map((t) => createHash('sha256').update(Buffer.from(t.buffer)).digest('hex').slice(0, 16)).join(','));
  `;
  return execFileSync(process.execPath, ['-e', script], {
    env: { ...process.env, CONVNETS_NATIVE_THREADS: String(threads) },
    encoding: 'utf8',
  }).trim();
}

describe('determinism across thread counts', () => {
  it('gives bitwise-identical results with 1, 2 and 3 threads, and on repeated runs', () => {
    const one = hashes(1);
    expect(hashes(2)).toBe(one);
    expect(hashes(3)).toBe(one);
    expect(hashes(2)).toBe(one);
  });
});
