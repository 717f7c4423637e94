// Checks of single values.

import { describeValue, fail, type Check } from './core';

/**
 * A check of a number: `ok` decides, `expected` says what is allowed.
 *
 * @param ok - Whether a number is allowed (`NaN` never reaches it as allowed unless `ok` says so).
 * @param expected - What is allowed, for the error, e.g. `a positive integer`.
 * @returns The check.
 *
 * @example
 * ```ts
 * const checkOdd = numberCheck((v) => Number.isInteger(v) && v % 2 === 1, 'an odd integer');
 * ```
 */
export function numberCheck(ok: (value: number) => boolean, expected: string): Check<number> {
  return (where, option, value) => {
    if (typeof value !== 'number' || !ok(value)) fail(where, option, value, expected);
    return value;
  };
}

/** Checks that an option is a positive integer, e.g. `checkPositiveInt('loader', 'batchSize', 32)`. */
export const checkPositiveInt = numberCheck(
  (v) => Number.isInteger(v) && v >= 1,
  'a positive integer',
);

/** Checks that an option is an integer ≥ 0, e.g. `checkNonNegativeInt('convBn', 'seed', 0)`. */
export const checkNonNegativeInt = numberCheck(
  (v) => Number.isInteger(v) && v >= 0,
  'a non-negative integer',
);

/** Checks that an option is a finite number, e.g. `checkFiniteNumber('jitter', 'brightness', 0.4)`. */
export const checkFiniteNumber = numberCheck(Number.isFinite, 'a finite number');

/** Checks that an option is a finite number above 0, e.g. `checkPositiveNumber('Trainer', 'lr', 0.1)`. */
export const checkPositiveNumber = numberCheck(
  (v) => Number.isFinite(v) && v > 0,
  'a finite number greater than 0',
);

/** Checks that an option is a finite number ≥ 0, e.g. `checkNonNegativeNumber('SGD', 'weightDecay', 1e-4)`. */
export const checkNonNegativeNumber = numberCheck(
  (v) => Number.isFinite(v) && v >= 0,
  'a finite number ≥ 0',
);

/** Checks that an option is a number in [0, 1) (a momentum, a dropout rate). */
export const checkUnitInterval = numberCheck((v) => v >= 0 && v < 1, 'a number in [0, 1)');

/** Checks that an option is a number in [0, 1] (a probability). */
export const checkProbability = numberCheck((v) => v >= 0 && v <= 1, 'a number in [0, 1]');

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
export function checkBoolean(where: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(where, option, value, 'true or false');
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
export function checkOneOf<const T>(
  where: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    fail(where, option, value, `one of ${allowed.map(describeValue).join(', ')}`);
  }
  return value as T;
}

/**
 * Checks that an option is a name usable for a layer or a model: a non-empty
 * string without spaces or `/`.
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @returns `value`.
 * @throws Error otherwise.
 *
 * @example
 * ```ts
 * checkName('convBn', 'name', 'conv1');
 * ```
 */
export function checkName(where: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || /\s|\//.test(value)) {
    fail(where, option, value, 'a non-empty string without spaces or "/"');
  }
  return value;
}

/**
 * Checks a size given as one number or as `[height, width]`, each passing `check`.
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @param check - The check of each number.
 * @returns `[height, width]`.
 * @throws Error otherwise.
 *
 * @example
 * ```ts
 * checkPair('convBn', 'kernelSize', 3, checkPositiveInt); // [3, 3]
 * ```
 */
export function checkPair(
  where: string,
  option: string,
  value: unknown,
  check: Check<number>,
): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) fail(where, option, value, 'an integer or a [height, width] pair');
    return [check(where, option, value[0]), check(where, option, value[1])];
  }
  const n = check(where, option, value);
  return [n, n];
}

/**
 * Checks a size given as one positive integer or as `[height, width]`.
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @returns `[height, width]`.
 * @throws Error otherwise.
 *
 * @example
 * ```ts
 * checkSize('resize', 'size', 224); // [224, 224]
 * ```
 */
export function checkSize(where: string, option: string, value: unknown): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) {
      fail(where, option, value, 'a positive integer or a [height, width] pair');
    }
    return [checkPositiveInt(where, option, value[0]), checkPositiveInt(where, option, value[1])];
  }
  const n = checkPositiveInt(where, option, value);
  return [n, n];
}

/**
 * Checks an `[min, max]` pair with `min <= max`, each passing `check`.
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @param check - The check of each bound.
 * @returns `[min, max]`.
 * @throws Error otherwise.
 *
 * @example
 * ```ts
 * checkRange('randomResizedCrop', 'scale', [0.08, 1], checkPositiveNumber);
 * ```
 */
export function checkRange(
  where: string,
  option: string,
  value: unknown,
  check: Check<number>,
): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    fail(where, option, value, 'a [min, max] pair');
  }
  const lo = check(where, option, value[0]);
  const hi = check(where, option, value[1]);
  if (lo > hi) fail(where, option, value, 'a [min, max] pair with min <= max');
  return [lo, hi];
}

/**
 * Checks three finite numbers, one per RGB channel (all above 0 with `positive`).
 *
 * @param where - The caller's name for error messages.
 * @param option - The option's name.
 * @param value - The value received.
 * @param positive - Whether every number must be above 0.
 * @returns `[r, g, b]`.
 * @throws Error otherwise.
 *
 * @example
 * ```ts
 * checkRgb('normalize', 'std', [0.229, 0.224, 0.225], true);
 * ```
 */
export function checkRgb(
  where: string,
  option: string,
  value: unknown,
  positive = false,
): [number, number, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v) && (!positive || v > 0))
  ) {
    fail(
      where,
      option,
      value,
      positive ? 'three positive numbers [r, g, b]' : 'three finite numbers [r, g, b]',
    );
  }
  return [value[0], value[1], value[2]];
}
