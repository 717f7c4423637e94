// Options objects: one spec per options type, unknown keys, defaults.

import { checkOneOf, checkPair } from './values';
import { describeValue, type Check, type Renamed, type Resolved } from './core';

/**
 * Rejects keys that the function does not know (typos such as `batchsize`),
 * naming the unknown key and listing the allowed ones; for a renamed option it
 * also names the new spelling.
 *
 * @param where - The caller's name for error messages, e.g. `convBn`.
 * @param opts - The options object received.
 * @param allowed - The keys the caller accepts.
 * @param renamed - Old names mapped to new ones, e.g. `{ strides: 'stride' }`.
 * @throws Error when `opts` is not a plain object, or has a key not in `allowed`.
 *
 * @example
 * ```ts
 * checkKnownOptions('myBlock', { filters: 64, strides: 2 }, ['filters', 'stride']);
 * // Error: myBlock: unknown option "strides"; allowed options are "filters", "stride".
 * ```
 */
export function checkKnownOptions(
  where: string,
  opts: unknown,
  allowed: readonly string[],
  renamed: Renamed = {},
): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new Error(`${where}: options must be an object; received ${describeValue(opts)}.`);
  }
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      const hint = Object.hasOwn(renamed, key) ? ` ("${key}" is now "${renamed[key]}")` : '';
      throw new Error(
        `${where}: unknown option "${key}"; allowed options are ${allowed.map((k) => `"${k}"`).join(', ')}${hint}.`,
      );
    }
  }
}

/**
 * The keys of an {@link OptionSpec}: the options the function accepts.
 *
 * @param spec - The spec.
 * @returns Its keys, in declaration order.
 *
 * @example
 * ```ts
 * optionKeys({ batchSize: checkPositiveInt }); // ['batchSize']
 * ```
 */
export function optionKeys<S extends object>(spec: S): (keyof S & string)[] {
  return Object.keys(spec) as (keyof S & string)[];
}

/**
 * Checks an options object against its spec: unknown keys first, then every
 * option in the spec's order.
 *
 * @param where - The caller's name for error messages.
 * @param opts - The options received (`undefined` counts as `{}`).
 * @param spec - One {@link Check} per allowed option.
 * @param extra - `allowed`: further keys accepted but checked elsewhere
 *   (not resolved here); `renamed`: old names for the unknown-option error.
 * @returns Each option as its check returned it.
 * @throws Error for an unknown key or a value its check rejects.
 *
 * @example
 * ```ts
 * const SPEC = { batchSize: withDefault(checkPositiveInt, 32) } satisfies OptionSpec<{ batchSize?: number }>;
 * const { batchSize } = checkOptions('loader', opts, SPEC);
 * ```
 */
export function checkOptions<S extends Record<string, Check<unknown>>>(
  where: string,
  opts: unknown,
  spec: S,
  extra: { allowed?: readonly string[]; renamed?: Renamed } = {},
): Resolved<S> {
  const given = opts === undefined ? {} : opts;
  checkKnownOptions(where, given, [...optionKeys(spec), ...(extra.allowed ?? [])], extra.renamed);
  return resolveOptions(where, given as Record<string, unknown>, spec);
}

/**
 * Checks the spec's options of `opts` and ignores its other keys: for a
 * helper that reads a subset of a larger options object.
 *
 * @param where - The caller's name for error messages.
 * @param opts - The options received.
 * @param spec - One {@link Check} per option read.
 * @returns Each option as its check returned it.
 * @throws Error for a value its check rejects.
 *
 * @example
 * ```ts
 * const bn = resolveOptions('myNet', opts, BATCH_NORM_SPEC);
 * ```
 */
export function resolveOptions<S extends Record<string, Check<unknown>>>(
  where: string,
  opts: object,
  spec: S,
): Resolved<S> {
  const out: Record<string, unknown> = {};
  for (const key of optionKeys(spec)) {
    out[key] = spec[key](where, key, (opts as Record<string, unknown>)[key]);
  }
  return out as Resolved<S>;
}

/**
 * A check that lets `undefined` through and applies `check` to anything else.
 *
 * @param check - The check of a given value.
 * @returns The combined check.
 *
 * @example
 * ```ts
 * const SPEC = { seed: optional(checkNonNegativeInt) };
 * ```
 */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (where, option, value) => (value === undefined ? undefined : check(where, option, value));
}

/**
 * A check that returns `fallback` for `undefined` and applies `check` to anything else.
 *
 * @param check - The check of a given value.
 * @param fallback - The default.
 * @returns The combined check.
 *
 * @example
 * ```ts
 * const SPEC = { plain: withDefault(checkBoolean, false) };
 * ```
 */
export function withDefault<T, D extends T = T>(check: Check<T>, fallback: D): Check<T> {
  return (where, option, value) => (value === undefined ? fallback : check(where, option, value));
}

/**
 * A check that accepts anything (an option checked where it is used, such as a
 * model or a callback), typed as `T`.
 *
 * @returns The check.
 *
 * @example
 * ```ts
 * const SPEC = { log: unchecked<(m: string) => void>() };
 * ```
 */
export function unchecked<T>(): Check<T> {
  return (_where, _option, value) => value as T;
}

/**
 * The {@link checkOneOf} check for a spec: the value must be one of `allowed`.
 *
 * @param allowed - The allowed values (compared with `===`).
 * @returns The check.
 *
 * @example
 * ```ts
 * const SPEC = { stride: withDefault(oneOf([1, 2] as const), 1) };
 * ```
 */
export function oneOf<const T>(allowed: readonly T[]): Check<T> {
  return (where, option, value) => checkOneOf(where, option, value, allowed);
}

/**
 * The {@link checkPair} check for a spec: one value or `[height, width]`.
 *
 * @param check - The check of each number.
 * @returns The check, returning a pair.
 *
 * @example
 * ```ts
 * const SPEC = { kernelSize: withDefault(pairOf(checkPositiveInt), [3, 3]) };
 * ```
 */
export function pairOf(check: Check<number>): Check<[number, number]> {
  return (where, option, value) => checkPair(where, option, value, check);
}
