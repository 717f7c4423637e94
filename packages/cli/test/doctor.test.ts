import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jpegFastPath } from '@convnets/imagenet-data';
import { probeWasm, selectBackend } from '../src';
import { isInstalled } from '../src/backend';

// The built bin, as a user runs it (turbo builds before testing).
const bin = fileURLToPath(new URL('../bin/convnets.js', import.meta.url));

function doctor(...args: string[]): string {
  const r = spawnSync(process.execPath, [bin, 'doctor', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`convnets doctor exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// This workspace installs neither tfjs-node package, and does install tfjs-backend-wasm.
const gpuAbsent = !isInstalled('@tensorflow/tfjs-node-gpu');

describe('backends that are not installed', () => {
  it('finds what is installed and what is not', () => {
    expect(isInstalled('@tensorflow/tfjs-backend-wasm')).toBe(true);
    expect(isInstalled('@tensorflow/tfjs-core')).toBe(true);
    expect(isInstalled('@convnets/no-such-package')).toBe(false);
  });

  it.runIf(gpuAbsent)(
    'an absent tfjs-node-gpu is "not installed", whatever its CUDA libraries or platform',
    async () => {
      for (const platform of ['linux', 'darwin'] as const) {
        const error = await selectBackend('tensorflow', {
          cuda: { directories: [], platform },
        }).then(
          () => undefined,
          (e: Error) => e.message,
        );
        expect(error).toContain('@tensorflow/tfjs-node-gpu (not installed)');
        expect(error).not.toMatch(/cuda|cudnn|linux/i);
      }
    },
  );
});

describe('probeWasm', () => {
  it('initialises wasm, then leaves the active backend and the process error handlers as they were', async () => {
    const handlers = () =>
      ['uncaughtException', 'unhandledRejection'].map((e) => process.listeners(e as 'exit'));
    const before = handlers();
    const backend = tf.getBackend();
    expect(await probeWasm()).toEqual({
      candidate: '@tensorflow/tfjs-backend-wasm',
      ok: true,
      detail: expect.stringMatching(/^backend "wasm": inference only/),
    });
    expect(tf.getBackend()).toBe(backend);
    expect(handlers()).toEqual(before);
  });
});

describe('convnets doctor', () => {
  it('--json reports the backend, wasm and the JPEG fast path, and CUDA only with tfjs-node-gpu', () => {
    const text = doctor('--json');
    const report = JSON.parse(text);
    expect(report.backend).toBeTypeOf('string');
    expect(report.wasm).toEqual({
      candidate: '@tensorflow/tfjs-backend-wasm',
      ok: true,
      detail: expect.stringMatching(/^backend "wasm": inference only \(no Conv2DBackpropFilter/),
    });
    const jpeg = jpegFastPath();
    expect(report.jpegFastPath).toEqual(JSON.parse(JSON.stringify(jpeg)));
    expect(report.tfjsNodeGpu).toBe(!gpuAbsent);
    if (gpuAbsent) {
      expect(report).not.toHaveProperty('cudaLibrariesMissing');
      expect(text).not.toMatch(/cuda|cudnn/i);
    } else {
      expect(report.cudaLibrariesMissing).toBeInstanceOf(Array);
    }
  });

  it('as text, says the same', () => {
    const text = doctor();
    expect(text).toMatch(/^wasm: backend "wasm": inference only/m);
    const jpeg = jpegFastPath();
    expect(text).toMatch(
      jpeg.libjpegTurbo
        ? new RegExp(
            `^JPEG fast path: libjpeg-turbo ${jpeg.libjpegTurbo.replaceAll('.', '\\.')} `,
            'm',
          )
        : /^JPEG fast path: not available, JPEGs are decoded by sharp/m,
    );
    if (gpuAbsent) expect(text).not.toMatch(/cuda|cudnn/i);
  });
});
