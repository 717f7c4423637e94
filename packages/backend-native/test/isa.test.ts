import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../src/addon';

/**
 * Runs the addon's convolution kernels with the instruction set forced by
 * CONVNETS_NATIVE_ISA in a fresh process, and compares them with a direct
 * double-precision evaluation of the convolution sums written out in the
 * script. Returns the ISA that ran and the worst relative error per kernel.
 */
function worstErrors(isaName: string): { isa: string; errors: Record<string, number> } {
  const { path } = loadAddon();
  const script = `
    const addon = require(${JSON.stringify(path)});
    let s = 7;
    const fill = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
    // [batch, inH, inW, inC, kH, kW, outC, outH, outW, strideH, strideW, dilationH, dilationW, padTop, padLeft]
    const geometries = [
      [2, 9, 9, 16, 3, 3, 16, 9, 9, 1, 1, 1, 1, 1, 1],
      [1, 8, 10, 32, 3, 3, 48, 8, 10, 1, 1, 1, 1, 1, 1],
      [1, 6, 6, 300, 1, 1, 32, 6, 6, 1, 1, 1, 1, 0, 0],
      [2, 13, 13, 3, 7, 7, 64, 4, 4, 2, 2, 1, 1, 0, 0],
      [1, 9, 9, 19, 3, 3, 33, 5, 5, 2, 2, 1, 1, 1, 1],
      [1, 7, 7, 5, 3, 3, 16, 7, 7, 1, 1, 2, 2, 2, 2],
      [1, 23, 23, 64, 3, 3, 64, 23, 23, 1, 1, 1, 1, 1, 1],
    ];
    const worst = {};
    const note = (op, got, want) => {
      let e = 0;
      for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
      worst[op] = Math.max(worst[op] ?? 0, e);
    };
    for (const g of geometries) {
      const [N, H, W, C, KH, KW, CO, OH, OW, SH, SW, DH, DW, PT, PL] = g;
      const x = fill(N * H * W * C), f = fill(KH * KW * C * CO), dy = fill(N * OH * OW * CO);
      const y = new Float32Array(dy.length), dx = new Float32Array(x.length), df = new Float32Array(f.length);
      addon.conv2d(x, f, null, y, [...g, 0]);
      addon.conv2dBackpropInput(dy, f, dx, g);
      addon.conv2dBackpropFilter(x, dy, df, g);
      const ry = new Float64Array(y.length), rdx = new Float64Array(dx.length), rdf = new Float64Array(df.length);
      for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++)
        for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
          const ih = oh * SH + kh * DH - PT, iw = ow * SW + kw * DW - PL;
          if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
          const xo = ((n * H + ih) * W + iw) * C, yo = ((n * OH + oh) * OW + ow) * CO;
          for (let c = 0; c < C; c++) for (let co = 0; co < CO; co++) {
            const fi = ((kh * KW + kw) * C + c) * CO + co;
            ry[yo + co] += x[xo + c] * f[fi];
            rdx[xo + c] += dy[yo + co] * f[fi];
            rdf[fi] += x[xo + c] * dy[yo + co];
          }
        }
      note('conv2d', y, ry);
      note('conv2dBackpropInput', dx, rdx);
      note('conv2dBackpropFilter', df, rdf);
    }
    console.log(JSON.stringify({ isa: addon.info().isa, errors: worst }));
  `;
  const out = execFileSync(process.execPath, ['-e', script], {
    env: { ...process.env, CONVNETS_NATIVE_ISA: isaName, CONVNETS_NATIVE_THREADS: '2' },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ReturnType<typeof worstErrors>;
}

describe('every instruction set computes the convolutions correctly', () => {
  for (const isaName of ['avx512', 'avx2', 'generic']) {
    it(isaName, () => {
      const { isa, errors } = worstErrors(isaName);
      // An ISA this CPU lacks falls back to a narrower one, which is tested too.
      if (isaName === 'generic') expect(isa).toBe('generic');
      for (const [op, err] of Object.entries(errors)) {
        // Sums of up to 300·49 products of values in [-1, 1) in float32.
        expect(err, `${isa} ${op}`).toBeLessThan(1e-4);
      }
      expect(Object.keys(errors)).toHaveLength(3);
    });
  }
});
