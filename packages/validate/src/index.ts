/**
 * Option checking shared by every convnets package. Internal: each package's
 * tsup build bundles it (`noExternal`), so it is never a published dependency.
 *
 * Every error has one wording:
 * `<where>: option "<option>" must be <what is allowed>; received <value>.`
 * and, for a key the function does not know,
 * `<where>: unknown option "<key>"; allowed options are "a", "b".`
 *
 * Each options type has one declaration, an {@link OptionSpec}: an object
 * with one {@link Check} per option, written `satisfies OptionSpec<Options>`
 * so that an option added to the interface without its check (or a check
 * without its option) is a type error. The allowed keys are that object's
 * keys ({@link optionKeys}), and {@link checkOptions} checks unknown keys and
 * every value in one call.
 *
 * @packageDocumentation
 */

/**
 * Checks one option's value and returns it (typed, or with a default applied);
 * throws an `Error` naming `where`, the option, the value and what is allowed.
 */
export type Check<T> = (where: string, option: string, value: unknown) => T;

/**
 * One {@link Check} per key of the options type `O`, no more and no fewer.
 * Use as `const SPEC = { … } satisfies OptionSpec<MyOptions>`.
 */
export type OptionSpec<O> = { readonly [K in keyof O]-?: Check<O[K] | undefined> };

/** What {@link checkOptions} returns for a spec: each option as its check returned it. */
export type Resolved<S> = { -readonly [K in keyof S]: S[K] extends Check<infer T> ? T : never };

/** Old option names mapped to their new ones, for the unknown-option error. */
export type Renamed = Readonly<Record<string, string>>;

/**
 * A short, readable description of a value for error messages: strings
 * quoted, arrays and plain objects as JSON, typed arrays and tensors by kind
 * and shape.
 *
 * @param value - Anything.
 * @returns The description.
 * @example
 * ```ts
 * describeValue('a'); // '"a"'
 * describeValue([1, 2]); // '[1, 2]'
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describeValue).join(', ')}]`;
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

/**
 * Throws the one error wording:
 * `<where>: option "<option>" must be <expected>; received <value>.`
 *
 * @param where - The caller's name, e.g. `convBn`.
 * @param option - The option's name.
 * @param value - The value received.
 * @param expected - What is allowed, e.g. `a positive integer`.
 * @throws Error, always.
 * @example
 * ```ts
 * if (size % 2 === 0) fail('myLayer', 'size', size, 'an odd positive integer');
 * ```
 */
export function fail(where: string, option: string, value: unknown, expected: string): never {
  throw new Error(
    `${where}: option "${option}" must be ${expected}; received ${describeValue(value)}.`,
  );
}

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
 * @example
 * ```ts
 * const SPEC = { kernelSize: withDefault(pairOf(checkPositiveInt), [3, 3]) };
 * ```
 */
export function pairOf(check: Check<number>): Check<[number, number]> {
  return (where, option, value) => checkPair(where, option, value, check);
}

/**
 * A check of a number: `ok` decides, `expected` says what is allowed.
 *
 * @param ok - Whether a number is allowed (`NaN` never reaches it as allowed unless `ok` says so).
 * @param expected - What is allowed, for the error, e.g. `a positive integer`.
 * @returns The check.
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
