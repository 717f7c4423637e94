import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The functions the C++ addon exports (see `native/addon.cc`). */
export interface NativeAddon {
  conv2d(
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    params: number[],
  ): void;
  conv2dBackpropInput(
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    params: number[],
  ): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: number[]): void;
  matMul(
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    c: Float32Array,
    params: number[],
  ): void;
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: number[],
    aStrides: number[],
    bStrides: number[],
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduceSum(x: Float32Array, out: Float32Array, dims: number[], scale: number): void;
  tile(x: Float32Array, out: Float32Array, shape: number[], reps: number[]): void;
  slice(x: Float32Array, out: Float32Array, shape: number[], begin: number[], size: number[]): void;
  pad(
    x: Float32Array,
    out: Float32Array,
    shape: number[],
    before: number[],
    after: number[],
    value: number,
  ): void;
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    out: Float32Array,
    dims: number[],
    epsilon: number,
  ): void;
  addN(inputs: Float32Array[], out: Float32Array, n: number): void;
  pool(kind: number, x: Float32Array, y: Float32Array, params: number[]): void;
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, params: number[]): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, params: number[]): void;
  info(): { isa: string; threads: number };
  /**
   * Returns the whole pages of `array`'s buffer to the system; they read as zeros
   * if touched again. Only for buffers nothing will read again. Returns the bytes
   * discarded (0 where unsupported). Absent from addons built before it existed.
   */
  discard?(array: Float32Array): number;
}

/** Where the addon was looked for, and why each place failed. */
export interface AddonLoad {
  addon?: NativeAddon;
  /** The file that loaded. */
  path?: string;
  /** One line per candidate that did not load. */
  errors: string[];
  /** The path `CONVNETS_NATIVE_ADDON` named, when it was set and did not load. */
  explicit?: string;
}

const fileName = 'convnets_native.node';

/**
 * The addon files to try, best first. `src/` and `dist/` both sit one level
 * below the package root. The prebuilt binary comes first because npm may
 * skip a dependency's install script, so a source build cannot be relied on.
 * `CONVNETS_NATIVE_ADDON`, when set, is the only candidate: a path asked for
 * explicitly must load, not be passed over for another build.
 */
function candidates(): string[] {
  const explicit = process.env.CONVNETS_NATIVE_ADDON;
  if (explicit !== undefined && explicit.length > 0) return [explicit];
  const root = fileURLToPath(new URL('..', import.meta.url));
  const platform = `${process.platform}-${process.arch}`;
  return [`${root}prebuilds/${platform}/${fileName}`, `${root}build/Release/${fileName}`];
}

let cached: AddonLoad | undefined;

/**
 * Loads the addon once; never throws. With `CONVNETS_NATIVE_ADDON` set, only
 * that file is tried, and its failure is the (only) error, naming the variable.
 */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const errors: string[] = [];
  const require = createRequire(import.meta.url);
  const explicit = process.env.CONVNETS_NATIVE_ADDON;
  const label = (path: string) =>
    explicit ? `CONVNETS_NATIVE_ADDON=${path} (the addon this variable names)` : path;
  for (const path of candidates()) {
    if (!existsSync(path)) {
      errors.push(`${label(path)}: not found`);
      continue;
    }
    try {
      const addon = require(path) as NativeAddon;
      addon.info();
      cached = { addon, path, errors };
      return cached;
    } catch (e) {
      errors.push(`${label(path)}: ${(e as Error).message}`);
    }
  }
  cached = { errors, explicit: explicit || undefined };
  return cached;
}
