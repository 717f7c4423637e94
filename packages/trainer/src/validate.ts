/** Argument checks whose errors name the option, what was received and what was expected. */

// Unknown-key check shared with the layers package (same message).
export { checkKnownOptions as checkKnown } from '@convnets/layers';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value) || (value !== null && typeof value === 'object')) {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** Throws `where: option must be …; received …`. */
export function fail(where: string, option: string, value: unknown, expected: string): never {
  throw new Error(`${where}: ${option} must be ${expected}; received ${show(value)}.`);
}

export function positiveInt(where: string, option: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) <= 0)
    fail(where, option, value, 'a positive integer');
  return value as number;
}

export function nonNegativeInt(where: string, option: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0)
    fail(where, option, value, 'a non-negative integer');
  return value as number;
}

export function positiveNumber(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    fail(where, option, value, 'a positive number');
  return value;
}

export function nonNegativeNumber(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    fail(where, option, value, 'a non-negative number');
  return value;
}

export function finiteNumber(where: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(where, option, value, 'a finite number');
  return value;
}

export function oneOf<T extends string>(
  where: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T))
    fail(where, option, value, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return value as T;
}

export function bool(where: string, option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(where, option, value, 'true or false');
  return value;
}
