import * as tf from '@tensorflow/tfjs-core';
import {
  checkBoolean,
  checkOneOf,
  checkOptions,
  unchecked,
  withDefault,
  type OptionSpec,
} from '@convnets/validate';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join } from 'node:path';

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

/**
 * The shared libraries tfjs-node-gpu 4.x needs at run time: its libtensorflow
 * 2.9 is built against CUDA 11.2 and cuDNN 8.1 and opens these by name. If
 * one is missing, tfjs-node-gpu falls back to the CPU without saying so.
 */
export const CUDA_LIBRARIES: readonly string[] = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];

/** The dynamic loader's trusted folders, searched after `LD_LIBRARY_PATH` and `/etc/ld.so.conf`. */
const SYSTEM_LIBRARY_DIRECTORIES: readonly string[] = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
];

/** Options of {@link cudaLibraryDirectories}. */
export interface LibraryDirectoryOptions {
  /**
   * Environment whose `LD_LIBRARY_PATH` is read.
   * @defaultValue `process.env`
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * The dynamic loader's configuration file, whose folders and `include`d files are read.
   * @defaultValue `'/etc/ld.so.conf'`
   */
  ldSoConf?: string;
}

/** Folders listed in an ld.so.conf file and the files it includes (`include /etc/ld.so.conf.d/*.conf`). */
function ldSoConfDirectories(file: string, seen: Set<string>): string[] {
  if (seen.has(file) || seen.size > 64) return [];
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const include = /^include\s+(.+)$/.exec(line);
    if (!include) {
      out.push(...line.split(/[\s:,]+/).filter((d) => d.startsWith('/')));
      continue;
    }
    for (const pattern of include[1].split(/\s+/)) {
      const full = isAbsolute(pattern) ? pattern : join(dirname(file), pattern);
      const folder = dirname(full);
      const name = basename(full);
      if (!name.includes('*') && !name.includes('?')) {
        out.push(...ldSoConfDirectories(full, seen));
        continue;
      }
      const matcher = new RegExp(
        `^${name
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      );
      let names: string[];
      try {
        names = readdirSync(folder).sort();
      } catch {
        continue;
      }
      for (const n of names)
        if (matcher.test(n)) out.push(...ldSoConfDirectories(join(folder, n), seen));
    }
  }
  return out;
}

/**
 * The folders the Linux dynamic loader searches for a library opened by name,
 * in its order: `LD_LIBRARY_PATH`, the folders of `/etc/ld.so.conf` (and the
 * files it includes), then the system folders. Duplicates are dropped.
 *
 * @param options - Where to read `LD_LIBRARY_PATH` and ld.so.conf from (for tests and containers); default `{}`: `process.env` and `/etc/ld.so.conf`.
 * @returns The folders, in search order, without duplicates (unreadable or absent config files are skipped, not errors).
 * @example
 * ```ts
 * cudaLibraryDirectories({ env: { LD_LIBRARY_PATH: '/opt/cuda/lib64' } });
 * // ['/opt/cuda/lib64', '/usr/local/cuda/lib64' (from /etc/ld.so.conf.d), '/lib/x86_64-linux-gnu', …]
 * ```
 */
export function cudaLibraryDirectories(options: LibraryDirectoryOptions = {}): string[] {
  const env = options.env ?? process.env;
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    ...ldSoConfDirectories(options.ldSoConf ?? '/etc/ld.so.conf', new Set()),
    ...SYSTEM_LIBRARY_DIRECTORIES,
  ];
  return [...new Set(dirs)];
}

/** Options of {@link missingCudaLibraries}. */
export interface CudaLibraryCheckOptions {
  /**
   * Folders to search.
   * @defaultValue {@link cudaLibraryDirectories}`()`: what the dynamic loader searches
   */
  directories?: readonly string[];
  /**
   * Operating system. tfjs-node-gpu has Linux builds only, so elsewhere every library counts as missing.
   * @defaultValue `process.platform`
   */
  platform?: NodeJS.Platform;
}

/**
 * The CUDA and cuDNN libraries tfjs-node-gpu needs ({@link CUDA_LIBRARIES})
 * that are in none of the folders the dynamic loader searches. Empty when all
 * are present; {@link selectBackend} names these instead of letting
 * tfjs-node-gpu fall back to the CPU silently.
 *
 * @param options - The folders to search and the platform; default `{}`: the loader's folders on this machine.
 * @returns The missing libraries' file names, in {@link CUDA_LIBRARIES} order.
 * @example
 * ```ts
 * const missing = missingCudaLibraries();
 * if (missing.length > 0) console.log(`install CUDA 11.2 / cuDNN 8.1: missing ${missing.join(', ')}`);
 * ```
 */
export function missingCudaLibraries(options: CudaLibraryCheckOptions = {}): string[] {
  if ((options.platform ?? process.platform) !== 'linux') return [...CUDA_LIBRARIES];
  const dirs = options.directories ?? cudaLibraryDirectories();
  const present = new Set<string>();
  for (const dir of dirs) {
    try {
      for (const name of readdirSync(dir)) present.add(name);
    } catch {
      // absent or unreadable folder: nothing found there
    }
  }
  return CUDA_LIBRARIES.filter(
    (lib) => !present.has(lib) && !dirs.some((dir) => existsSync(join(dir, lib))),
  );
}

/**
 * Whether `name` resolves from here, as the `import()` of {@link selectBackend}
 * would (without loading it): its main file or, for a package whose exports
 * have no `require` entry, its `package.json`. True when this cannot be told
 * (no `import.meta.url`), so that the import itself decides.
 */
export function isInstalled(name: string): boolean {
  let require: NodeJS.Require;
  try {
    require = createRequire(import.meta.url);
  } catch {
    return true;
  }
  for (const id of [name, `${name}/package.json`]) {
    try {
      require.resolve(id);
      return true;
    } catch {
      // not this way; try the next, then report it absent
    }
  }
  return false;
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

/** The candidates each choice tries, in order. */
const CANDIDATES: Readonly<Record<BackendChoice, readonly string[]>> = {
  auto: [
    '@tensorflow/tfjs-node-gpu',
    '@tensorflow/tfjs-node',
    '@convnets/backend-native',
    '@tensorflow/tfjs-backend-wasm',
    'cpu',
  ],
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
  native: ['@convnets/backend-native'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['cpu'],
};

/** What {@link selectBackend} was asked for. */
interface Wanted {
  choice: BackendChoice;
  forTraining: boolean;
  cuda?: CudaLibraryCheckOptions;
}

/** Why `candidate` is passed over before it is imported, if it is. */
function skipReason(candidate: string, wanted: Wanted): string | undefined {
  // An absent package is only that: its CUDA libraries or platform are beside the point.
  if (!isInstalled(candidate)) return 'not installed';
  if (candidate === '@tensorflow/tfjs-node-gpu') {
    if ((wanted.cuda?.platform ?? process.platform) !== 'linux')
      return 'tfjs-node-gpu has Linux builds only';
    const missing = missingCudaLibraries(wanted.cuda);
    if (missing.length > 0)
      return `CUDA 11.2 / cuDNN 8.1 libraries missing: ${missing.join(', ')} (not on LD_LIBRARY_PATH, in /etc/ld.so.conf's folders or the system library folders)`;
  }
  if (
    candidate === '@tensorflow/tfjs-backend-wasm' &&
    wanted.choice === 'auto' &&
    wanted.forTraining
  )
    return 'installed; skipped for training: wasm has no Conv2DBackpropFilter kernel';
  return undefined;
}

/** The tfjs backend a candidate package registers. */
function registeredName(candidate: string, module: Record<string, unknown>): string {
  if (candidate === '@convnets/backend-native')
    return String(
      module.backendName ??
        (module.default as Record<string, unknown> | undefined)?.backendName ??
        'native',
    );
  return candidate === '@tensorflow/tfjs-backend-wasm' ? 'wasm' : 'tensorflow';
}

/** Imports `candidate`; the reason it cannot be used when that fails. */
async function importCandidate(candidate: string): Promise<Record<string, unknown> | string> {
  try {
    return await tryImport(candidate);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
      ? 'not installed'
      : `failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** The process-wide handlers that loading a backend may add (emscripten's wasm module adds both, which rethrow: exit code 7). */
const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Runs `fn`, then removes the `uncaughtException` / `unhandledRejection`
 * listeners it added, so that loading a backend leaves the process's error
 * handling as it was.
 */
async function withoutNewProcessHandlers<T>(fn: () => Promise<T>): Promise<T> {
  const emitter: NodeJS.EventEmitter = process;
  const before = PROCESS_EVENTS.map((event) => new Set(emitter.listeners(event)));
  try {
    return await fn();
  } finally {
    PROCESS_EVENTS.forEach((event, i) => {
      for (const listener of emitter.listeners(event))
        if (!before[i].has(listener))
          emitter.removeListener(event, listener as (...args: unknown[]) => void);
    });
  }
}

/** Tries one candidate: what happened, and the backend's name when it is now active and usable. */
async function tryCandidate(
  candidate: string,
  wanted: Wanted,
): Promise<{ attempt: BackendAttempt; name?: string }> {
  return withoutNewProcessHandlers(() => tryCandidateOnce(candidate, wanted));
}

/** {@link tryCandidate}, with whatever process handlers loading the backend adds. */
async function tryCandidateOnce(
  candidate: string,
  wanted: Wanted,
): Promise<{ attempt: BackendAttempt; name?: string }> {
  const no = (detail: string) => ({ attempt: { candidate, ok: false, detail } });
  if (candidate === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await activate('cpu'))) return no('could not be activated');
    return { attempt: { candidate, ok: true, detail: 'pure JavaScript' }, name: 'cpu' };
  }
  const skip = skipReason(candidate, wanted);
  if (skip !== undefined) return no(skip);
  const module = await importCandidate(candidate);
  if (typeof module === 'string') return no(module);
  const name = registeredName(candidate, module);
  if (!(await activate(name))) return no(`backend "${name}" could not be activated`);
  if (wanted.forTraining && !canTrain(name))
    return no(`backend "${name}" has no Conv2DBackpropFilter kernel, so it cannot train convnets`);
  return { attempt: { candidate, ok: true, detail: `backend "${name}"` }, name };
}

/**
 * Whether tfjs' wasm backend (`@tensorflow/tfjs-backend-wasm`) loads and
 * initialises here, and whether it can train convnets; the backend active
 * before is active again afterwards. What `convnets doctor` reports.
 *
 * @returns The attempt: `ok` when the wasm backend initialised, with what it can do, or why not.
 */
export async function probeWasm(): Promise<BackendAttempt> {
  const candidate = '@tensorflow/tfjs-backend-wasm';
  const previous = tf.engine().backendName as string | null | undefined;
  const { attempt, name } = await tryCandidate(candidate, { choice: 'wasm', forTraining: false });
  if (previous) await activate(previous);
  if (name === undefined) return attempt;
  return {
    candidate,
    ok: true,
    detail: canTrain(name)
      ? `backend "${name}": inference and training`
      : `backend "${name}": inference only (no Conv2DBackpropFilter kernel, so it cannot train convnets)`,
  };
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /**
   * Whether the backend must train convnets: backends without
   * a convolution filter gradient (`Conv2DBackpropFilter`) are then refused,
   * and `'auto'` skips wasm.
   * @defaultValue true
   */
  forTraining?: boolean;
  /**
   * Where to look for tfjs-node-gpu's CUDA/cuDNN libraries.
   * @defaultValue `{}`: where the dynamic loader looks, on `process.platform`
   */
  cuda?: CudaLibraryCheckOptions;
}

/** The one declaration of {@link SelectBackendOptions}: its keys and their checks. */
const SELECT_BACKEND_SPEC = {
  forTraining: withDefault(checkBoolean, true),
  cuda: unchecked<CudaLibraryCheckOptions | undefined>(),
} satisfies OptionSpec<SelectBackendOptions>;

/**
 * Picks and activates a tfjs backend. `'auto'` tries, in order,
 * `@tensorflow/tfjs-node-gpu` (when installed, only if its CUDA/cuDNN
 * libraries are all present, see {@link missingCudaLibraries}), `@tensorflow/tfjs-node`,
 * `@convnets/backend-native`, `@tensorflow/tfjs-backend-wasm` (only when
 * `forTraining` is false: it lacks the convolution filter gradient) and
 * `cpu`. `'tensorflow'` tries the two tfjs-node packages, the others their
 * one package. None is a hard dependency; each is imported only if installed.
 *
 * @param choice - The backend wanted (default `'auto'`).
 * @param options - Whether it must train, and where the CUDA libraries are looked for; default `{}` (see {@link SelectBackendOptions}).
 * @returns The backend now active and, for each candidate tried, why it was or was not used.
 * @throws Error for an unknown `choice` or option, or when no candidate can be used (naming each candidate and why).
 * @example
 * ```ts
 * const { name, attempts } = await selectBackend('auto');
 * console.log(`training on ${name}`, attempts);
 * ```
 */
export async function selectBackend(
  choice: BackendChoice = 'auto',
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  checkOneOf('selectBackend', 'backend', choice, Object.keys(CANDIDATES) as BackendChoice[]);
  const wanted = { choice, ...checkOptions('selectBackend', options, SELECT_BACKEND_SPEC) };
  const attempts: BackendAttempt[] = [];
  for (const candidate of CANDIDATES[choice]) {
    const { attempt, name } = await tryCandidate(candidate, wanted);
    attempts.push(attempt);
    if (name !== undefined) return { name, attempts };
  }
  throw new Error(
    `no usable tfjs backend for "${choice}": ${attempts.map((a) => `${a.candidate} (${a.detail})`).join('; ')}.`,
  );
}
