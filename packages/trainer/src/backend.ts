import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Which backend to use: `'auto'` picks the fastest that is installed and can train. */
export type BackendChoice = 'auto' | 'tensorflow' | 'native' | 'wasm' | 'cpu';

/** One backend that was tried, and what happened. */
export interface BackendAttempt {
  /** The package or backend tried. */
  readonly candidate: string;
  /** Whether it is usable. */
  readonly ok: boolean;
  /** Why not, or what it is. */
  readonly detail: string;
}

/** What {@link selectBackend} chose. */
export interface BackendSelection {
  /** The tfjs backend now active (`tensorflow`, `cpu`, the native package's name, …). */
  readonly name: string;
  /** Every candidate tried, in order. */
  readonly attempts: readonly BackendAttempt[];
}

/** Libraries tfjs-node-gpu 4.x loads (CUDA 11.2, cuDNN 8). */
export const CUDA_LIBRARIES: readonly string[] = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];

function libraryDirectories(): string[] {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  dirs.push(
    '/usr/local/cuda/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
  );
  return dirs;
}

/**
 * The CUDA and cuDNN libraries tfjs-node-gpu needs that cannot be found on
 * `LD_LIBRARY_PATH` and the usual system folders (tfjs-node-gpu otherwise
 * falls back to the CPU without saying so). Empty when all are present.
 */
export function missingCudaLibraries(): string[] {
  if (process.platform !== 'linux') return [...CUDA_LIBRARIES];
  const dirs = libraryDirectories();
  const listings = dirs.map((d) => {
    try {
      return readdirSync(d);
    } catch {
      return [] as string[];
    }
  });
  return CUDA_LIBRARIES.filter(
    (lib) => !dirs.some((d, i) => listings[i].includes(lib) || existsSync(join(d, lib))),
  );
}

// A variable specifier: these packages are optional and absent from most installs.
async function tryImport(name: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ name)) as Record<string, unknown>;
}

function canTrain(backend: string): boolean {
  return tf.getKernel('Conv2DBackpropFilter', backend) !== undefined;
}

async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * Picks and activates a tfjs backend. `'auto'` tries, in order,
 * `@tensorflow/tfjs-node-gpu` (only when its CUDA/cuDNN libraries are all
 * present), `@tensorflow/tfjs-node`, `@convnets/backend-native`,
 * `@tensorflow/tfjs-backend-wasm` (only when `forTraining` is false: it lacks
 * the convolution filter gradient) and `cpu`. None is a hard dependency; each
 * is imported only if installed. Returns the backend chosen and why the others
 * were not.
 */
export async function selectBackend(
  choice: BackendChoice = 'auto',
  options: { forTraining?: boolean } = {},
): Promise<BackendSelection> {
  const valid: BackendChoice[] = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'];
  if (!valid.includes(choice))
    throw new Error(
      `selectBackend: backend must be one of ${valid.map((v) => `"${v}"`).join(', ')}; received ${JSON.stringify(choice)}.`,
    );
  const forTraining = options.forTraining ?? true;
  const attempts: BackendAttempt[] = [];
  const candidates: string[] =
    choice === 'auto'
      ? [
          '@tensorflow/tfjs-node-gpu',
          '@tensorflow/tfjs-node',
          '@convnets/backend-native',
          '@tensorflow/tfjs-backend-wasm',
          'cpu',
        ]
      : choice === 'tensorflow'
        ? ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']
        : choice === 'native'
          ? ['@convnets/backend-native']
          : choice === 'wasm'
            ? ['@tensorflow/tfjs-backend-wasm']
            : ['cpu'];
  for (const candidate of candidates) {
    if (candidate === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
      if (await activate('cpu')) {
        attempts.push({ candidate, ok: true, detail: 'pure JavaScript' });
        return { name: 'cpu', attempts };
      }
      attempts.push({ candidate, ok: false, detail: 'could not be activated' });
      continue;
    }
    if (candidate === '@tensorflow/tfjs-node-gpu') {
      const missing = missingCudaLibraries();
      if (missing.length > 0) {
        attempts.push({
          candidate,
          ok: false,
          detail: `CUDA/cuDNN libraries missing: ${missing.join(', ')}`,
        });
        continue;
      }
    }
    if (candidate === '@tensorflow/tfjs-backend-wasm' && choice === 'auto' && forTraining) {
      attempts.push({
        candidate,
        ok: false,
        detail: 'skipped for training: wasm has no Conv2DBackpropFilter kernel',
      });
      continue;
    }
    let module: Record<string, unknown>;
    try {
      module = await tryImport(candidate);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      attempts.push({
        candidate,
        ok: false,
        detail:
          code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
            ? 'not installed'
            : `failed to load: ${(error as Error).message.split('\n')[0]}`,
      });
      continue;
    }
    const name =
      candidate === '@convnets/backend-native'
        ? String(
            module.backendName ??
              (module.default as Record<string, unknown> | undefined)?.backendName ??
              'native',
          )
        : candidate === '@tensorflow/tfjs-backend-wasm'
          ? 'wasm'
          : 'tensorflow';
    if (!(await activate(name))) {
      attempts.push({ candidate, ok: false, detail: `backend "${name}" could not be activated` });
      continue;
    }
    if (forTraining && !canTrain(name)) {
      attempts.push({
        candidate,
        ok: false,
        detail: `backend "${name}" has no Conv2DBackpropFilter kernel, so it cannot train convnets`,
      });
      continue;
    }
    attempts.push({ candidate, ok: true, detail: `backend "${name}"` });
    return { name, attempts };
  }
  throw new Error(
    `no usable tfjs backend for "${choice}": ${attempts.map((a) => `${a.candidate} (${a.detail})`).join('; ')}.`,
  );
}
