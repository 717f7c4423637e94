import type { Command } from '@commander-js/extra-typings';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jpegFastPath } from '@convnets/imagenet-data';
import { isInstalled, missingCudaLibraries, probeWasm, selectBackend } from '../backend';

/** The packages whose versions `doctor` reports. */
const PACKAGES = [
  '@convnets/cli',
  '@convnets/trainer',
  '@convnets/layers',
  '@convnets/resnet',
  '@convnets/vgg',
  '@convnets/imagenet-data',
];

/** Registers `convnets doctor`: backends, wasm, GPU libraries, JPEG decoding, sharp and versions. */
export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'report backends, wasm, CUDA libraries (with tfjs-node-gpu), the JPEG fast path, sharp and versions',
    )
    .option('--json', 'print one JSON document')
    .action(async (o) => {
      const report = await diagnose();
      if (o.json) console.log(JSON.stringify(report));
      else printReport(report);
    });
}

/** A package's version, found by walking up from this file to a `node_modules/<name>`; null when not found. */
function version(name: string): string | null {
  let dir = resolve(fileURLToPath(new URL('.', import.meta.url)));
  for (;;) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) {
      try {
        return JSON.parse(readFileSync(candidate, 'utf8')).version as string;
      } catch {
        return null;
      }
    }
    const parent = resolve(dir, '..');
    if (parent === dir) return null;
    dir = parent;
  }
}

/** What `doctor` finds on this machine. */
async function diagnose() {
  const selection = await selectBackend('auto', { forTraining: true }).catch((e: Error) => ({
    name: null,
    attempts: [],
    error: e.message,
  }));
  let sharp: unknown;
  try {
    sharp = (await import('sharp')).default.versions;
  } catch {
    sharp = null;
  }
  // The CUDA libraries matter only to tfjs-node-gpu: not checked, nor named, without it.
  const gpu = isInstalled('@tensorflow/tfjs-node-gpu');
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    tfjs: version('@tensorflow/tfjs-core'),
    backend: selection.name,
    backends: selection.attempts,
    wasm: await probeWasm(),
    tfjsNodeGpu: gpu,
    ...(gpu ? { cudaLibrariesMissing: missingCudaLibraries() } : {}),
    jpegFastPath: jpegFastPath(),
    sharp,
    packages: Object.fromEntries(PACKAGES.map((p) => [p, version(p)])),
  };
}

/** `doctor`'s report as text. */
function printReport(report: Awaited<ReturnType<typeof diagnose>>): void {
  console.log(`node ${report.node} (${report.platform}), tfjs ${report.tfjs}`);
  console.log(`backend for training: ${report.backend}`);
  for (const a of report.backends)
    console.log(`  ${a.ok ? 'ok ' : ' - '} ${a.candidate}: ${a.detail}`);
  console.log(`wasm: ${report.wasm.detail}`);
  const missing = report.cudaLibrariesMissing;
  if (missing)
    console.log(
      missing.length === 0
        ? 'CUDA/cuDNN (for tfjs-node-gpu): all libraries found'
        : `CUDA/cuDNN missing: ${missing.join(', ')} (tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1 where the dynamic loader finds them: LD_LIBRARY_PATH or /etc/ld.so.conf)`,
    );
  const jpeg = report.jpegFastPath;
  console.log(
    jpeg.libjpegTurbo
      ? `JPEG fast path: libjpeg-turbo ${jpeg.libjpegTurbo} (${jpeg.path})`
      : `JPEG fast path: not available, JPEGs are decoded by sharp (${jpeg.errors.join('; ')})`,
  );
  console.log(`sharp: ${report.sharp ? JSON.stringify(report.sharp) : 'not available'}`);
  for (const [p, v] of Object.entries(report.packages)) console.log(`${p} ${v ?? 'not found'}`);
}
