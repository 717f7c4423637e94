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
    // The forward pass and both gradients of one convolution, on fresh random operands.
    const conv = (g) => {
      const [n, h, w, c, kh, kw, oc, oh, ow] = g;
      const x = fill(n * h * w * c), f = fill(kh * kw * c * oc), dy = fill(n * oh * ow * oc);
      const y = new Float32Array(dy.length), dx = new Float32Array(x.length), df = new Float32Array(f.length);
      addon.conv2d(x, f, null, y, [...g, 0]);
      addon.conv2dBackpropInput(dy, f, dx, g);
      addon.conv2dBackpropFilter(x, dy, df, g);
      return { x, y, dx, df };
    };
    const { x, y, dx, df: dw } = conv([16, 32, 32, 16, 3, 3, 32, 16, 16, 2, 2, 1, 1, 0, 0]);
    const sums = new Float32Array(16);
    addon.reduceSum(x, sums, [1, 16 * 32 * 32, 16], 1);
    const rowSums = new Float32Array(16 * 32);
    addon.reduceSum(x, rowSums, [16 * 32, 32 * 16, 1], 1);
    // One-vector column slivers, 'same' padding, many row blocks and filter-gradient chunks.
    const { y: y2, dx: dx2, df: dw2 } = conv([8, 20, 20, 16, 3, 3, 16, 20, 20, 1, 1, 1, 1, 1, 1]);
    // A stem: filter rows read as one run, in the forward pass and the filter gradient.
    const { y: y3, dx: dx3, df: dw3 } = conv([4, 21, 21, 3, 7, 7, 64, 8, 8, 2, 2, 1, 1, 0, 0]);
    const a = fill(300 * 500), b = fill(500 * 200), c = new Float32Array(300 * 200);
    addon.matMul(a, b, null, c, [1, 1, 300, 200, 500, 0, 0, 0, 0]);
    console.log([y, dx, dw, sums, c, rowSums, y2, dx2, dw2, y3, dx3, dw3].map((t) => createHash('sha256').update(Buffer.from(t.buffer)).digest('hex').slice(0, 16)).join(','));
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
