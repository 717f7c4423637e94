import type { SymbolicTensor } from '@tensorflow/tfjs-layers';

/**
 * Up-front option checking shared by every block. Each check throws an
 * `Error` that names the function, the option, the value received and what is
 * allowed, before a single layer is created.
 */

function show(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'dataId' in value)
    return `a tf.Tensor of shape [${String((value as unknown as { shape: number[] }).shape)}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

export function fail(where: string, option: string, value: unknown, expected: string): never {
  throw new Error(`${where}: option "${option}" must be ${expected}; received ${show(value)}.`);
}

/**
 * Rejects keys that the function does not know (typos such as `stride` for
 * `strides`), naming the unknown key and listing the allowed ones. For
 * authors of new blocks and model factories.
 *
 * @param where - The caller's name for error messages, e.g. `convBn`.
 * @param opts - The options object received.
 * @param allowed - The keys the caller accepts.
 * @throws Error when `opts` is not an object, or has a key not in `allowed`.
 *
 * @example
 * ```ts
 * checkKnownOptions('myBlock', { filters: 64, stride: 2 }, ['filters', 'strides']);
 * // Error: myBlock: unknown option "stride"; allowed options are "filters", "strides".
 * ```
 */
export function checkKnownOptions(where: string, opts: object, allowed: readonly string[]): void {
  if (opts === null || typeof opts !== 'object') {
    throw new Error(`${where}: options must be an object; received ${show(opts)}.`);
  }
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      throw new Error(
        `${where}: unknown option "${key}"; allowed options are ${allowed.map((k) => `"${k}"`).join(', ')}.`,
      );
    }
  }
}

export function positiveInt(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(where, option, value, 'a positive integer');
  }
  return value;
}

export function nonNegativeInt(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    fail(where, option, value, 'a non-negative integer');
  }
  return value;
}

export function positiveNumber(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(where, option, value, 'a finite number greater than 0');
  }
  return value;
}

export function unitInterval(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    fail(where, option, value, 'a number in [0, 1)');
  }
  return value;
}

/**
 * Checks that an option is one of the allowed values; otherwise throws an
 * error naming the function, the option, the value received and the allowed values.
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @param allowed - The allowed values (compared with `===`).
 * @returns `value`, typed as one of `allowed`.
 * @throws Error when `value` is not in `allowed`.
 *
 * @example
 * ```ts
 * const stride = checkOneOf('myBlock', 'stride', opts.stride ?? 1, [1, 2]);
 * ```
 */
export function oneOf<T>(where: string, option: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    fail(where, option, value, `one of ${allowed.map(show).join(', ')}`);
  }
  return value as T;
}

/**
 * Checks that an option is a boolean; otherwise throws an error naming it and the value received.
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @returns `value` as a boolean.
 * @throws Error when `value` is not `true` or `false`.
 *
 * @example
 * ```ts
 * const plain = opts.plain === undefined ? false : checkBoolean('myBlock', 'plain', opts.plain);
 * ```
 */
export function bool(where: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(where, option, value, 'true or false');
  return value;
}

export function nonEmptyString(where: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || /\s|\//.test(value)) {
    fail(where, option, value, 'a non-empty string without spaces or "/"');
  }
  return value;
}

/** A size given as one integer or as `[height, width]`. */
export function pair(
  where: string,
  option: string,
  value: unknown,
  check: (w: string, o: string, v: unknown) => number,
): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) fail(where, option, value, 'an integer or a [height, width] pair');
    return [check(where, option, value[0]), check(where, option, value[1])];
  }
  const n = check(where, option, value);
  return [n, n];
}

/**
 * Checks that `x` is a rank-4 NHWC `SymbolicTensor` with a known channel count
 * and returns that count.
 */
export function nhwcChannels(where: string, x: unknown): number {
  const shape = (x as SymbolicTensor | undefined)?.shape;
  // Duck-typed rather than `instanceof`, which fails when two copies of
  // tfjs-layers are loaded; a concrete tf.Tensor has no source layer.
  if (!Array.isArray(shape) || x === null || typeof x !== 'object' || !('sourceLayer' in x)) {
    throw new Error(
      `${where}: the input must be a SymbolicTensor (from tf.input() or another layer's apply()); received ${show(x)}.`,
    );
  }
  if (shape.length !== 4) {
    throw new Error(
      `${where}: the input must be rank 4, [batch, height, width, channels] (channels last); received shape ${show(shape)}.`,
    );
  }
  const channels = shape[3];
  if (channels == null) {
    throw new Error(
      `${where}: the input's channel count must be known; received shape ${show(shape)}.`,
    );
  }
  return channels;
}
