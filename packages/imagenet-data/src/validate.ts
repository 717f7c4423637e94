/**
 * Up-front option checking. Each check throws an `Error` that names the
 * function, the option, the value received and what is allowed.
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (value !== null && typeof value === 'object') {
    if ('dataId' in value && 'shape' in value) {
      return `a tf.Tensor of shape [${String((value as { shape: number[] }).shape)}]`;
    }
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

/** Rejects keys that the function does not know (typos such as `batchsize`). */
export function checkKnownOptions(where: string, opts: unknown, allowed: readonly string[]): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
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

export function finiteNumber(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(where, option, value, 'a finite number');
  return value;
}

export function positiveNumber(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(where, option, value, 'a finite number greater than 0');
  }
  return value;
}

export function probability(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    fail(where, option, value, 'a number in [0, 1]');
  }
  return value;
}

export function bool(where: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(where, option, value, 'true or false');
  return value;
}

export function oneOf<T>(where: string, option: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    fail(where, option, value, `one of ${allowed.map(show).join(', ')}`);
  }
  return value as T;
}

/** An `[min, max]` pair with `min <= max`, each passing `check`. */
export function range(
  where: string,
  option: string,
  value: unknown,
  check: (w: string, o: string, v: unknown) => number,
): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    fail(where, option, value, 'a [min, max] pair');
  }
  const lo = check(where, option, value[0]);
  const hi = check(where, option, value[1]);
  if (lo > hi) fail(where, option, value, 'a [min, max] pair with min <= max');
  return [lo, hi];
}

/** Three finite numbers, one per RGB channel. */
export function rgb(
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

/** A size given as one integer or as `[height, width]`. */
export function size(where: string, option: string, value: unknown): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2)
      fail(where, option, value, 'a positive integer or a [height, width] pair');
    return [positiveInt(where, option, value[0]), positiveInt(where, option, value[1])];
  }
  const n = positiveInt(where, option, value);
  return [n, n];
}

export { show };
